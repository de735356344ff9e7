"""Running the real ``intake`` commands as processes (process life and production commands)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.runtime import ports
from bot.settings import PROJECT_ROOT


def intake_env(data_dir: Path, **values: Any) -> dict[str, str]:
    """The environment of an ``intake`` process: this checkout's code, a data directory of its
    own (SQLite, Rasa's tracker, logs), the shared trained model (MODEL_DIR is not changed)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RASA_", "APP_", "ACTIONS_", "DATABASE_", "INTAKE_"))
    }
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        INTAKE_DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'intake.db'}",
        LOG_LEVEL="INFO",
    )
    env.update({k: str(v) for k, v in values.items()})
    return env


def start_intake(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run_intake(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)


def get_json(url: str, **params: str) -> tuple[int, Any] | None:
    """(status, body) of a GET, or None when nothing answers."""
    try:
        response = httpx.get(url, params=params, timeout=5)
    except httpx.HTTPError:
        return None
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def healthy(url: str) -> dict | None:
    answer = get_json(f"{url}/healthz")
    return answer[1] if answer and answer[0] == 200 else None


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def port_free(port: int) -> bool:
    return not listening(port) and not ports.listening_inodes(port)


def descendants(pid: int) -> set[int]:
    return ports.process_tree(pid) - {pid}


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    """SIGTERM, then the exit status (SIGKILL after ``timeout``, and the test fails on it)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"pid {process.pid} did not stop within {timeout}s") from None
