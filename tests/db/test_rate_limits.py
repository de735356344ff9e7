"""Rate limits and quotas on the web chat and the preview, on SQLite and PostgreSQL: 429 with
``Retry-After`` and a message the page shows; contact requests without an intake limited per
client address and marked ``unverified_web`` for caseworkers (issue 13, docs/security.md)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from bot import referrals
from bot.i18n import t
from bot.intake import progress, vocabulary
from bot.store.models import Referral
from tests.helpers import RULES, rows, web_address, web_poll, web_post
from tests.public_routes import PREVIEW, all_routes_app


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    body = response.json()
    assert body["error"] == "rate_limited" and body["message"]


async def test_web_posts_are_limited_per_address_and_per_conversation(
    tmp_path: Path, database_url: str
) -> None:
    async with all_routes_app(
        tmp_path,
        database_url,
        rate_limit_web_post_address="5/minute",
        rate_limit_web_post_conversation="2/minute",
    ) as client:
        for _ in range(2):
            assert (await web_post(client, "u1", "hi")).status_code == 200
        limited = await web_post(client, "u1", "hi")
        assert_limited(limited)
        # Shown as is by the page, in both languages (the person's language is not known yet).
        assert limited.json()["message"] == f"{t('rate_limited', 'en')} / {t('rate_limited', 'fr')}"
        # Other conversations from the same address, until the address is used up.
        for user in ("u2", "u3"):
            assert (await web_post(client, user, "hi")).status_code == 200
        assert_limited(await web_post(client, "u4", "hi"))
        # A refused message was not stored, and never reached the assistant.
        assert len(client.fakes.rasa.received) == 4  # type: ignore[attr-defined]


async def test_polling_is_limited_too(tmp_path: Path, database_url: str) -> None:
    async with all_routes_app(
        tmp_path, database_url, rate_limit_web_poll_conversation="3/minute"
    ) as client:
        for person in ("p", "other"):
            assert (await web_post(client, person, "hello")).status_code == 200
        for _ in range(3):
            assert (await web_poll(client, "p")).status_code == 200
        assert_limited(await web_poll(client, "p"))
        assert (await web_poll(client, "other")).status_code == 200


async def test_contact_requests_without_an_intake_have_a_quota_per_address(
    tmp_path: Path, database_url: str
) -> None:
    async with all_routes_app(
        tmp_path, database_url, rate_limit_web_contact_address="2/hour"
    ) as client:
        for user, text in (("flood1", "HUMAN"), ("flood2", "/human_handoff")):
            response = await web_post(client, user, text)
            assert response.status_code == 200
        # The third new person asking for a person from this address is refused...
        refused = await web_post(client, "flood3", "humain")
        assert_limited(refused)
        both = f"{t('contact_rate_limited', 'en')} / {t('contact_rate_limited', 'fr')}"
        assert refused.json()["message"] == both
        # ...in their language when it is known.
        assert (await web_post(client, "fr1", "bonjour")).status_code == 200
        refused = await web_post(client, "fr1", "HUMAIN")
        assert_limited(refused)
        assert refused.json()["message"] == t("contact_rate_limited", "fr")
        # Ordinary messages from the same address still go through.
        ordinary = await web_post(client, "flood3", "what is the program")
        assert ordinary.status_code == 200
        # A person with an intake in progress is not counted: their request goes through.
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        assert (await web_post(client, "real", "hello")).status_code == 200
        async with sessions() as s:
            conversation_id = await s.run_sync(lambda sync: _conversation_of(sync, "real"))
            await s.run_sync(lambda sync: _start_intake(sync, conversation_id, {"area": "gta"}))
        assert (await web_post(client, "real", "HUMAN")).status_code == 200


def _conversation_of(session: Session, address: str) -> str:
    from sqlalchemy import select

    from bot.store.models import Contact, Conversation

    return session.scalar(
        select(Conversation.id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Contact.matches("web", web_address(address)))
    )


def _start_intake(session: Session, conversation_id: str, answers: dict) -> None:
    progress.record_consent(session, conversation_id, True, "v1", "en")
    progress.save_answers(session, conversation_id, answers, "en")


async def test_web_contact_requests_without_an_intake_are_marked_unverified(
    tmp_path: Path, database_url: str
) -> None:
    async with all_routes_app(tmp_path, database_url) as client:
        for user in ("anon", "with-intake", "in-crisis"):
            await web_post(client, user, "hello")
        sessions = client.app.state.sessions  # type: ignore[attr-defined]
        async with sessions() as s:

            def request_all(sync: Session) -> None:
                anon = _conversation_of(sync, "anon")
                referrals.request_contact(sync, anon, "en", rules=RULES)
                with_intake = _conversation_of(sync, "with-intake")
                _start_intake(sync, with_intake, {"area": "gta"})
                referrals.request_contact(sync, with_intake, "en", rules=RULES)
                crisis = _conversation_of(sync, "in-crisis")
                referrals.raise_flags(
                    sync, crisis, ["crisis"], source=referrals.FlagSource.PATTERNS, rules=RULES
                )
                referrals.request_contact(sync, crisis, "en", rules=RULES)

            await s.run_sync(request_all)
        flags = {r.conversation_id: r.flags for r in await rows(client, Referral)}
        async with sessions() as s:
            ids = {
                user: await s.run_sync(lambda sync, u=user: _conversation_of(sync, u))
                for user in ("anon", "with-intake", "in-crisis")
            }
        assert referrals.UNVERIFIED_WEB in flags[ids["anon"]]
        assert referrals.UNVERIFIED_WEB not in flags[ids["with-intake"]]
        # A crisis referral is never marked: nothing may make a caseworker discount it.
        assert flags[ids["in-crisis"]] == ["crisis"]
    # Caseworkers read it in their language (the vocabulary labels every flag), never urgent.
    catalogue = vocabulary.flags(RULES)
    assert vocabulary.flag_label(catalogue, referrals.UNVERIFIED_WEB, "fr").startswith(
        "Non vérifié"
    )
    assert vocabulary.urgent_flags(catalogue, [referrals.UNVERIFIED_WEB]) == []


@pytest.mark.parametrize("enabled", [True, False])
async def test_preview_only_when_turned_on_limited_and_capped(
    tmp_path: Path, database_url: str, enabled: bool
) -> None:
    async with all_routes_app(
        tmp_path,
        database_url,
        preview_enabled=enabled,
        rate_limit_preview_address="3/minute",
        max_text_chars=2000,
    ) as client:
        word = {"channel": "sms", "language": "en", "replies": [{"text": "x" * 2000}]}
        response = await client.post(PREVIEW, json=word)
        if not enabled:
            assert response.status_code == 404 and response.json()["error"] == "preview_disabled"
            return
        assert response.status_code == 200
        assert "".join(m["text"] for m in response.json()["messages"]) == "x" * 2000
        too_long = {"channel": "sms", "language": "en", "replies": [{"text": "x" * 2001}]}
        response = await client.post(PREVIEW, json=too_long)
        assert response.status_code == 422 and "2000 characters" in response.json()["message"]
        assert (await client.post(PREVIEW, json=word)).status_code == 200  # the third of 3
        assert_limited(await client.post(PREVIEW, json=word))
