"""The production commands, each its own process as systemd runs them (deploy/systemd/), on
the production stores: ``intake actions``, ``intake rasa`` (the real Rasa, the shared trained
model; its tracker store on PostgreSQL, its lock store on Redis) and ``intake serve`` (the app's
database on PostgreSQL) start with the same settings, answer their health endpoints, carry a
conversation through all three, and stop on SIGTERM with status 0, leaving no port open."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.runtime import training
from bot.settings import Settings
from tests.conftest import POSTGRES_ADMIN_URL
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

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REDIS_LOCK_STORE = "redis://127.0.0.1:6379/9"


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases: the app's and Rasa's tracker store."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = [f"intake_split_{uuid.uuid4().hex[:8]}", f"intake_split_rasa_{uuid.uuid4().hex[:8]}"]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
    yield urls[0], urls[1]
    with admin.connect() as conn:
        for name in names:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:  # a failed test: nothing left behind
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_rasa_and_actions_run_as_separate_processes(
    tmp_path: Path, started: list[subprocess.Popen], databases: tuple[str, str]
) -> None:
    model = training.ensure_model(Settings.from_env().model_dir)  # shared with the e2e stack
    app_port, rasa_port, actions_port = free_port(), free_port(), free_port()
    token = secrets.token_urlsafe(32)
    env = intake_env(
        tmp_path,
        RASA_AUTH_TOKEN=token,
        APP_PORT=app_port,
        RASA_PORT=rasa_port,
        ACTIONS_PORT=actions_port,
        RASA_URL=f"http://127.0.0.1:{rasa_port}",
        ACTIONS_URL=f"http://127.0.0.1:{actions_port}",
        DATABASE_URL=databases[0],
        RASA_TRACKER_DB_URL=databases[1],
        RASA_LOCK_STORE_URL=REDIS_LOCK_STORE,
    )
    assert run_intake(["migrate"], env).returncode == 0
    log = tmp_path / "commands.log"
    actions = start_intake(["actions"], env, log)
    rasa = start_intake(["rasa"], env, log)
    started += [actions, rasa]

    def answers(url: str, **params: str) -> bool:
        answer = get_json(url, **params)
        return answer is not None and answer[0] == 200

    wait_until(lambda: answers(f"http://127.0.0.1:{actions_port}/health"), 60, "actions up")
    rasa_status = f"http://127.0.0.1:{rasa_port}/status"
    wait_until(lambda: answers(rasa_status, token=token), 240, "rasa up")
    assert get_json(rasa_status, token=token)[1]["model_file"] == model.name  # type: ignore[index]
    # `intake rasa` became Rasa (exec): the pid systemd watches is the server itself.
    cmdline = Path(f"/proc/{rasa.pid}/cmdline").read_bytes().split(b"\0")
    assert b"run" in cmdline and any(b".venv-rasa" in a for a in cmdline)
    assert token.encode() not in b" ".join(cmdline)

    serve = start_intake(["serve"], env, log)
    started.append(serve)
    url = f"http://127.0.0.1:{app_port}"
    body = wait_until(lambda: healthy(url), 60, "serve healthy")
    assert body["rasa"]["state"] == "up" and body["rasa"]["managed"] is False
    assert body["rasa"]["model"] == body["rasa"]["expected_model"] == model.name
    assert body["action_server"]["state"] == "up"
    assert not descendants(serve.pid)  # the app alone: it started nothing
    # A program question goes app -> Rasa -> action server (the answer comes from the pack).
    reply = httpx.post(
        f"{url}/channels/web/messages",
        json={"text": "who runs the program"},  # no token: a new conversation
        timeout=60,
    )
    assert reply.status_code == 200
    assert "IOM" in " ".join(r["text"] for r in reply.json()["replies"])
    # Rasa kept the conversation in its PostgreSQL tracker store, with Redis as its lock store.
    tracker = create_engine(make_url(databases[1]).set(drivername="postgresql+psycopg"))
    with tracker.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() > 0
    tracker.dispose()
    endpoints = (tmp_path / "rasa-endpoints.yml").read_text()
    assert "type: redis" in endpoints and "db: 9" in endpoints
    assert (tmp_path / "rasa-endpoints.yml").stat().st_mode & 0o077 == 0  # may hold a password

    # The action server down: the app says so.
    assert stop(actions) == 0, log.read_text(errors="replace")[-3000:]
    answer = wait_until(lambda: (a := get_json(f"{url}/healthz")) and a[0] == 503 and a, 20, "503")
    assert answer[1]["action_server"]["state"] == "down"
    assert answer[1]["rasa"]["state"] == "up"

    for process in (serve, rasa):
        assert stop(process) == 0, log.read_text(errors="replace")[-3000:]
    for port in (app_port, rasa_port, actions_port):
        assert port_free(port)
    assert not any(alive(p.pid) for p in started)
