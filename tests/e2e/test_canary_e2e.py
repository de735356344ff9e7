"""The canary: a made-up person's name, phone number, Telegram chat id and sentence go through
the whole assistant (web chat, SMS and Telegram, an intake, a handoff, a caseworker's note,
reply and outcome note, an induced database error and an induced Rasa error), on SQLite and on
PostgreSQL (the app's database and Rasa's tracker store). Then every file under the data
directory (databases, WAL files, logs, generated Rasa configs) and a ``pg_dump`` of each
PostgreSQL database are searched: the canary appears nowhere in plaintext (issue 12, item 6).

The app's own log lines go to ``logs/app.log`` in the data directory here (``intake run`` prints
them; an operator who keeps them keeps a file like this one).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot.runtime import training
from bot.runtime.services import Services
from bot.settings import Settings
from bot.store.db import sync_url
from bot.store.models import Contact, InboundStatus, Message, Referral
from tests.caseworker_support import add_user, csrf_of, login
from tests.conftest import POSTGRES_ADMIN_URL
from tests.e2e.conftest import Chat
from tests.fakes import (
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeTelegram,
    FakeTwilio,
    tg_message,
)
from tests.helpers import free_port, make_settings, rows, running_app, settle, wait_for, web_post

pytestmark = pytest.mark.e2e

PUBLIC = "https://intake.example.org"
SECRET = "canary-secret-0123456789abcdefghijklmnop"

FIRST_NAME = "Zorvella"
SURNAME = "Quembrick"
PHONE = "+16475550172"
TELEGRAM_CHAT = 7319046285
SENTENCE = "the heron sings at midnight over lake ontario"
# What must never be found in clear (lower case; files are searched case-insensitively).
CANARIES = {
    "name": FIRST_NAME.lower(),
    "surname": SURNAME.lower(),
    "phone": PHONE[2:],  # with or without +1
    "telegram chat id": str(TELEGRAM_CHAT),
    "sentence": "heron sings at midnight",
}
LOGS = "logs"  # item 5 of issue 12 owns what the logs contain


@dataclass
class Findings:
    """Where a canary was found: (place, canary name)."""

    backend: str
    data_dir: Path
    hits: list[tuple[str, str]] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)

    def scan(self, place: str, content: bytes) -> None:
        self.searched.append(place)
        lowered = content.lower()
        for name, canary in CANARIES.items():
            if canary.encode() in lowered:
                self.hits.append((place, name))


def _postgres_database(name: str) -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return (
        make_url(POSTGRES_ADMIN_URL)
        .set(database=name, drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _pg_dump(url: str) -> bytes:
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    result = subprocess.run(
        ["pg_dump", "-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432),
         "-U", parsed.username or "postgres", "--no-owner", parsed.database or ""],
        capture_output=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout


# -- the run --------------------------------------------------------------------------------------


class Person:
    """The canary person on SMS and Telegram (signed webhooks in, fake providers out)."""

    def __init__(self, client: httpx.AsyncClient, twilio: FakeTwilio, telegram: FakeTelegram):
        self.client, self.twilio, self.telegram = client, twilio, telegram

    async def sms(self, body: str) -> str:
        before = len(self.twilio.bodies(PHONE))
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": PHONE, "Body": body}
        path = "/channels/sms/inbound"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
        response = await self.client.post(
            path, data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200

        async def replied() -> list[str]:
            await settle(self.client)
            bodies = self.twilio.bodies(PHONE)
            return bodies[before:] if len(bodies) > before else []

        return "\n".join(await wait_for(replied, timeout=60))

    async def telegram_says(self, text_: str) -> list[str]:
        before = len(self.telegram.texts(TELEGRAM_CHAT))
        update = tg_message(TELEGRAM_CHAT, text_, language_code="en")
        update["message"]["from"] = {  # the name Telegram sends with every message
            "id": TELEGRAM_CHAT, "is_bot": False, "first_name": FIRST_NAME,
            "last_name": SURNAME, "language_code": "en",
        }  # fmt: skip
        response = await self.client.post(
            "/channels/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200

        async def replied() -> list[str]:
            await settle(self.client)
            sent = self.telegram.texts(TELEGRAM_CHAT)
            return sent[before:] if len(sent) > before else []

        return await wait_for(replied, timeout=60)


INTAKE = [  # the web chat intake, with the canary in the free-text answers
    "hello",
    "i want to go home",
    "yes",
    f"{FIRST_NAME} {SURNAME}",
    "brampton",
    "my claim was refused",
    "march 3",
    "hungary",
    "same",
    "just me",
    "34",
    "yes",
    f"yes, {SENTENCE}",  # health details
    "no",
    "no",
    "no",
    f"call me at {PHONE} in the evening",
    SENTENCE,  # anything else
    "send",
]


async def _wait_no_pending(client: httpx.AsyncClient) -> None:
    async def answered() -> bool:
        pending = await rows(client, Message, Message.status == InboundStatus.PENDING)
        return not pending

    await wait_for(answered, timeout=90, interval=0.5)


def _induce_database_error(database_url: str, table: str, on: bool) -> None:
    """Every insert into ``table`` fails (a trigger), or no longer does."""
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(
                f"CREATE TRIGGER canary_fail BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'induced failure'); END"
                if on else "DROP TRIGGER canary_fail"))  # fmt: skip
        elif on:
            conn.execute(text(
                "CREATE FUNCTION canary_fail() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'induced failure'; END $$ LANGUAGE plpgsql"))  # fmt: skip
            conn.execute(text(
                f"CREATE TRIGGER canary_fail BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION canary_fail()"))  # fmt: skip
        else:
            conn.execute(text(f"DROP TRIGGER canary_fail ON {table}"))
            conn.execute(text("DROP FUNCTION canary_fail()"))
    engine.dispose()


async def _conversation(
    settings: Settings, twilio: FakeTwilio, telegram: FakeTelegram, app_log: logging.Handler
) -> None:
    async with running_app(settings) as client:
        # After create_app, which configures logging afresh (basicConfig(force=True)).
        logging.getLogger().addHandler(app_log)
        person = Person(client, twilio, telegram)
        web = Chat(client, f"canary-{uuid.uuid4().hex}")
        # Web chat: a whole intake with the canary's name, number and sentence.
        for answer in INTAKE:
            await web.say(answer)
        [web_referral] = await rows(client, Referral, Referral.channel == "web")
        assert web_referral.intake.get("first_name", "").startswith(FIRST_NAME)
        # SMS: the sentence, then a handoff.
        assert (await person.sms("hello")).startswith("Hello!")
        await person.sms(SENTENCE)
        assert "caseworker" in await person.sms("HUMAN")
        # Telegram: the name (in Telegram's user object), the sentence, a handoff.
        await person.telegram_says("/start")
        await person.telegram_says(f"my name is {FIRST_NAME} {SURNAME}, {SENTENCE}")
        await person.telegram_says("HUMAN")
        # A caseworker: note, reply (sent by SMS), outcome note.
        await add_user(settings.database_url, "canary-cw")
        assert (await login(client, "canary-cw")).status_code == 303
        [sms_referral] = await rows(client, Referral, Referral.channel == "sms")
        path = f"/caseworker/referrals/{sms_referral.id}"
        token = await csrf_of(client, path)
        await client.post(f"{path}/claim", data={"csrf": token})
        await client.post(
            f"{path}/notes", data={"csrf": token, "text": f"{FIRST_NAME}: {SENTENCE}"}
        )
        await client.post(
            f"{path}/reply", data={"csrf": token, "text": f"Hello {FIRST_NAME}, {SENTENCE}"}
        )
        await settle(client)
        assert any(SENTENCE in b for b in twilio.bodies(PHONE))
        await client.post(
            f"{path}/close",
            data={"csrf": token, "outcome": "enrolled", "note": f"{FIRST_NAME} {SURNAME} {PHONE}"},
        )
        # An induced database error while the canary is in flight.
        _induce_database_error(settings.database_url, "messages", on=True)
        try:
            failed = await web_post(client, web.user, f"{SENTENCE} {PHONE}")
            assert failed.status_code >= 500
        finally:
            _induce_database_error(settings.database_url, "messages", on=False)
        # An induced Rasa error: its tracker store refuses to save while it handles the canary
        # (Rasa logs the error and falls back to an in-memory tracker; the person is answered).
        rasa_log = settings.data_dir / LOGS / "rasa.log"
        _induce_database_error(settings.rasa_tracker_db_url, "events", on=True)
        try:
            assert await web.say(f"what is the program? {SENTENCE}")

            async def rasa_failed() -> bool:
                return "induced failure" in rasa_log.read_text(errors="replace")

            await wait_for(rasa_failed, timeout=30)
        finally:
            _induce_database_error(settings.rasa_tracker_db_url, "events", on=False)
        await _wait_no_pending(client)
        assert await rows(client, Contact)  # the people are there, just not in clear


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def canary_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Findings]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"canary-{backend}")
    suffix = uuid.uuid4().hex[:8]
    databases: list[str] = []
    if backend == "postgresql":
        databases = [f"intake_canary_{suffix}", f"intake_canary_tracker_{suffix}"]
        app_url, tracker_url = (_postgres_database(name) for name in databases)
    else:
        app_url = f"sqlite:///{data_dir / 'intake.db'}"
        tracker_url = f"sqlite:///{data_dir / 'rasa-tracker.db'}"
    rasa_port = free_port()
    settings = make_settings(data_dir, app_url, f"http://127.0.0.1:{rasa_port}")
    settings = replace(
        settings,
        rasa_port=rasa_port,
        actions_port=free_port(),
        rasa_tracker_db_url=tracker_url,
        rasa_timeout_seconds=20.0,
        retry_interval_seconds=0.5,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number="+14165550000",
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=SECRET,
        outbox_poll_seconds=0.1,
    )
    twilio, telegram = FakeTwilio(), FakeTelegram()
    twilio.start()
    telegram.start()
    settings = replace(
        settings, twilio_api_base_url=twilio.url, telegram_api_base_url=telegram.base_url
    )
    (data_dir / LOGS).mkdir(exist_ok=True)
    app_log = logging.FileHandler(data_dir / LOGS / "app.log", encoding="utf-8")
    app_log.setLevel(logging.INFO)
    app_log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    services = Services(settings, training.ensure_model(Settings.from_env().model_dir),
                        data_dir / LOGS)  # fmt: skip
    try:
        services.start()
        services.wait_ready()
        from bot.store import migrate

        migrate.upgrade(app_url)
        asyncio.run(_conversation(settings, twilio, telegram, app_log))
    finally:
        services.stop()
        root.removeHandler(app_log)
        app_log.close()
        twilio.stop()
        telegram.stop()
    findings = Findings(backend, data_dir)
    findings.scan("control", f"x {SENTENCE.upper()} {PHONE} x".encode())  # the search works
    assert {name for place, name in findings.hits} == {"sentence", "phone"}
    findings.hits.clear()
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        findings.scan(str(path.relative_to(data_dir)), path.read_bytes())
    for name, url in zip(databases, (app_url, tracker_url), strict=False):
        findings.scan(f"pg_dump {name}", _pg_dump(url))
    yield findings
    for name in databases:
        _drop_postgres_database(name)


def test_the_canary_is_in_no_database_or_generated_file(canary_run: Findings) -> None:
    searched = canary_run.searched
    assert {"logs/rasa.log", "logs/actions.log", "logs/app.log"} <= set(searched)
    assert (canary_run.data_dir / LOGS / "app.log").stat().st_size > 0
    assert "rasa-endpoints.yml" in searched
    if canary_run.backend == "sqlite":
        assert {"intake.db", "rasa-tracker.db"} <= set(searched)
    else:
        assert sum(p.startswith("pg_dump") for p in searched) == 2
    hits = [(place, name) for place, name in canary_run.hits if not place.startswith(f"{LOGS}/")]
    assert hits == [], f"canary found in clear ({canary_run.backend}): {hits}"


def test_the_canary_is_in_no_log_file(canary_run: Findings) -> None:
    hits = [(place, name) for place, name in canary_run.hits if place.startswith(f"{LOGS}/")]
    assert hits == [], f"canary found in the logs ({canary_run.backend}): {hits}"
