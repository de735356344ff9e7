"""Rasa's tracker store encrypts every event (bot/rasa_plugins/encrypted_tracker_store.py), with
the real Rasa: what it stores is not readable, the conversation still continues (Rasa reads its
own encrypted events back), and "delete my data" still erases the events."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from bot import crypto
from bot.app import DOMAIN_DIR
from bot.runtime.services import TRACKER_STORE_TYPE
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e

SENTENCE = "the kingfisher waits by the Humber river"


@pytest.fixture
def tracker(stack: Stack) -> Iterator[Engine]:
    engine = create_engine(sync_url(stack.settings.rasa_tracker_db_url))
    yield engine
    engine.dispose()


def sender_of(stack: Stack, chat: Chat) -> str:
    engine = create_engine(sync_url(stack.settings.database_url))
    with Session(engine) as s:
        conversation_id = s.scalar(
            select(Conversation.id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Contact.matches("web", chat.address))
        )
    engine.dispose()
    assert conversation_id
    return conversation_id


def events(tracker: Engine, sender: str) -> list[tuple]:
    with tracker.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT type_name, intent_name, action_name, data FROM events "
                    "WHERE sender_id = :s ORDER BY id"
                ),
                {"s": sender},
            )
        )


def domain_names() -> set[str]:
    names: set[str] = set()
    for path in DOMAIN_DIR.glob("*.yml"):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("intents", "actions", "forms", "slots", "responses"):
            for item in domain.get(key) or []:
                names.add(item if isinstance(item, str) else next(iter(item)))
    return names


async def test_events_are_encrypted_and_the_conversation_continues(
    stack: Stack, chat: Chat, tracker: Engine
) -> None:
    endpoints = yaml.safe_load((stack.settings.data_dir / "rasa-endpoints.yml").read_text())
    assert endpoints["tracker_store"]["type"] == TRACKER_STORE_TYPE
    assert (await chat.text("hello")).startswith("Hello!")
    await chat.say(SENTENCE)
    await chat.say("/Kingfisher free text after a slash")  # not an intent: never a column value
    # The form lives in Rasa's tracker: each answer needs the events read back and decrypted.
    assert "Before we start" in await chat.text("i want to go home")
    assert "What first name" in await chat.text("yes")
    assert "Greater Toronto Area" in await chat.text("Kingsley")
    stored = events(tracker, sender_of(stack, chat))
    assert len(stored) > 10
    keyring = crypto.current()
    known = domain_names()
    user_texts = []
    for type_name, intent_name, action_name, data in stored:
        assert data.startswith("gAAAAA")
        # Intents of the domain, or Rasa's own (nlu_fallback); never "/Kingfisher free text...".
        assert intent_name is None or intent_name in known | {"nlu_fallback"}, intent_name
        # Actions, responses and slots of the domain, or Rasa's own (session_started_metadata).
        assert action_name is None or re.fullmatch(r"[a-z_]+", action_name), action_name
        event = json.loads(keyring.decrypt(data))
        assert event["event"] == type_name
        if type_name == "user":
            user_texts.append(event["text"])
    assert SENTENCE in user_texts and "Kingsley" in user_texts
    raw = json.dumps([list(map(str, row)) for row in stored]).lower()
    for canary in ("kingfisher", "humber", "kingsley"):
        assert canary not in raw


async def test_erasure_still_deletes_the_encrypted_events(
    stack: Stack, chat: Chat, tracker: Engine
) -> None:
    await chat.say("hello")
    await chat.say(SENTENCE)
    sender = sender_of(stack, chat)
    assert events(tracker, sender)
    assert "Erase" in await chat.text("delete my data")
    await chat.say("/delete_confirm")
    assert events(tracker, sender) == []


PLUGIN_CHECK = """
import asyncio, json, sqlite3, sys
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.rasa_plugins.encrypted_tracker_store import EncryptedSQLTrackerStore

db, domain_dir = sys.argv[1], sys.argv[2]
legacy = sqlite3.connect(db)  # an event an unencrypted store wrote earlier
legacy.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
               "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
               "action_name VARCHAR(255), data TEXT)")
legacy.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES "
               "('old', 'user', 1.0, ?)", (json.dumps({"event": "user", "text": "old heron"}),))
legacy.commit()
store = EncryptedSQLTrackerStore(domain=Domain.load(domain_dir), dialect="sqlite", db=db)
tracker = DialogueStateTracker.from_events("s1", [
    ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
    UserUttered("the heron sings", {"name": "greet", "confidence": 1.0}),
    UserUttered("/heron free text", {"name": "heron free text", "confidence": 1.0}),
])
asyncio.run(store.save(tracker))
back = asyncio.run(store.retrieve("s1"))
print(json.dumps({
    "texts": [e.text for e in back.events if isinstance(e, UserUttered)],
    "rows": [list(r) for r in sqlite3.connect(db).execute(
        "SELECT sender_id, intent_name, action_name, data FROM events ORDER BY id")],
}))
"""


def test_the_tracker_store_in_rasas_environment(tmp_path: Path) -> None:
    """The plugin class in Rasa's own interpreter (Python 3.10, SQLAlchemy 1.4): save, read back,
    legacy rows encrypted at start, free text kept out of the clear columns."""
    import subprocess

    from bot.runtime import rasa_env

    db = tmp_path / "tracker.db"
    env = rasa_env.rasa_environ(crypto.current().environ())
    result = subprocess.run(
        [str(rasa_env.venv_dir() / "bin" / "python"), "-c", PLUGIN_CHECK, str(db), str(DOMAIN_DIR)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["texts"] == ["the heron sings", "/heron free text"]
    keyring = crypto.current()
    for sender, intent, action, data in out["rows"]:
        assert data.startswith("gAAAAA") and "heron" not in json.dumps([intent, action])
        assert "heron" in keyring.decrypt(data) or sender == "s1"
    assert [r[1] for r in out["rows"] if r[0] == "s1"].count("greet") == 1
    assert json.loads(keyring.decrypt(out["rows"][0][3]))["text"] == "old heron"
