"""Intakes made by the real form code: the action server's ``validate_intake_form`` takes each
answer as the person typed it (parsed, re-asked once, kept as written, saved after consent), and
``action_intake_done`` screens it with content/screening.yml and creates the referral. Only
Rasa's NLU and dialogue are left out (tests/e2e run those); the answers are the same texts a
person types in the web chat or by SMS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions import intake as form
from actions import store as action_store_module
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation, Referral
from tests.helpers import web_address_or_name

# The same person in both languages: messy answers, one of them not understood twice.
ANSWERS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("intake_consent", "yes"),
        ("intake_first_name", "my name is ana"),
        ("intake_location", "Brampton"),
        ("intake_status", "1"),
        ("intake_decision_date", "last week"),
        ("intake_citizenship", "hungarian"),
        ("intake_return_country", "Romania"),
        ("intake_party", "me and 2 kids"),
        ("intake_passport", "expired"),
        ("intake_health", "I use a wheelchair"),
        ("intake_safety", "prefer not to say"),
        ("intake_criminality", "no"),
        ("intake_prior_return", "blorp"),  # not understood twice: kept as typed
        ("intake_contact", "anytime"),
        ("intake_notes", "no"),
    ],
    "fr": [
        ("intake_consent", "oui"),
        ("intake_first_name", "je m'appelle marie"),
        ("intake_location", "oui"),
        ("intake_status", "mesure de renvoi"),
        ("intake_decision_date", "3 mars"),
        ("intake_citizenship", "hongroise"),
        ("intake_return_country", "Roumanie"),
        ("intake_party", "moi et 2 enfants"),
        ("intake_passport", "périmé"),
        ("intake_health", "non"),
        ("intake_safety", "je préfère ne pas le dire"),
        ("intake_criminality", "non"),
        ("intake_prior_return", "bof bof"),  # not understood twice: kept as typed
        ("intake_contact", "n'importe quand"),
        ("intake_notes", "non"),
    ],
}


@contextmanager
def action_store(database_url: str) -> Iterator[None]:
    """The action server's store pointed at the test database."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DATABASE_URL", database_url)
    action_store_module.store.cache_clear()
    try:
        yield
    finally:
        action_store_module.store.cache_clear()
        patch.undo()


def _tracker(
    conversation_id: str, slots: dict[str, Any], slot: str | None, text: str, channel: str
) -> Tracker:
    message = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3},
               "metadata": {"channel": channel}}  # fmt: skip
    values = {**slots, "requested_slot": slot}
    if slot:
        values[slot] = text
    return Tracker(conversation_id, values, message, [], False, None, {"name": form.FORM},
                   "action_listen")  # fmt: skip


async def fill_form(
    database_url: str,
    conversation_id: str,
    language: str,
    channel: str = "web",
    answers: list[tuple[str, str]] | None = None,
) -> list[str]:
    """Answers the form's questions the way the action server does, then sends the intake;
    returns what the assistant said at the end."""
    slots: dict[str, Any] = {"language": language}
    validator = form.ValidateIntakeForm()
    with action_store(database_url):
        for slot, text in answers or ANSWERS[language]:
            for _attempt in range(2):  # an answer not understood is asked once more
                result = await validator.validate_answer(
                    slot, text, CollectingDispatcher(),
                    _tracker(conversation_id, slots, slot, text, channel), {"responses": {}},
                )  # fmt: skip
                slots.update(result)
                if slots.get(slot) is not None:
                    break
            assert slots.get(slot) is not None, (slot, text)
        slots["intake_confirm"] = {"action": "submit"}
        dispatcher = CollectingDispatcher()
        await form.ActionIntakeDone().run(
            dispatcher, _tracker(conversation_id, slots, None, "send", channel), {}
        )
    return [m.get("text") or "" for m in dispatcher.messages]


def conversation_of(database_url: str, channel: str, address: str) -> str:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            found = s.scalar(
                select(Conversation.id)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(
                    # A web person is known by their token's hash (tests/helpers.py).
                    Contact.matches(
                        channel, web_address_or_name(address) if channel == "web" else address
                    )
                )
            )
            assert found, "the person writes first"
            return found
    finally:
        engine.dispose()


def referral_of(database_url: str, conversation_id: str) -> str:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            found = s.scalar(select(Referral.id).where(Referral.conversation_id == conversation_id))
            assert found, "no referral"
            return found
    finally:
        engine.dispose()


def visible_text(html: str) -> str:
    """The words a reader sees on a page (no tags, no attributes, no script)."""
    import html as html_lib
    import re

    body = re.sub(r"(?s)<(script|style|head|option)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def assert_reads_in(language: str, text: str) -> None:
    """No raw intake code, and no label of the other language, in a page's visible text."""
    import re

    from bot.caseworker import i18n
    from bot.intake import vocabulary

    other = "en" if language == "fr" else "fr"
    codes = {"gta", "unknown", "HU", "RO", *vocabulary.OUTCOMES}
    for spec in vocabulary.FIELDS.values():
        codes |= {code for code in spec.values if "_" in code}
        if language == "fr":
            codes |= set(spec.values)
    for code in codes:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), code
    labels: list[dict[str, str]] = [spec.label for spec in vocabulary.FIELDS.values()]
    labels += [t for spec in vocabulary.FIELDS.values() for t in spec.values.values()]
    labels += [*vocabulary.OUTCOME_LABELS.values(), *vocabulary.KIND_LABELS.values()]
    labels += [*vocabulary.STATUS_LABELS.values(), *i18n.UI.values()]
    for texts in labels:
        foreign = texts[other]
        if foreign == texts[language] or len(foreign) < 3:
            continue
        assert not re.search(rf"(?<!\w){re.escape(foreign)}(?!\w)", text), foreign
