"""Benchmark: one message from the web chat API to Rasa and back, with the real trained model.

Starts the action server, Rasa and the app (uvicorn, over real HTTP on loopback), then sends
held-out messages: first one at a time (latency), then from several simulated people at once
(throughput). Reports latency percentiles, throughput and the resident memory of each process.

    .venv/bin/python -m benchmarks.message_path [--messages 200] [--users 8] [--out FILE]

Numbers depend on the machine and on what else runs on it: the report states both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn

from bot.app import create_app
from bot.runtime import evaluation, training
from bot.runtime.services import Services
from bot.settings import PROJECT_ROOT, Settings
from bot.store import migrate
from tests.helpers import free_port, web_post


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_rss(pid: int) -> float:
    """RSS of a process and its descendants (Rasa forks workers)."""
    total = rss_mib(pid)
    for child in Path("/proc").glob("[0-9]*"):
        try:
            stat = (child / "stat").read_text().split()
        except OSError:
            continue
        if int(stat[3]) == pid:
            total += children_rss(int(child.name))
    return total


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def one_user(client: httpx.AsyncClient, texts: list[str], latencies: list[float]) -> None:
    user = f"bench-{uuid.uuid4().hex[:12]}"
    for text in texts:
        started = time.perf_counter()
        response = await web_post(client, user, text)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()


async def run(base_url: str, texts: list[str], users: int) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for text in texts[:5]:  # warm up Rasa's graph and the action server
            await web_post(client, "warmup", text)
        sequential: list[float] = []
        started = time.perf_counter()
        await one_user(client, texts, sequential)
        seq_elapsed = time.perf_counter() - started
        concurrent: list[float] = []
        per_user = max(1, len(texts) // users)
        started = time.perf_counter()
        await asyncio.gather(
            *(
                one_user(client, texts[i * per_user : (i + 1) * per_user], concurrent)
                for i in range(users)
            )
        )
        conc_elapsed = time.perf_counter() - started
    return {
        "sequential": sequential,
        "seq_rate": len(sequential) / seq_elapsed,
        "concurrent": concurrent,
        "conc_rate": len(concurrent) / conc_elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    rasa_port = free_port()
    settings = replace(
        Settings.from_env(),
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'intake.db'}",
        rasa_tracker_db_url=f"sqlite:///{data_dir / 'rasa-tracker.db'}",
        rasa_port=rasa_port,
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        actions_port=free_port(),
        app_port=free_port(),
        log_level="WARNING",
    )
    model = training.ensure_model(settings.model_dir)
    migrate.upgrade(settings.database_url)
    services = Services(settings, model, data_dir / "logs")
    services.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.app_port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        services.wait_ready()
        thread.start()
        while not server.started:
            time.sleep(0.05)
        texts = [ex.text for ex in evaluation.load_set("dev")]
        texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
        result = asyncio.run(run(f"http://127.0.0.1:{settings.app_port}", texts, args.users))
        memory = {
            "app (uvicorn, in this process)": rss_mib(os.getpid()),
            "Rasa server": children_rss(services.processes["rasa"].pid),
            "action server": children_rss(services.processes["actions"].pid),
        }
    finally:
        server.should_exit = True
        thread.join(10)
        services.stop()

    seq, conc = result["sequential"], result["concurrent"]
    load = os.getloadavg()
    lines = [
        "# Benchmarks",
        "",
        "## Message path: web chat API -> app -> Rasa (real model) -> reply",
        "",
        f"Reproduce: `.venv/bin/python -m benchmarks.message_path --messages {args.messages} "
        f"--users {args.users}`",
        "",
        f"Machine: {os.cpu_count()} cores; load average at the end of the run "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min). SQLite (WAL), one app "
        "process, one Rasa, one action server; every message goes through the action server "
        "(language slot mapping).",
        "",
        "| run | messages | p50 ms | p95 ms | p99 ms | max ms | messages/s |",
        "|---|---|---|---|---|---|---|",
        f"| one person, one message at a time | {len(seq)} | {statistics.median(seq):.0f} | "
        f"{pct(seq, 95):.0f} | {pct(seq, 99):.0f} | {max(seq):.0f} | "
        f"{result['seq_rate']:.1f} |",
        f"| {args.users} people at once | {len(conc)} | {statistics.median(conc):.0f} | "
        f"{pct(conc, 95):.0f} | {pct(conc, 99):.0f} | {max(conc):.0f} | "
        f"{result['conc_rate']:.1f} |",
        "",
        "| process | resident memory (MiB) |",
        "|---|---|",
        *[f"| {name} | {mib:.0f} |" for name, mib in memory.items()],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
