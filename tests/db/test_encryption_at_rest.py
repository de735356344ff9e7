"""Encryption at rest on SQLite and PostgreSQL: raw column values are tokens, not plaintext; a
contact is found by the keyed hash of its address; migration 0006 encrypts existing rows; and
`intake keys rotate` re-encrypts everything under a new key while old keys still decrypt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import cli, crypto
from bot.store import migrate
from bot.store.caseworkers import Note, User
from bot.store.channels import Delivery
from bot.store.db import install_sqlite_pragmas, sync_url
from bot.store.intake import IntakeProgress
from bot.store.keys import encrypted_columns
from bot.store.models import Contact, Conversation, Direction, Message, Referral
from bot.store.privacy import ErasureJob

CANARY_NAME = "Zorblatt Quenwick"
CANARY_PHONE = "+15550199876"
CANARY_TEXT = "my canary sentence about the blue heron"


def engine_for(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(sync_url(url))
    install_sqlite_pragmas(engine)
    return engine


def _fill(s: Session) -> Contact:
    contact = Contact(channel="sms", address=CANARY_PHONE)
    s.add(contact)
    s.flush()
    conversation = Conversation(contact_id=contact.id, channel="sms")
    s.add(conversation)
    s.flush()
    message = Message(
        conversation_id=conversation.id, direction=Direction.IN, author="person", channel="sms",
        text=CANARY_TEXT, payload={"buttons": [{"title": CANARY_NAME, "payload": "/x"}]},
        status="received",
    )  # fmt: skip
    s.add(message)
    s.flush()
    s.add(
        Delivery(
            message_id=message.id, conversation_id=conversation.id, channel="sms",
            text=CANARY_TEXT, extra={"keyboard": [[{"text": CANARY_NAME}]]},
        )
    )  # fmt: skip
    referral = Referral(
        contact_id=contact.id, conversation_id=conversation.id, kind="intake", channel="sms",
        intake={"full_name": CANARY_NAME, "phone": CANARY_PHONE},
        screening_reasons=[{"rule": "r", "en": CANARY_TEXT}], outcome_note=CANARY_TEXT,
    )  # fmt: skip
    s.add(referral)
    user = User(username="cw", display_name="Caseworker", password_hash="x")
    s.add(user)
    s.flush()
    s.add(Note(referral_id=referral.id, user_id=user.id, text=CANARY_TEXT))
    s.add(
        IntakeProgress(
            conversation_id=conversation.id, contact_id=contact.id,
            answers={"full_name": CANARY_NAME},
        )
    )  # fmt: skip
    # An erasure job still to finish: where its receipt goes, the Telegram chat to clean up.
    s.add(
        ErasureJob(
            reference="ER-TEST-0001", reason="person", actor="person",
            receipt_channel="sms", receipt_address=CANARY_PHONE, receipt_language="en",
            telegram_messages=[[CANARY_PHONE, 1]],
        )
    )  # fmt: skip
    s.commit()
    return contact


def _raw_values(conn) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for table, column in encrypted_columns():
        rows = conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))  # noqa: S608
        out[f"{table}.{column}"] = [str(v) for (v,) in rows]
    return out


def test_personal_columns_are_stored_as_tokens(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    with Session(engine) as s:
        _fill(s)
    with engine.connect() as conn:
        raw = _raw_values(conn)
        dump = json.dumps(raw) + " ".join(
            str(row) for row in conn.execute(text("SELECT * FROM contacts"))
        )
    assert {k for k, v in raw.items() if v} == {f"{t}.{c}" for t, c in encrypted_columns()}
    for values in raw.values():
        assert all(v.startswith("gAAAAA") for v in values)
    for canary in (CANARY_NAME, CANARY_PHONE, CANARY_TEXT, "5550199876", "heron"):
        assert canary not in dump
    with Session(engine) as s:  # the app reads plain values
        referral = s.scalars(select(Referral)).one()
        assert referral.intake == {"full_name": CANARY_NAME, "phone": CANARY_PHONE}
        assert referral.outcome_note == CANARY_TEXT
        message = s.scalars(select(Message)).one()
        assert message.text == CANARY_TEXT and message.payload["buttons"][0]["title"] == CANARY_NAME
        assert s.scalars(select(Note.text)).one() == CANARY_TEXT
        assert s.scalars(select(IntakeProgress)).one().answers == {"full_name": CANARY_NAME}
        assert s.scalars(select(Delivery)).one().extra == {"keyboard": [[{"text": CANARY_NAME}]]}
    engine.dispose()


def test_a_contact_is_found_by_the_keyed_hash_of_its_address(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    with Session(engine) as s:
        contact = _fill(s)
        found = s.scalars(select(Contact).where(Contact.matches("sms", CANARY_PHONE))).one()
        assert found.id == contact.id and found.address == CANARY_PHONE
        assert (
            s.scalars(select(Contact).where(Contact.matches("telegram", CANARY_PHONE))).all() == []
        )
        assert s.scalars(select(Contact).where(Contact.matches("sms", "+15550199877"))).all() == []
        raw_hash = s.execute(text("SELECT address_hash FROM contacts")).scalar_one()
        assert raw_hash == crypto.current().lookup_hash(CANARY_PHONE)
        s.add(Contact(channel="telegram", address=CANARY_PHONE))  # another channel: fine
        s.commit()
        s.add(Contact(channel="sms", address=CANARY_PHONE))  # the same address: refused
        with pytest.raises(IntegrityError):
            s.commit()
    engine.dispose()


def test_migration_0006_encrypts_existing_rows_and_downgrade_restores_them(
    database_url: str,
) -> None:
    migrate.upgrade(database_url, "0005")
    engine = engine_for(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (id, channel, address, created_at) "
                "VALUES ('c1', 'sms', :phone, CURRENT_TIMESTAMP)"
            ),
            {"phone": CANARY_PHONE},
        )
        conn.execute(text(
            "INSERT INTO conversations (id, contact_id, channel, status, created_at, updated_at) "
            "VALUES ('v1', 'c1', 'sms', 'bot', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, direction, author, channel, text, payload,"
                " status, attempts, created_at, updated_at) VALUES ('v1', 'in', 'person', 'sms',"
                " :text, :payload, 'received', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"text": CANARY_TEXT, "payload": json.dumps({"media": True})},
        )
        conn.execute(
            text(
                "INSERT INTO referrals (id, contact_id, conversation_id, kind, status, channel,"
                " intake, screening_reasons, flags, priority, outcome_note, created_at,"
                " updated_at) VALUES ('r1', 'c1', 'v1', 'intake', 'closed', 'sms', :intake, '[]',"
                " '[]', 0, NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"intake": json.dumps({"full_name": CANARY_NAME})},
        )
    migrate.upgrade(database_url)
    with engine.connect() as conn:
        raw = _raw_values(conn)
        assert conn.execute(text("SELECT outcome_note FROM referrals")).scalar_one() is None
    assert raw["contacts.address"][0].startswith("gAAAAA")
    for canary in (CANARY_NAME, CANARY_PHONE, CANARY_TEXT):
        assert canary not in json.dumps(raw)
    with Session(engine) as s:
        contact = s.scalars(select(Contact).where(Contact.matches("sms", CANARY_PHONE))).one()
        assert contact.id == "c1"
        assert s.scalars(select(Message)).one().text == CANARY_TEXT
        assert s.scalars(select(Message)).one().payload == {"media": True}
        assert s.scalars(select(Referral)).one().intake == {"full_name": CANARY_NAME}
    migrate.upgrade(database_url)  # at head: nothing happens twice
    migrate.downgrade(database_url, "0005")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT address FROM contacts")).scalar_one() == CANARY_PHONE
        assert conn.execute(text("SELECT text FROM messages")).scalar_one() == CANARY_TEXT
        intake = conn.execute(text("SELECT intake FROM referrals")).scalar_one()
        assert (json.loads(intake) if isinstance(intake, str) else intake) == {
            "full_name": CANARY_NAME
        }
    engine.dispose()


def test_keys_rotate_reencrypts_everything_and_old_keys_still_decrypt(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name in ("INTAKE_DATA_KEYS", "INTAKE_LOOKUP_KEY", "INTAKE_DATA_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    monkeypatch.setenv("RASA_TRACKER_DB_URL", tracker_url)
    key_file = tmp_path / "keys" / "data.key"
    with crypto.using(crypto.installed()):  # the CLI installs its own keyring: restore ours
        assert cli.main(["keys", "init"]) == 0
        first = crypto.read_key_file(key_file)
        crypto.install(first)
        migrate.upgrade(database_url)
        engine = engine_for(database_url)
        with Session(engine) as s:
            _fill(s)
        tracker = create_engine(sync_url(tracker_url))
        with tracker.begin() as conn:  # an event as Rasa's encrypted tracker store writes it
            conn.execute(
                text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, data TEXT)")
            )
            conn.execute(text("INSERT INTO events (sender_id, data) VALUES ('v', :d)"),
                         {"d": first.encrypt(json.dumps({"text": CANARY_TEXT}))})  # fmt: skip
        capsys.readouterr()
        assert cli.main(["keys", "rotate", "--batch", "2"]) == 0
        out = capsys.readouterr().out
        rotated = crypto.read_key_file(key_file)
        assert rotated.data_keys[1:] == first.data_keys and rotated.lookup_key == first.lookup_key
        assert "messages.text: 1 re-encrypted" in out
        assert "contacts.address: 1 re-encrypted" in out and "rasa events.data: 1" in out
        only_new = crypto.Keyring(rotated.data_keys[:1], rotated.lookup_key)
        with engine.connect() as conn:
            raw = _raw_values(conn)
        for values in raw.values():
            for value in values:
                only_new.decrypt(value)  # every value is under the new key
        with tracker.connect() as conn:
            event = conn.execute(text("SELECT data FROM events")).scalar_one()
        assert json.loads(only_new.decrypt(event)) == {"text": CANARY_TEXT}
        with crypto.using(rotated), Session(engine) as s:  # the new keyring reads everything
            found = s.scalars(select(Contact).where(Contact.matches("sms", CANARY_PHONE))).one()
            assert found.address == CANARY_PHONE
        old_token = first.encrypt("written before the rotation")
        assert rotated.decrypt(old_token) == "written before the rotation"
        assert cli.main(["keys", "rotate"]) == 0  # again: a third key, the rest kept
        assert len(crypto.read_key_file(key_file).data_keys) == 3
        engine.dispose()
        tracker.dispose()


def test_keys_that_do_not_decrypt_the_database_stop_the_start(database_url: str) -> None:
    from bot.settings import SettingsError

    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    with Session(engine) as s:
        _fill(s)
    engine.dispose()
    # E.g. the key file was lost and re-created.
    with (
        crypto.using(crypto.Keyring.generate()),
        pytest.raises(SettingsError, match="do not decrypt the stored data"),
    ):
        migrate.upgrade(database_url)
    migrate.upgrade(database_url)  # the right keys: fine
