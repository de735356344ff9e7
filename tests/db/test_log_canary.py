"""Logs without personal data, proven (issue 12, item 5), on SQLite and PostgreSQL.

A database trigger refuses every row that carries a canary (a name, a phone number, a
sentence), so real SQLAlchemy errors happen in the real message path: storing the assistant's
reply to a web, Telegram or SMS message (the web request, the background answer, the retry
worker), storing an SMS from the canary phone number, and the outbox queueing a reply. Every
one of these failures is logged, and the canary appears in none of the log output: not through
the app's own formatter, and not even through a plain ``logging.Formatter`` that prints
exception messages (the engines hide bound values, the paths log types and ids)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from bot.logging_setup import FORMAT
from tests.fakes import tg_message
from tests.helpers import wait_for
from tests.public_routes import WEB, all_routes_app, post_sms, post_telegram, sms_params

NAME = "Maria Canarylopez"
PHONE = "+14165550199"
SENTENCE = f"My name is {NAME}, call me at {PHONE}, I fear going back"
CANARIES = (NAME, "Canarylopez", PHONE, "4165550199", "I fear going back")


def _triggers(dialect: str, table: str, column: str, only: str, constraint: bool) -> list[str]:
    """SQL that makes ``table`` refuse any row with a ``column`` that matches ``only``, a
    condition on NEW (the column is encrypted at rest, bot/crypto.py, so the trigger cannot
    look for the canary in it: every such row is refused while the trigger is there, and the
    canary is in the rows the test sends then). On SQLite, ``constraint`` chooses the error: a
    constraint's (IntegrityError), or a missing table's (OperationalError), which code that
    reads an IntegrityError as "someone else did it first" does not swallow."""
    name = f"refuse_canary_{table}_{column}"
    condition = f"NEW.{column} IS NOT NULL AND {only}"
    if dialect == "sqlite":
        refusal = (
            "SELECT RAISE(ABORT, 'refused by the test trigger')"
            if constraint
            else "SELECT * FROM refused_by_the_test_trigger"
        )
        return [
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {condition} BEGIN {refusal}; END"
        ]
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
        f"IF {condition} THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
    ]


async def refuse_canary(
    client: httpx.AsyncClient,
    table: str,
    column: str,
    only: str = "1 = 1",
    *,
    constraint: bool = True,
) -> None:
    db = client.app.state.db  # type: ignore[attr-defined]
    async with db.begin() as conn:
        for statement in _triggers(db.dialect.name, table, column, only, constraint):
            await conn.execute(text(statement))


async def allow_canary(client: httpx.AsyncClient, table: str, column: str) -> None:
    db = client.app.state.db  # type: ignore[attr-defined]
    name = f"refuse_canary_{table}_{column}"
    async with db.begin() as conn:
        await conn.execute(
            text(f"DROP TRIGGER {name}" + ("" if db.dialect.name == "sqlite" else f" ON {table}"))
        )


@contextmanager
def captured() -> Iterator[list[logging.LogRecord]]:
    """Every log record of the process from now on (start it after the app configured logging:
    that replaces the root logger's handlers)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)


@asynccontextmanager
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with all_routes_app(tmp_path, database_url) as client:
        yield client


def rendered(records: list[logging.LogRecord]) -> tuple[str, str]:
    """The records as the app's handler writes them, and as a plain formatter would (with
    every exception's message and traceback)."""
    app_formatter = logging.getLogger().handlers[0].formatter
    assert app_formatter is not None
    plain = logging.Formatter(FORMAT)
    return (
        "\n".join(app_formatter.format(r) for r in records),
        "\n".join(plain.format(r) for r in records),
    )


def logged(records: list[logging.LogRecord], words: str) -> bool:
    return any(words in r.getMessage() for r in records)


async def seen(records: list[logging.LogRecord], words: str) -> bool:
    return logged(records, words)


async def drain(client: httpx.AsyncClient) -> None:
    await client.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]


async def test_database_errors_in_the_message_path_log_no_personal_data(
    tmp_path: Path, database_url: str
) -> None:
    # The app configures logging when it is made: listen from then on.
    async with app(tmp_path, database_url) as client:
        with captured() as records:
            # 1. The assistant's replies quote the message ("en: <text>"): storing them fails.
            await refuse_canary(client, "messages", "text", only="NEW.direction = 'out'")
            # ...in the web request itself (the app's last line of defence answers 500)...
            web = await client.post(WEB, json={"text": SENTENCE})
            assert web.status_code == 500 and web.json()["error"] == "internal_error"
            # ...in the background answer of a Telegram message, then the retry worker.
            update = json.dumps(tg_message(55_512_345, SENTENCE)).encode()
            assert (await post_telegram(client, update)).status_code == 200
            await drain(client)
            await wait_for(lambda: seen(records, "retry worker round failed"))
            # 2. An SMS from the canary's number: storing the person fails at once.
            await refuse_canary(client, "contacts", "address")
            sms = await post_sms(client, sms_params(SENTENCE, PHONE, "SM" + "c" * 32))
            assert sms.status_code == 200  # acknowledged: Twilio would only resend it
            await allow_canary(client, "contacts", "address")
            await allow_canary(client, "messages", "text")
            # 3. The outbox cannot queue a reply that quotes the canary.
            await refuse_canary(client, "deliveries", "text", constraint=False)
            sms = await post_sms(client, sms_params(SENTENCE, "+14165550123", "SM" + "d" * 32))
            assert sms.status_code == 200
            await drain(client)
            await wait_for(lambda: seen(records, "outbox round failed"))
    for failure in (
        "unexpected error",  # the web request (bot/http_guard.py)
        "answering failed",  # the Telegram answer in the background (bot/channels/base.py)
        "retry worker round failed",  # bot/app.py
        "inbound not storable",  # the SMS from the canary's number
        "outbox round failed",  # bot/channels/outbox.py
    ):
        assert logged(records, failure), failure
    as_written, with_messages = rendered(records)
    assert "Error" in as_written  # the failures are there, by type
    for canary in CANARIES:
        assert canary not in as_written, canary
        assert canary not in with_messages, canary  # hide_parameters: no value in any message
    assert "[parameters:" not in with_messages
