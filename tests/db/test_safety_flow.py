"""The safety layer in the app's message path, on SQLite and PostgreSQL, with a fake Rasa over
HTTP: a crisis is answered by the app itself in every state (new conversation, with a
caseworker, after STOP, Rasa down), puts an urgent referral on top of the queue and stops any
form in Rasa before Rasa sees the next message. Dates and detention fears raise their flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot import crisis, referrals
from bot.sms import to_gsm7
from bot.store.models import Conversation, ConversationStatus, Message, Referral
from bot.store.safety import ConversationFlag
from tests.db.test_channel_sms import number, post_sms, sent_to, sms_settings
from tests.db.test_channel_telegram import chat, post_update, texts_to, tg_settings
from tests.fakes import FakeTelegram, FakeTwilio, tg_message
from tests.helpers import RULES, FakeRasa, running_app, web_post, web_replies


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
    assert await say(client, "how long does it take") == ["en: how long does it take"]
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
    response = await web_post(client, "stopper", "DELETE")
    buttons = response.json()["replies"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/delete_confirm", "/delete_cancel"]
    await say(client, "/delete_confirm", user="stopper")
    assert await run(client, lambda s: s.scalars(select(Conversation)).all()) == []


async def test_after_the_crisis_answer_ok_and_i_called_911_get_a_short_reply_not_the_guidance(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    content = crisis.load()
    assert (await say(client, "i want to die"))[0].startswith(emergency("en"))
    assert await say(client, "I called 911, they are coming") == [content.text("support", "en")]
    assert await say(client, "ok") == [content.text("support", "en")]
    assert await say(client, "j'ai appelé le 911") == [content.text("support", "fr")]
    assert fake_rasa.received == []  # never reaches Rasa: no form can start
    # A genuine new crisis still gets the whole answer; an ordinary question goes on to Rasa.
    assert (await say(client, "i took all my pills"))[0].startswith(emergency("en"))
    assert await say(client, "how long does it take") == ["en: how long does it take"]

    def check(s: Any) -> None:
        assert only_referral(s).flags == ["crisis"]

    await run(client, check)


def check_answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Rasa's actions sending the gentle check (the classifier alone, under its bar)."""
    language = (body.get("metadata") or {}).get("language") or "en"
    if "killing me" in body["message"] or "me tue" in body["message"]:
        return [{"text": crisis.load().text("check", language)}]
    return [{"text": f"{language}: {body['message']}"}]


@pytest.mark.parametrize(("first", "no", "language"), [
    ("this wait is killing me", "no", "en"),
    ("franchement cette attente me tue, c'est encore long?", "non, pas vraiment", "fr"),
])  # fmt: skip
async def test_no_to_the_gentle_check_is_a_crisis(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, first: str, no: str, language: str
) -> None:
    fake_rasa.answer = check_answer
    assert await say(client, first) == [crisis.load().text("check", language)]
    replies = await say(client, no)
    assert len(replies) == 1 and replies[0].startswith(emergency(language))
    assert len(fake_rasa.received) == 1  # the "no" never reached Rasa

    def check(s: Any) -> None:
        assert only_referral(s).flags == ["crisis"]

    await run(client, check)


async def test_yes_to_the_gentle_check_raises_nothing(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    fake_rasa.answer = check_answer
    await say(client, "this wait is killing me")
    assert await say(client, "yes i'm safe") == [crisis.load().text("safe", "en")]
    assert await say(client, "how long does it take") == ["en: how long does it take"]

    def check(s: Any) -> None:
        assert s.scalars(select(Referral)).all() == []
        assert s.scalars(select(ConversationFlag)).all() == []

    await run(client, check)


@pytest.mark.parametrize(("text", "concern"), [
    ("meg akarok halni", "self_harm"),
    ("муж меня бьёт", "violence"),
    ("我的孩子没有呼吸", "medical"),
    ("زوجي يضربني", "violence"),
])  # fmt: skip
async def test_a_crisis_in_a_language_we_do_not_speak_gets_the_guidance_in_english_and_french(
    client: httpx.AsyncClient, fake_rasa: FakeRasa, text: str, concern: str
) -> None:
    replies = await say(client, text)
    content = crisis.load()
    assert replies == ["\n\n".join(content.replies(concern, lang)) for lang in ("en", "fr")]
    assert fake_rasa.received == []

    def check(s: Any) -> None:
        referral = only_referral(s)
        assert referral.flags == ["crisis"] and referral.priority >= 20

    await run(client, check)


@pytest.mark.parametrize(("word", "expected"), [
    ("STOP", "both"), ("INFO", "both"), ("ARRET", "fr"), ("HELP", "en"), ("aide", "fr"),
])  # fmt: skip
async def test_a_keyword_as_the_very_first_message_is_answered_in_its_language_or_both(
    client: httpx.AsyncClient, word: str, expected: str
) -> None:
    from bot.i18n import t
    from bot.sms import cost, to_gsm7

    key = {"STOP": "opted_out", "ARRET": "opted_out"}.get(word, "help")
    replies = await say(client, word, user=f"first-{word}")
    if expected == "both":
        assert replies == [t(key, "en") + "\n" + t(key, "fr")]
        assert cost(to_gsm7(replies[0])).segments <= 2

        def check(s: Any) -> None:  # no single language: neither the reply's nor the person's
            reply = s.scalars(select(Message).where(Message.direction == "out")).one()
            assert reply.language is None
            assert s.scalars(select(Conversation)).one().language is None

        await run(client, check)
    else:
        assert replies == [t(key, expected)]  # type: ignore[arg-type]


async def test_stop_after_the_language_is_known_is_answered_in_it(
    client: httpx.AsyncClient,
) -> None:
    from bot.i18n import t

    await say(client, "bonjour, c'est quoi le programme", user="fr-stop")
    assert await say(client, "STOP", user="fr-stop") == [t("opted_out", "fr")]


# -- a crisis in a media message's caption (the real twilio / python-telegram-bot clients) ---
@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


async def test_a_crisis_in_an_sms_body_beside_a_photo_is_answered(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    async with running_app(sms_settings(tmp_path, database_url, fake_rasa, twilio)) as c:
        person = number()
        await post_sms(c, "je veux mourir", person, NumMedia="1", MediaUrl0="https://x/y.jpg")
        body = (await sent_to(twilio, person, 1))[0]
        assert body.startswith(to_gsm7(emergency("fr"))) and "911" in body
        # A photo without text still gets the text-only reply (nothing to assess).
        await post_sms(c, "", person, NumMedia="1", MediaUrl0="https://x/z.jpg")
        assert (await sent_to(twilio, person, 2))[-1].startswith("D")
        assert fake_rasa.received == []


async def test_a_crisis_in_a_telegram_photo_caption_is_answered(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, telegram: FakeTelegram
) -> None:
    async with running_app(tg_settings(tmp_path, database_url, fake_rasa.url, telegram)) as c:
        person = chat()
        photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        update = tg_message(person, None, photo=photo, caption="my husband is hitting me")
        assert (await post_update(c, update)).status_code == 200
        text = (await texts_to(telegram, person, 1))[0]
        assert text.startswith(emergency("en"))
        assert fake_rasa.received == []
