"""Ports, process groups and the commands' start-up refusals, without Rasa: a taken port stops
``intake run`` with a clear message, a process group is stopped whole (a child that ignores
SIGTERM, a worker left by a dead leader), and the production commands refuse to start without
what they need."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runtime import ports
from bot.runtime.services import Services, _group_alive, stop_group
from bot.runtime.supervisor import Supervisor
from bot.settings import Settings
from tests.helpers import free_port
from tests.process_support import intake_env, run_intake, wait_until


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_run_refuses_a_taken_port_naming_it_and_its_holder(tmp_path: Path, taken: int) -> None:
    env = intake_env(tmp_path, APP_PORT=free_port(), RASA_PORT=taken, ACTIONS_PORT=free_port())
    result = run_intake(["run"], env)
    assert result.returncode == 1
    assert f"port {taken} (RASA_PORT) on 127.0.0.1 is already in use by pid " in result.stderr
    assert "or set RASA_PORT to a free port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "intake.db").exists()  # refused before touching anything


def test_run_refuses_a_taken_app_port(tmp_path: Path, taken: int) -> None:
    env = intake_env(tmp_path, APP_PORT=taken, RASA_PORT=free_port(), ACTIONS_PORT=free_port())
    result = run_intake(["run"], env)
    assert result.returncode == 1 and f"port {taken} (APP_PORT)" in result.stderr


def test_the_listener_of_a_port_is_found_in_its_process_tree(taken: int) -> None:
    import os

    assert ports.listener_pids(taken) == {os.getpid()}
    assert ports.listener_is_in_tree(taken, os.getpid()) is True
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert ports.listener_is_in_tree(taken, other.pid) is False
    finally:
        other.kill()
        other.wait()
    with pytest.raises(ports.PortInUse, match=f"port {taken} \\(X\\)"):
        ports.require_free([ports.Need("X", "127.0.0.1", taken)])
    ports.require_free([ports.Need("X", "127.0.0.1", free_port())])


STUBBORN = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
    print(child.pid, flush=True)
    time.sleep(60)
    """
)


def test_stop_group_kills_a_group_that_ignores_sigterm() -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    worker = int(leader.stdout.readline())  # type: ignore[union-attr]
    stop_group(leader, timeout=1.0)
    assert leader.returncode == -signal.SIGKILL
    assert not _group_alive(leader.pid)
    assert not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text()


def test_stop_group_sweeps_what_a_dead_leader_left() -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True
    )
    worker = int(leader.stdout.readline())  # type: ignore[union-attr]
    leader.kill()  # the leader dies alone, like a Rasa killed with kill -9
    leader.wait()
    assert _group_alive(leader.pid)  # its worker still runs
    stop_group(leader, timeout=1.0)
    wait_until(lambda: not _group_alive(leader.pid), 5, "group gone")
    assert (
        not Path(f"/proc/{worker}/cmdline").exists()
        or not Path(f"/proc/{worker}/cmdline").read_bytes()
    )


def test_restart_backoff_doubles_up_to_a_minute(tmp_path: Path) -> None:
    supervisor = Supervisor(Services(Settings(), tmp_path / "m.tar.gz", tmp_path))
    assert [supervisor.backoff(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_serve_needs_the_rasa_token_and_a_migrated_database(tmp_path: Path) -> None:
    env = intake_env(tmp_path, APP_PORT=free_port())
    result = run_intake(["serve"], env)
    assert result.returncode == 1 and "set RASA_AUTH_TOKEN" in result.stderr
    env["RASA_AUTH_TOKEN"] = "t" * 32
    result = run_intake(["serve"], env)
    assert result.returncode == 1 and "run `intake migrate` first" in result.stderr


def test_rasa_needs_the_token_and_a_model(tmp_path: Path) -> None:
    env = intake_env(tmp_path, RASA_PORT=free_port())
    assert "set RASA_AUTH_TOKEN" in run_intake(["rasa"], env).stderr
    env.update(RASA_AUTH_TOKEN="t" * 32, RASA_MODEL=str(tmp_path / "none.tar.gz"))
    result = run_intake(["rasa"], env)
    assert result.returncode == 1
    assert f"no model at {tmp_path / 'none.tar.gz'}: run `intake train`" in result.stderr


def test_actions_refuses_a_taken_port(tmp_path: Path, taken: int) -> None:
    result = run_intake(["actions"], intake_env(tmp_path, ACTIONS_PORT=taken))
    assert result.returncode == 1 and f"port {taken} (ACTIONS_PORT)" in result.stderr


def test_a_signal_raises_shutdown_before_the_loop_and_sets_the_event_after() -> None:
    import asyncio
    import os

    import uvicorn

    from bot.runtime import process_life

    # The uvicorn method AppServer replaces must still be the one uvicorn's serve() calls.
    assert "capture_signals" in vars(uvicorn.Server)
    before = signal.getsignal(signal.SIGTERM)
    with process_life.handled_signals(), pytest.raises(process_life.Shutdown) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_until(lambda: False, 5, "the handler to raise", interval=0.01)
    assert raised.value.signum == signal.SIGTERM

    async def in_the_loop() -> None:
        with process_life.handled_signals() as signals:
            stop = asyncio.Event()
            signals.notify(asyncio.get_running_loop(), stop)
            os.kill(os.getpid(), signal.SIGINT)
            await asyncio.wait_for(stop.wait(), 5)
            assert signals.received == signal.SIGINT

    asyncio.run(in_the_loop())
    assert signal.getsignal(signal.SIGTERM) == before  # restored


def test_the_supervisor_checks_a_listener_once_then_by_its_own_sockets(
    tmp_path: Path, taken: int
) -> None:
    import os
    from dataclasses import replace

    settings = replace(Settings(), rasa_port=taken, actions_port=free_port())
    supervisor = Supervisor(Services(settings, tmp_path / "m.tar.gz", tmp_path))
    assert supervisor.owns_listener("rasa") is None  # nothing started
    supervisor.children["rasa"].pid = os.getpid()  # "our child" holds the port
    assert supervisor.owns_listener("rasa") is True
    assert supervisor._listeners["rasa"] == ports.listening_inodes(taken)
    assert supervisor.owns_listener("rasa") is True  # from the kept inode
    supervisor.children["actions"].pid = os.getpid()
    assert supervisor.owns_listener("actions") is False  # nothing listens on its port
