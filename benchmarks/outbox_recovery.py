"""Measurement: the outbox after a kill -9, and with a slow Twilio (issue 14, item 4).

Runs the real app as a separate process (uvicorn, real HTTP on loopback) against a fake Rasa
(echo) and the fake Twilio REST API of ``tests/fakes.py``, then:

1. **kill -9 mid-send**: ``--senders`` people send two SMS each; the fake Twilio holds every
   send open; once the outbox has ``OUTBOX_CONCURRENCY`` sends in flight the app is killed with
   SIGKILL, Twilio lets the held requests through (they reached Twilio), and a new app process
   starts at once on the same database. Reports the time from the restart to the last reply,
   replies lost, replies sent twice (the sends in flight at the kill: their outcome was unknown)
   and order per person.
2. **slow Twilio**: every send takes ``--slow-seconds`` (12 s, as in the issue); reports how many
   SMS went out within ``--window`` seconds for ``--senders`` people.

    .venv/bin/python -m benchmarks.outbox_recovery [--database sqlite|postgresql] [--senders 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from bot.store import migrate
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import FakeRasa, echo_answer, free_port

PUBLIC = "https://intake.example.org"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def app_env(database_url: str, rasa: FakeRasa, twilio: FakeTwilio, data_dir: Path) -> dict:
    return {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "RASA_URL": rasa.url,
        "RASA_TRACKER_DB_URL": f"sqlite:///{data_dir / 'tracker.db'}",
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+14165550000",
        "TWILIO_API_BASE_URL": twilio.url,
        "LOG_LEVEL": "WARNING",
        "COOKIE_SECURE": "true",
        "RATE_LIMIT_WEB_POST_ADDRESS": "100000/minute",
    }


class App:
    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "bot.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.proc = subprocess.Popen(command, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("app did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)


async def post_sms(client: httpx.AsyncClient, body: str, sender: str) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": "+14165550000",
        "Body": body,
        "NumMedia": "0",
    }
    path = "/channels/sms/inbound"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    response.raise_for_status()


def fresh_database(kind: str, data_dir: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{data_dir / 'intake.db'}"
    else:
        from sqlalchemy import text

        from bot.store.db import sync_engine

        name = f"outbox_bench_{uuid.uuid4().hex[:8]}"
        admin = sync_engine(POSTGRES)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from bot.store.db import sync_engine

    admin = sync_engine(POSTGRES)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


async def kill_mid_send(kind: str, senders: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rasa, twilio = FakeRasa(echo_answer), FakeTwilio()
        rasa.start()
        twilio.start()
        env = app_env(fresh_database(kind, Path(tmp)), rasa, twilio, Path(tmp))
        people = [f"+1416555{n:04d}" for n in range(senders)]
        first = App(env)
        started = time.monotonic()
        first.start()
        first_up = time.monotonic() - started
        twilio.hold = True
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
            for turn in ("one", "two"):
                await asyncio.gather(*(post_sms(client, turn, p) for p in people))
        while twilio.in_flight < min(8, senders):  # noqa: ASYNC110 - a counter of another thread
            await asyncio.sleep(0.01)
        in_flight = twilio.in_flight
        first.kill()
        twilio.hold = False
        second = App(env)
        started = time.monotonic()
        second.start()
        up = time.monotonic() - started
        while not all(len(set(twilio.bodies(p))) == 2 for p in people):
            await asyncio.sleep(0.05)
            if time.monotonic() - started > 120:
                break
        recovered = time.monotonic() - started
        second.stop()
        rasa.stop()
        twilio.stop()
        drop_database(env["DATABASE_URL"])
        bodies = {p: twilio.bodies(p) for p in people}
        lost = sum(2 - len(set(b)) for b in bodies.values())
        doubled = sum(len(b) - len(set(b)) for b in bodies.values())
        in_order = all([x for i, x in enumerate(b) if x not in b[:i]] == ["en: one", "en: two"]
                       for b in bodies.values())  # fmt: skip
        return {
            "in flight at the kill": in_flight,
            "first start to healthy (s)": round(first_up, 1),
            "restart to healthy (s)": round(up, 1),
            "restart to the last reply (s)": round(recovered, 1),
            "replies lost": lost,
            "replies sent twice": doubled,
            "order kept": in_order,
        }


async def slow_twilio(kind: str, senders: int, slow: float, window: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rasa, twilio = FakeRasa(echo_answer), FakeTwilio()
        rasa.start()
        twilio.start()
        env = app_env(fresh_database(kind, Path(tmp)), rasa, twilio, Path(tmp))
        # A send timeout above the slow call: otherwise each send times out and is retried.
        env["CHANNEL_SEND_TIMEOUT_SECONDS"] = str(slow * 2)
        app = App(env)
        app.start()
        twilio.delay_seconds = slow
        people = [f"+1416556{n:04d}" for n in range(senders)]
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            await asyncio.gather(*(post_sms(client, "hello", p) for p in people))
        while twilio.requests == 0:  # noqa: ASYNC110 - a counter of another thread
            await asyncio.sleep(0.01)
        first_send = time.monotonic()
        await asyncio.sleep(window)
        sent = len(twilio.sent)
        app.kill()
        rasa.stop()
        twilio.stop()
        drop_database(env["DATABASE_URL"])
        return {
            "first post to the first send (s)": round(first_send - started, 1),
            f"SMS out {window:g} s after the first send (Twilio {slow:g} s a call, "
            f"{senders} people)": sent,
            "most sends in flight at once": twilio.max_in_flight,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--slow-seconds", type=float, default=12.0)
    parser.add_argument("--window", type=float, default=15.0)
    args = parser.parse_args()
    print(f"database: {args.database}")
    for name, result in (
        ("kill -9 mid-send", asyncio.run(kill_mid_send(args.database, args.senders))),
        (
            "slow Twilio",
            asyncio.run(slow_twilio(args.database, args.senders, args.slow_seconds, args.window)),
        ),
    ):
        print(f"{name}:")
        for key, value in result.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()
