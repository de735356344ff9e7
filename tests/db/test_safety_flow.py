"""The safety layer in the app's message path, on SQLite and PostgreSQL, with a fake Rasa over
HTTP: a crisis is answered by the app itself in every state (new conversation, with a
caseworker, after STOP, Rasa down), puts an urgent referral on top of the queue and stops any
form in Rasa before Rasa sees the next message. Dates and detention fears raise their flags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import crisis, referrals
from bot.store.models import Conversation, ConversationStatus, Referral
from bot.store.safety import ConversationFlag
from tests.helpers import RULES, FakeRasa, web_replies


async def say(client: httpx.AsyncClient, text: str, user: str = "u1") -> list[str]:
    return [r["text"] for r in await web_replies(client, text, user)]


async def run(client: httpx.AsyncClient, fn: Any) -> Any:
    """Run ``fn(sync_session)`` against the app's own database."""
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        return await s.run_sync(fn)


def only_referral(s: Any) -> Referral:
    rows = s.scalars(select(Referral)).all()
    assert len(rows) == 1
    return rows[0]


def emergency(language: str) -> str:
    return crisis.load().emergency[language]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("i wanna kms", "en"),
        ("honestly theres no point living anymore", "en"),
        ("my baby is not breathing", "en"),
        ("jveux mourir", "fr"),  # a first message: answered in French, not the default English
        ("ca sert a rien de vivre", "fr"),
        ("il me frappe", "fr"),
    ],
)
async def test_a_crisis_is_answered_by_the_app_and_put_on_top_of_the_queue(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, text: str, language: str
) -> None:
    replies = await say(client, text)
    assert len(replies) == 1 and replies[0].startswith(emergency(language))
    assert "911" in replies[0] and crisis.load().caseworker[language] in replies[0]
    assert fake_rasa.received == []  # never reaches Rasa: it can never start a form

    def check(s: Any) -> None:
        referral = only_referral(s)
        assert referral.flags == ["crisis"] and referral.priority >= 20
        assert referral.kind == "contact_request" and referral.language == language
        conversation = s.get(Conversation, referral.conversation_id)
        assert conversation.status == ConversationStatus.HANDOFF_REQUESTED

    await run(client, check)
    # The form (if any) is stopped in Rasa through its HTTP API.
    assert [events[0] for _, events in fake_rasa.tracker_events] == [
        {"event": "active_loop", "name": None}
    ]


async def test_guidance_is_repeated_every_time_and_the_flag_stays(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await say(client, "hello")
    assert (await say(client, "i want to die"))[0].startswith(emergency("en"))
    assert await say(client, "thanks") == ["en: thanks"]  # an ordinary turn goes to Rasa
    assert (await say(client, "i took all my pills"))[0].startswith(emergency("en"))

    def check(s: Any) -> None:
        referral = only_referral(s)  # one open referral, not one per message
        assert referral.flags == ["crisis"]
        # A later "talk to a person" keeps the flag: it stays on every referral.
        again = referrals.request_contact(s, referral.conversation_id, "en", rules=RULES)
        assert again is not None and again.id == referral.id and again.flags == ["crisis"]

    await run(client, check)


async def test_a_crisis_beats_a_caseworker_conversation_and_an_opt_out(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await say(client, "hello", user="with-caseworker")

    def take_over(s: Any) -> None:
        conversation = s.scalars(select(Conversation)).one()
        conversation.status = ConversationStatus.HUMAN
        s.commit()

    await run(client, take_over)
    assert await say(client, "ok", user="with-caseworker") == []  # left for the caseworker
    replies = await say(client, "he is hitting me right now", user="with-caseworker")
    assert replies and replies[0].startswith(emergency("en"))

    await say(client, "STOP", user="opted-out")
    assert await say(client, "hello?", user="opted-out") == []
    replies = await say(client, "je vais me tuer", user="opted-out")
    assert replies and replies[0].startswith(emergency("fr"))


async def test_with_rasa_down_the_crisis_is_answered_and_the_form_stopped_before_the_next_turn(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await say(client, "hello")
    fake_rasa.stop()
    replies = await say(client, "i want to end my life")
    assert replies[0].startswith(emergency("en"))

    def pending(s: Any) -> list[bool]:
        return list(s.scalars(select(ConversationFlag.engine_synced)))

    assert await run(client, pending) == [False]
    fake_rasa.calls.clear()
    fake_rasa.start()
    await say(client, "are you there")
    # Rasa is told to stop the form before it sees the next message.
    assert fake_rasa.calls == ["events", "webhook"]
    assert await run(client, pending) == [True]


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("i have a removal date next week", "urgent_date"),
        ("jai une date de renvoi la semaine prochaine", "urgent_date"),
        ("je suis expulse vendredi je fais quoi", "urgent_date"),
        ("will they detain me when i go to the cbsa office", "detention_fear"),
        ("j'ai peur qu'ils m'arretent au rendez-vous", "detention_fear"),
    ],
)
async def test_a_close_date_or_a_detention_fear_flags_the_conversation_and_goes_on_to_rasa(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, text: str, flag: str
) -> None:
    replies = await say(client, text)
    assert len(replies) == 1 and replies[0].endswith(text)  # Rasa answered (the echo)

    def check(s: Any) -> None:
        assert list(s.scalars(select(ConversationFlag.flag))) == [flag]
        assert s.scalars(select(Referral)).all() == []  # a flag, not yet a referral
        conversation = s.scalars(select(Conversation)).one()
        referral = referrals.request_contact(s, conversation.id, "en", rules=RULES)
        assert referral is not None and referral.flags == [flag] and referral.priority >= 10

    await run(client, check)


async def test_an_open_referral_becomes_urgent_when_a_flag_is_raised_later(
    client: httpx.AsyncClient,
) -> None:
    await say(client, "hello")

    def ordinary(s: Any) -> int:
        conversation = s.scalars(select(Conversation)).one()
        referral = referrals.request_contact(s, conversation.id, "en", rules=RULES)
        assert referral is not None
        return referral.priority

    assert await run(client, ordinary) == 0
    await say(client, "my deportation is on friday what do i do")
    assert await run(client, lambda s: (only_referral(s).flags, only_referral(s).priority)) == (
        ["urgent_date"],
        10,
    )


@pytest.mark.parametrize(
    "text",
    [
        "they will kill me if i go back",
        "I am dying to go home",
        "this wait is killing me",
        "je dois prendre mes medicaments pendant le voyage",
        "my removal is in march",
        "i was arrested in 2019 for a fight",
    ],
)
async def test_ordinary_messages_raise_nothing(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, text: str
) -> None:
    replies = await say(client, text)
    assert len(replies) == 1 and replies[0].endswith(f": {text}")  # Rasa (the echo) answered
    assert await run(client, lambda s: s.scalars(select(ConversationFlag)).all()) == []
    assert await run(client, lambda s: s.scalars(select(Referral)).all()) == []


async def test_help_and_erasure_still_work_after_stop(client: httpx.AsyncClient) -> None:
    await say(client, "hello", user="stopper")
    await say(client, "STOP", user="stopper")
    assert await say(client, "hello?", user="stopper") == []
    assert len(await say(client, "HELP", user="stopper")) == 1
    response = await client.post(
        "/channels/web/messages", json={"user": "stopper", "text": "DELETE"}
    )
    buttons = response.json()["replies"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/delete_confirm", "/delete_cancel"]
    await say(client, "/delete_confirm", user="stopper")
    assert await run(client, lambda s: s.scalars(select(Conversation)).all()) == []
