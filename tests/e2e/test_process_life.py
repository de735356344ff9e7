"""``intake run``, the real one (the real Rasa and action server, the shared trained model), as
a process: /healthz says which processes serve, a killed Rasa or action server is restarted,
a second run refuses the taken ports, and SIGTERM stops everything: exit status 0, nothing
listening on the three ports, no child left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.runtime import training
from bot.settings import Settings
from tests.helpers import free_port
from tests.process_support import (
    alive,
    descendants,
    get_json,
    healthy,
    intake_env,
    port_free,
    run_intake,
    start_intake,
    stop,
    wait_until,
)

pytestmark = pytest.mark.e2e


@dataclass
class Run:
    process: subprocess.Popen
    env: dict[str, str]
    url: str
    ports: dict[str, int]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def test_sigint_while_rasa_loads_stops_everything(tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) during the start-up, with the children starting: a clean stop too."""
    training.ensure_model(Settings.from_env().model_dir)
    ports = {"APP_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    log = tmp_path / "intake.log"
    process = start_intake(["run"], intake_env(tmp_path, **ports), log)
    try:
        children = wait_until(
            lambda: len(descendants(process.pid)) >= 2 and descendants(process.pid),
            120,
            "children started",
        )
        assert healthy(f"http://127.0.0.1:{ports['APP_PORT']}") is None  # still loading
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "children gone")
    for setting, port in ports.items():
        assert port_free(port), f"{setting} {port} still listening"
    assert "[run] stopping Rasa and the action server" in log.read_text(errors="replace")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    training.ensure_model(Settings.from_env().model_dir)  # the model the e2e stack shares
    data = tmp_path_factory.mktemp("process-life")
    ports = {"APP_PORT": free_port(), "RASA_PORT": free_port(), "ACTIONS_PORT": free_port()}
    env = intake_env(data, **ports)
    log = data / "intake.log"
    process = start_intake(["run"], env, log)
    url = f"http://127.0.0.1:{ports['APP_PORT']}"
    try:
        wait_until(lambda: healthy(url) or process.poll() is not None, 300, "intake run healthy")
        assert process.poll() is None, log.read_text(errors="replace")
        yield Run(process, env, url, ports, log)
    finally:
        if process.poll() is None:  # a failed test: never leave the stack behind
            for pid in descendants(process.pid):
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def test_healthz_names_the_processes_it_started_and_the_model(run: Run) -> None:
    body = healthy(run.url)
    assert body is not None
    children = descendants(run.process.pid)
    rasa, actions = body["rasa"], body["action_server"]
    assert rasa["state"] == "up" and rasa["managed"] is True and rasa["restarts"] == 0
    assert rasa["pid"] in children and actions["pid"] in children
    expected = training.model_path(Settings.from_env().model_dir).name
    assert rasa["model"] == rasa["expected_model"] == expected and rasa["model_id"]
    assert actions["state"] == "up" and actions["restarts"] == 0
    assert body["status"] == "ok" and body["database"] == "ok"
    timings = []
    with httpx.Client(base_url=run.url, timeout=10) as client:
        for _ in range(5):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            timings.append(time.perf_counter() - started)
    print(f"/healthz under intake run: {', '.join(f'{t * 1000:.0f}' for t in timings)} ms")


def test_a_second_run_refuses_the_ports_the_first_one_holds(run: Run) -> None:
    result = run_intake(["run"], run.env)
    assert result.returncode == 1
    for setting, port in run.ports.items():
        assert f"port {port} ({setting})" in result.stderr, result.stderr
    assert "already in use" in result.stderr and "Traceback" not in result.stderr
    assert healthy(run.url) is not None  # the first run is untouched


@pytest.mark.parametrize("name", ["rasa", "action_server"])
def test_a_killed_child_is_restarted_and_counted(run: Run, name: str) -> None:
    before = healthy(run.url)
    assert before is not None
    old_pid = before[name]["pid"]
    os.kill(old_pid, signal.SIGKILL)  # only the pid this run started

    def seen_down() -> dict | None:
        answer = get_json(f"{run.url}/healthz")
        if answer is None:
            return None
        status, body = answer
        return body if status == 503 and body[name]["state"] == "restarting" else None

    down = wait_until(seen_down, 30, f"{name} reported restarting", interval=0.1)
    assert down[name]["restarts"] == before[name]["restarts"] + 1
    assert down[name]["last_exit"] == -signal.SIGKILL
    again = wait_until(lambda: healthy(run.url), 240, f"{name} up again")
    assert again[name]["state"] == "up" and again[name]["pid"] != old_pid
    assert again[name]["pid"] in descendants(run.process.pid)
    assert not alive(old_pid)
    assert f"exited with status -9; restart {down[name]['restarts']}" in run.log_text()


def test_sigterm_stops_rasa_the_action_server_and_the_app(run: Run) -> None:
    children = descendants(run.process.pid)
    assert len(children) >= 2
    started = time.monotonic()
    assert stop(run.process) == 0, run.log_text()[-3000:]
    elapsed = time.monotonic() - started
    print(f"intake run stopped {elapsed:.1f} s after SIGTERM")  # a measurement (pytest -s)
    assert elapsed < 40  # the app, then Rasa and the action server: 20 s each at most, together
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "children gone")
    for setting, port in run.ports.items():
        assert port_free(port), f"{setting} {port} still listening"
    assert "[run] stopped" in run.log_text()
