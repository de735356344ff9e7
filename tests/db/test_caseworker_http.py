"""The caseworker app and the integration API over HTTP, on SQLite and on PostgreSQL: CSRF,
lock-out, session expiry, audit entries, replies through the web chat, roles, API tokens."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from actions.intake_texts import CONSENT_VERSION
from bot.caseworker import i18n, security, service
from bot.intake import countries, vocabulary
from bot.store.caseworkers import ApiToken, AuditEntry, User, UserSession
from bot.store.db import create_engine as create_async_engine
from bot.store.db import session_factory
from bot.store.models import Conversation, Message, Referral, utcnow
from tests.caseworker_support import (
    CSRF,
    PASSWORD,
    add_user,
    csrf_of,
    db_execute,
    db_get,
    db_rows,
    login,
    make_referral,
)
from tests.helpers import (
    FakeRasa,
    another_browser,
    echo_answer,
    make_settings,
    running_app,
    web_address,
    web_poll,
    web_post,
)
from tests.intake_support import (
    assert_reads_in,
    conversation_of,
    fill_form,
    referral_of,
    visible_text,
)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
async def app(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_path, database_url, fake_rasa.url, max_failed_logins=3)
    async with running_app(settings) as client:
        yield client


async def person_says(client: httpx.AsyncClient, user: str, text: str) -> list[dict]:
    response = await web_post(client, user, text)
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def audit_about(database_url: str, user_id: str) -> list[str]:
    """Actions recorded about an account (its id is the entry's ``subject``)."""
    entries = db_rows(database_url, select(AuditEntry).order_by(AuditEntry.id))
    return [e.action for e in entries if (e.detail or {}).get("subject") == user_id]


def audit_actions(database_url: str, **where: str) -> list[str]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return [e.action for e in db_rows(database_url, query)]


async def test_forms_without_csrf_token_are_rejected(
    app: httpx.AsyncClient, database_url: str
) -> None:
    await add_user(database_url, "ana")
    await person_says(app, "p1", "hello")
    referral_id = make_referral(database_url, "p1")

    # Login form without its token
    response = await app.post(
        "/caseworker/login", data={"username": "ana", "password": "correct horse battery"}
    )
    assert response.status_code == 403
    assert "cw_session" not in app.cookies

    assert (await login(app, "ana")).status_code == 303
    for body in ({}, {"csrf": "forged"}):
        response = await app.post(f"/caseworker/referrals/{referral_id}/claim", data=body)
        assert response.status_code == 403
        assert "This form has expired" in response.text
    assert db_get(database_url, Referral, referral_id).status == "open"

    token = await csrf_of(app)
    response = await app.post(f"/caseworker/referrals/{referral_id}/claim", data={"csrf": token})
    assert response.status_code == 303
    referral = db_get(database_url, Referral, referral_id)
    assert referral.status == "claimed"
    assert referral.assigned_to is not None


def _login_answer(response: httpx.Response) -> tuple[int, str]:
    """A failed login's status and page, without the page's one-time CSRF token."""
    return response.status_code, CSRF.sub("", response.text)


async def test_lock_out_after_repeated_failed_logins(
    app: httpx.AsyncClient, database_url: str
) -> None:
    user_id = await add_user(database_url, "ben")
    await add_user(database_url, "gone")
    # ben is signed in on another computer when someone starts guessing his password.
    async with another_browser(app) as own_desk:
        assert (await login(own_desk, "ben")).status_code == 303
        failed = _login_answer(await login(app, "ben", "wrong password!!"))
        assert failed[0] == 401
        assert i18n.ui("login_failed", "en") in failed[1]
        assert _login_answer(await login(app, "ben", "wrong password!!")) == failed
        # The third (max_failed_logins=3) locks the account and still reads the same.
        assert _login_answer(await login(app, "ben", "wrong password!!")) == failed
        assert db_get(database_url, User, user_id).locked_until is not None
        # Even the right password is refused while locked, with the same answer.
        assert _login_answer(await login(app, "ben")) == failed
        assert "cw_session" not in app.cookies
        # An unknown or deactivated account gets the same answer too: nothing tells them apart.
        assert _login_answer(await login(app, "nobody", "whatever password")) == failed
        db_execute(database_url, update(User).where(User.username == "gone").values(active=False))
        assert _login_answer(await login(app, "gone")) == failed
        # The lock-out did not sign ben out where he was working.
        assert (await own_desk.get("/caseworker/")).status_code == 200
    assert audit_actions(database_url, user_id=user_id) == [
        "login",
        "login_failed",
        "login_failed",
        "login_failed",
        "login_locked",
    ]

    # When the lock-out time is over, the right password works again.
    db_execute(
        database_url,
        update(User).where(User.id == user_id).values(locked_until=utcnow() - timedelta(seconds=1)),
    )
    assert (await login(app, "ben")).status_code == 303
    assert (await app.get("/caseworker/")).status_code == 200
    assert db_get(database_url, User, user_id).failed_logins == 0


async def test_parallel_wrong_guesses_cannot_pass_the_lock_out(
    app: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bursts of parallel guesses: at most max_failed_logins (3) passwords are ever checked
    (the per-address throttle is out of the way in tests unless a test sets it)."""
    user_id = await add_user(database_url, "dina")
    real_hash = db_get(database_url, User, user_id).password_hash
    checked: list[str] = []  # the hashes argon2 verified against, in worker threads only
    loop_thread = threading.get_ident()
    verify = security._verify

    def counting_verify(password_hash: str, password: str) -> bool:
        assert threading.get_ident() != loop_thread, "argon2 ran on the event loop"
        checked.append(password_hash)
        return verify(password_hash, password)

    monkeypatch.setattr(security, "_verify", counting_verify)

    async def guess(password: str) -> int:
        async with another_browser(app) as browser:
            return (await login(browser, "dina", password)).status_code

    for burst in range(3):
        statuses = await asyncio.gather(*(guess(f"wrong guess {burst}-{i}") for i in range(12)))
        assert set(statuses) == {401}
    # Every attempt ran argon2 once, but only 3 against dina's real hash.
    assert len(checked) == 36
    assert checked.count(real_hash) == 3
    actions = audit_actions(database_url, user_id=user_id)
    assert (actions.count("login_failed"), actions.count("login_locked")) == (3, 33)
    # The right password in a last burst is refused too: the lock holds.
    assert set(await asyncio.gather(guess(PASSWORD), guess(PASSWORD))) == {401}
    assert checked.count(real_hash) == 3


async def test_login_attempts_are_throttled_per_address(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    settings = make_settings(
        tmp_path, database_url, fake_rasa.url, rate_limit_login_address="4/minute"
    )
    async with running_app(settings) as app:
        eva = await add_user(database_url, "eva")
        for name in ("eva", "x1", "x2"):  # whatever the account, every attempt counts
            assert (await login(app, name, "wrong password!!")).status_code == 401
        assert (await login(app, "eva")).status_code == 303
        throttled = await login(app, "eva")
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
        assert i18n.ui("login_throttled", "en") in html.unescape(throttled.text)
        page = await app.get("/caseworker/login?lang=fr")
        token = CSRF.search(page.text)
        assert token
        in_french = await app.post(
            "/caseworker/login",
            data={"csrf": token.group(1), "username": "eva", "password": PASSWORD, "lang": "fr"},
        )
        assert in_french.status_code == 429
        assert i18n.ui("login_throttled", "fr") in html.unescape(in_french.text)
    # The throttle is per address: eva's account is not locked by it.
    assert db_get(database_url, User, eva).locked_until is None


async def test_idle_and_old_sessions_expire(app: httpx.AsyncClient, database_url: str) -> None:
    user_id = await add_user(database_url, "cleo")
    assert (await login(app, "cleo")).status_code == 303
    assert (await app.get("/caseworker/")).status_code == 200
    # Background polls of an open page do not count as activity.
    before = db_rows(database_url, select(UserSession))[0].last_seen_at
    assert (
        await app.get("/caseworker/queue/live", headers={"X-Live-Poll": "1"})
    ).status_code == 200
    assert db_rows(database_url, select(UserSession))[0].last_seen_at == before
    # 31 minutes without a request (idle limit 30)
    db_execute(
        database_url,
        update(UserSession)
        .where(UserSession.user_id == user_id)
        .values(last_seen_at=utcnow() - timedelta(minutes=31)),
    )
    response = await app.get("/caseworker/")
    assert response.status_code == 303
    assert response.headers["location"] == "/caseworker/login?expired=1"
    assert db_rows(database_url, select(UserSession)) == []
    page = await app.get("/caseworker/login?expired=1")
    assert "Your session has expired" in page.text

    # Active all the time, but older than the absolute limit (12 h)
    assert (await login(app, "cleo")).status_code == 303
    db_execute(
        database_url,
        update(UserSession)
        .where(UserSession.user_id == user_id)
        .values(created_at=utcnow() - timedelta(hours=13)),
    )
    assert (await app.get("/caseworker/")).status_code == 303

    # Logging out ends the session on the server, not only in the browser.
    assert (await login(app, "cleo")).status_code == 303
    cookie = app.cookies["cw_session"]
    await app.post("/caseworker/logout", data={"csrf": await csrf_of(app)})
    app.cookies.set("cw_session", cookie)
    assert (await app.get("/caseworker/")).status_code == 303


async def test_every_access_and_change_is_audited(
    app: httpx.AsyncClient, database_url: str
) -> None:
    user_id = await add_user(database_url, "dora")
    await add_user(database_url, "sam", role="supervisor")
    await person_says(app, "web-user-8421", "I want to talk to someone")
    referral_id = make_referral(
        database_url,
        "web-user-8421",
        intake={"first_name": "Amina", "phone": "+14165550123", "citizenship": "KE"},
    )
    assert (await login(app, "dora")).status_code == 303

    page = await app.get(f"/caseworker/referrals/{referral_id}")
    assert page.status_code == 200
    assert "Amina" in page.text and "Kenya" in page.text
    # Contact details are masked until revealed
    assert "+14165550123" not in page.text and "web-user-8421" not in page.text
    assert web_address("web-user-8421") not in page.text
    assert "••••••••0123" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]

    token = await csrf_of(app, f"/caseworker/referrals/{referral_id}")
    revealed = await app.post(f"/caseworker/referrals/{referral_id}/reveal", data={"csrf": token})
    # A web chat person's address is their token's keyed hash (no name, no token).
    assert "+14165550123" in revealed.text and web_address("web-user-8421") in revealed.text

    await app.post(f"/caseworker/referrals/{referral_id}/claim", data={"csrf": token})
    await app.post(
        f"/caseworker/referrals/{referral_id}/notes", data={"csrf": token, "text": "call Tue"}
    )
    await app.post(
        f"/caseworker/referrals/{referral_id}/reply", data={"csrf": token, "text": "Hello Amina"}
    )
    await app.post(
        f"/caseworker/referrals/{referral_id}/close",
        data={"csrf": token, "outcome": "enrolled", "note": "ok"},
    )
    await app.post(f"/caseworker/referrals/{referral_id}/reopen", data={"csrf": token})
    actions = audit_actions(database_url, user_id=user_id, referral_id=referral_id)
    assert actions == [
        "view",  # the page
        "view",  # csrf_of() loads it again
        "reveal_contact",
        "claim",
        "add_note",
        "take_over",  # replying takes the conversation over
        "reply",
        "close",
        "reopen",
    ]
    # The audit log holds no personal data: no message text, no address.
    details = str([e.detail for e in db_rows(database_url, select(AuditEntry))])
    assert "Amina" not in details and "0123" not in details and "web-user" not in details

    # A caseworker cannot open supervisor or admin pages.
    for path in (
        "/caseworker/supervisor/audit",
        "/caseworker/supervisor/export",
        "/caseworker/supervisor/numbers",
        "/caseworker/admin/users",
    ):
        response = await app.get(path)
        assert response.status_code == 403, path
        assert "Your role does not give access" in response.text
    response = await app.post("/caseworker/supervisor/export", data={"csrf": token})
    assert response.status_code == 403

    # The supervisor exports (after a warning) and the export is audited.
    await app.post("/caseworker/logout", data={"csrf": token})
    assert (await login(app, "sam")).status_code == 303
    warning = await app.get("/caseworker/supervisor/export")
    assert "holds personal data" in warning.text or "personal data" in warning.text
    export = await app.post("/caseworker/supervisor/export", data={"csrf": await csrf_of(app)})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["id"] for r in rows] == [referral_id]
    assert rows[0]["contact_address"] == web_address("web-user-8421")
    # "+1416..." would be a formula in a spreadsheet: it is exported as text
    assert "'+14165550123" in rows[0]["intake"] or "+14165550123" in rows[0]["intake"]
    entries = db_rows(database_url, select(AuditEntry).where(AuditEntry.action == "export_csv"))
    assert len(entries) == 1 and entries[0].detail == {"rows": 1}
    audit_page = await app.get("/caseworker/supervisor/audit?action=reveal_contact")
    assert audit_page.status_code == 200
    assert audit_page.text.count("<code>reveal_contact</code>") == 1
    assert "<code>claim</code>" not in audit_page.text
    numbers = await app.get("/caseworker/supervisor/numbers")
    assert numbers.status_code == 200
    assert 'id="median-first-reply"' in numbers.text
    assert "n = 1" in numbers.text  # one referral with a caseworker reply
    assert "Enrolled" not in numbers.text  # it was reopened: no outcome any more


async def test_reading_the_conversation_through_the_live_poll_is_audited(
    app: httpx.AsyncClient, database_url: str
) -> None:
    user_id = await add_user(database_url, "ivo")
    await person_says(app, "web-user-5150", "I want to talk to someone")
    referral_id = make_referral(database_url, "web-user-5150")
    assert (await login(app, "ivo")).status_code == 303
    poll = f"/caseworker/referrals/{referral_id}/messages"

    # after=0 returns the whole conversation without a page view: it is a read, and recorded.
    whole = (await app.get(f"{poll}?after=0")).json()
    assert "I want to talk to someone" in html.unescape(whole["html"])
    stored = db_rows(database_url, select(Message).order_by(Message.id))
    [entry] = db_rows(database_url, select(AuditEntry).where(AuditEntry.referral_id == referral_id))
    assert (entry.action, entry.referral_id) == ("read_messages", referral_id)
    assert entry.detail == {
        "after": 0,
        "count": len(stored),
        "first_id": stored[0].id,
        "last_id": stored[-1].id,
    }
    # Polls that find nothing new read nothing and add nothing (an open tab does not flood).
    for _ in range(3):
        idle = (await app.get(f"{poll}?after={whole['last_id']}")).json()
        assert idle["last_id"] == whole["last_id"]
    assert audit_actions(database_url, referral_id=referral_id) == ["read_messages"]
    # A new message from the person: the poll that shows it records one more read.
    await person_says(app, "web-user-5150", "are you there?")
    fresh = (await app.get(f"{poll}?after={whole['last_id']}")).json()
    assert "are you there?" in html.unescape(fresh["html"])
    assert audit_actions(database_url, user_id=user_id, referral_id=referral_id) == [
        "read_messages",
        "read_messages",
    ]
    last = db_rows(database_url, select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))[0]
    assert last.detail["after"] == whole["last_id"] and last.detail["last_id"] == fresh["last_id"]
    assert "are you there" not in str(last.detail)
    # An id no message can have is refused, never a database error.
    for bad in ("100000000000000000000", "-1"):
        assert (await app.get(f"{poll}?after={bad}")).status_code == 422


async def test_reply_reaches_the_person_and_the_assistant_goes_silent(
    app: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasa
) -> None:
    await add_user(database_url, "eli")
    await person_says(app, "p2", "bonjour, je veux parler à quelqu'un")
    referral_id = make_referral(database_url, "p2", language="fr")
    referral = db_get(database_url, Referral, referral_id)
    assert (await login(app, "eli")).status_code == 303
    token = await csrf_of(app)
    last = (await web_poll(app, "p2")).json()["replies"]
    after = last[-1]["id"]

    # Push channels (SMS, Telegram) deliver through their hook: record the calls.
    hooked: list[tuple[str, str]] = []

    async def hook(channel: str, conversation_id: str) -> None:
        hooked.append((channel, conversation_id))

    app.app.state.conversations.delivery_hooks["web"] = hook  # type: ignore[attr-defined]

    # A canned reply, in the person's language (French), with the claim status message
    await app.post(
        f"/caseworker/referrals/{referral_id}/claim", data={"csrf": token, "notify": "1"}
    )
    await app.post(
        f"/caseworker/referrals/{referral_id}/reply", data={"csrf": token, "canned": "hello"}
    )
    polled = await web_poll(app, "p2", after)
    texts = [r["text"] for r in polled.json()["replies"]]
    assert texts[0].startswith("Un intervenant examine maintenant votre demande")
    assert texts[1].startswith("Bonjour, je suis intervenant du programme")
    conversation = db_get(database_url, Conversation, referral.conversation_id)
    assert conversation.status == "human"
    assert hooked == [("web", referral.conversation_id)] * 2  # status message, then the reply
    stored = db_rows(
        database_url,
        select(Message).where(Message.author == "caseworker"),
    )
    assert [(m.direction, m.status, m.channel) for m in stored] == [("out", "queued", "web")]

    # While a caseworker has it, the assistant does not answer.
    calls = len(fake_rasa.received)
    assert await person_says(app, "p2", "merci!") == []
    assert len(fake_rasa.received) == calls

    # The queue shows the unanswered person message.
    live = (await app.get("/caseworker/queue/live")).json()
    assert "1 new message(s)" in live["rows"]

    # Handed back, the assistant answers again, but not what was written to the caseworker.
    await app.post(f"/caseworker/referrals/{referral_id}/hand-back", data={"csrf": token})
    assert db_get(database_url, Conversation, referral.conversation_id).status == "bot"
    [merci] = [m for m in db_rows(database_url, select(Message)) if m.text == "merci!"]
    assert merci.status == "handled"
    replies = await person_says(app, "p2", "une autre question")
    assert [r["text"] for r in replies] == ["fr: une autre question"]

    # An empty reply is refused with a clear message and sends nothing.
    response = await app.post(
        f"/caseworker/referrals/{referral_id}/reply", data={"csrf": token, "text": "  "}
    )
    assert response.headers["location"].endswith("?error=empty_reply")
    # A reply over the limit is refused whole, never cut short without the caseworker knowing.
    sent = len(db_rows(database_url, select(Message)))
    response = await app.post(
        f"/caseworker/referrals/{referral_id}/reply", data={"csrf": token, "text": "x" * 2001}
    )
    assert response.headers["location"].endswith("?error=reply_too_long")
    assert len(db_rows(database_url, select(Message))) == sent
    page = await app.get(f"/caseworker/referrals/{referral_id}")
    assert 'maxlength="2000"' in page.text

    # Close with an outcome; a bad outcome is refused.
    response = await app.post(
        f"/caseworker/referrals/{referral_id}/close", data={"csrf": token, "outcome": "maybe"}
    )
    assert response.headers["location"].endswith("?error=bad_outcome")
    await app.post(
        f"/caseworker/referrals/{referral_id}/close",
        data={"csrf": token, "outcome": "no_response", "note": "3 tries", "notify": "1"},
    )
    referral = db_get(database_url, Referral, referral_id)
    assert (referral.status, referral.outcome, referral.outcome_note) == (
        "closed",
        "no_response",
        "3 tries",
    )
    assert referral.closed_at is not None
    polled = await web_poll(app, "p2", after)
    assert polled.json()["replies"][-1]["text"].startswith("Votre demande est maintenant fermée")


async def test_admin_creates_accounts_and_lifts_lock_outs(
    app: httpx.AsyncClient, database_url: str
) -> None:
    await add_user(database_url, "root", role="admin")
    await add_user(database_url, "sup", role="supervisor")
    assert (await login(app, "sup")).status_code == 303
    assert (await app.get("/caseworker/admin/users")).status_code == 403
    await app.post("/caseworker/logout", data={"csrf": await csrf_of(app)})

    assert (await login(app, "root")).status_code == 303
    token = await csrf_of(app, "/caseworker/admin/users")
    form = {"csrf": token, "username": "gus", "display_name": "Gus", "role": "caseworker"}
    response = await app.post("/caseworker/admin/users", data={**form, "password": "short"})
    assert response.headers["location"].endswith("?error=bad_password")
    response = await app.post(
        "/caseworker/admin/users", data={**form, "password": "twelve chars ok"}
    )
    assert response.status_code == 303
    [gus] = db_rows(database_url, select(User).where(User.username == "gus"))
    assert gus.role == "caseworker"
    db_execute(
        database_url,
        update(User).where(User.id == gus.id).values(locked_until=utcnow() + timedelta(minutes=10)),
    )
    await app.post(f"/caseworker/admin/users/{gus.id}/unlock", data={"csrf": token})
    assert db_get(database_url, User, gus.id).locked_until is None
    assert {"create_user", "unlock_user"} <= set(audit_actions(database_url))


async def test_admin_deactivates_reactivates_and_resets_passwords(
    app: httpx.AsyncClient, database_url: str
) -> None:
    root_id = await add_user(database_url, "root", role="admin")
    gus_id = await add_user(database_url, "gus")
    # Gus is signed in in another browser.
    async with another_browser(app) as gus:
        assert (await login(gus, "gus")).status_code == 303
        assert (await gus.get("/caseworker/")).status_code == 200

        assert (await login(app, "root")).status_code == 303
        token = await csrf_of(app, "/caseworker/admin/users")
        # Someone leaves: deactivated, signed out everywhere, cannot log in again.
        response = await app.post(
            f"/caseworker/admin/users/{gus_id}/active", data={"csrf": token, "active": "0"}
        )
        assert response.headers["location"].endswith("?done=done")
        assert db_get(database_url, User, gus_id).active is False
        assert "/caseworker/login" in (await gus.get("/caseworker/")).headers["location"]
        assert (await login(gus, "gus")).status_code == 401
        assert not db_rows(database_url, select(UserSession).where(UserSession.user_id == gus_id))
        # An admin cannot lock themself out.
        response = await app.post(
            f"/caseworker/admin/users/{root_id}/active", data={"csrf": token, "active": "0"}
        )
        assert response.headers["location"].endswith("?error=cannot_deactivate_self")
        assert db_get(database_url, User, root_id).active is True
        # Back, with a new password set by the admin (too short is refused).
        await app.post(
            f"/caseworker/admin/users/{gus_id}/active", data={"csrf": token, "active": "1"}
        )
        response = await app.post(
            f"/caseworker/admin/users/{gus_id}/password", data={"csrf": token, "password": "short"}
        )
        assert response.headers["location"].endswith("?error=bad_password")
        response = await app.post(
            f"/caseworker/admin/users/{gus_id}/password",
            data={"csrf": token, "password": "a brand new secret"},
        )
        assert response.headers["location"].endswith("?done=password_changed")
        assert (await login(gus, "gus")).status_code == 401
        assert (await login(gus, "gus", "a brand new secret")).status_code == 303
        # Without the admin role, none of this is allowed.
        gus_token = await csrf_of(gus)
        response = await gus.post(
            f"/caseworker/admin/users/{root_id}/active", data={"csrf": gus_token, "active": "0"}
        )
        assert response.status_code == 403
    assert db_get(database_url, User, root_id).active is True
    page = (await app.get("/caseworker/admin/users")).text
    assert "Deactivate" in page and "Set a new password" in page
    assert [a for a in audit_about(database_url, gus_id) if a != "create_user"] == [
        "deactivate_user",
        "activate_user",
        "reset_password",
    ]


async def test_caseworker_changes_own_password_and_other_browsers_are_signed_out(
    app: httpx.AsyncClient, database_url: str
) -> None:
    ana_id = await add_user(database_url, "ana")
    async with another_browser(app) as other:
        assert (await login(other, "ana")).status_code == 303
        assert (await login(app, "ana")).status_code == 303
        token = await csrf_of(app, "/caseworker/account/password")
        form = {"csrf": token, "new": "my new long secret", "confirm": "my new long secret"}
        for current, new, error in (
            ("not my password", form["new"], "wrong_password"),
            ("correct horse battery", "something different", "passwords_differ"),
        ):
            response = await app.post(
                "/caseworker/account/password", data={**form, "current": current, "confirm": new}
            )
            assert response.headers["location"].endswith(f"?error={error}")
        short = {**form, "current": "correct horse battery", "new": "short", "confirm": "short"}
        response = await app.post("/caseworker/account/password", data=short)
        assert response.headers["location"].endswith("?error=bad_password")
        assert (await other.get("/caseworker/")).status_code == 200  # nothing changed yet

        response = await app.post(
            "/caseworker/account/password", data={**form, "current": "correct horse battery"}
        )
        assert response.headers["location"].endswith("?done=password_changed")
        assert "Password changed." in (await app.get(response.headers["location"])).text
        assert (await app.get("/caseworker/")).status_code == 200  # this browser stays in
        assert (await other.get("/caseworker/")).status_code == 303  # the other is signed out
        await app.post("/caseworker/logout", data={"csrf": await csrf_of(app)})
        assert (await login(app, "ana")).status_code == 401
        assert (await login(app, "ana", "my new long secret")).status_code == 303
    assert audit_about(database_url, ana_id) == ["change_password"]


async def test_queue_is_ordered_by_priority_then_waiting_time_and_filters(
    app: httpx.AsyncClient, database_url: str
) -> None:
    await add_user(database_url, "fay")
    ids = {}
    for user, language, priority in (("q1", "en", 0), ("q2", "fr", 0), ("q3", "en", 5)):
        await person_says(app, user, "hello" if language == "en" else "bonjour")
        ids[user] = make_referral(database_url, user, language=language, priority=priority)
    assert (await login(app, "fay")).status_code == 303
    page = (await app.get("/caseworker/")).text
    order = sorted(ids.values(), key=page.index)
    assert order == [ids["q3"], ids["q1"], ids["q2"]]  # urgent first, then the longest waiting
    french = (await app.get("/caseworker/?language=fr")).text
    assert ids["q2"] in french and ids["q1"] not in french
    live = (await app.get("/caseworker/queue/live?language=en")).json()
    assert live["total"] == 2
    assert '<span class="n">3</span> Open' in live["counts"]

    # Assign to a colleague, filter by assignee, then unassign.
    gil = await add_user(database_url, "gil")
    token = await csrf_of(app)
    await app.post(
        f"/caseworker/referrals/{ids['q1']}/assign", data={"csrf": token, "assignee": gil}
    )
    assert db_get(database_url, Referral, ids["q1"]).assigned_to == gil
    theirs = (await app.get(f"/caseworker/?assignee={gil}")).text
    assert ids["q1"] in theirs and ids["q2"] not in theirs and ids["q3"] not in theirs
    unassigned = (await app.get("/caseworker/?assignee=none")).text
    assert ids["q1"] not in unassigned and ids["q2"] in unassigned
    await app.post(f"/caseworker/referrals/{ids['q1']}/assign", data={"csrf": token})
    referral = db_get(database_url, Referral, ids["q1"])
    assert (referral.status, referral.assigned_to) == ("open", None)
    assert audit_actions(database_url, referral_id=ids["q1"])[-2:] == ["assign", "unassign"]


async def test_api_needs_a_scoped_token_pages_and_audits(
    app: httpx.AsyncClient, database_url: str
) -> None:
    for i in range(5):
        await person_says(app, f"api{i}", "hello")
        make_referral(database_url, f"api{i}", screening_outcome="likely_eligible")
    engine = create_async_engine(database_url)
    async with session_factory(engine)() as s:
        good, good_token = await security.create_token(s, "primero", ["referrals:read"])
        _, no_scope_token = await security.create_token(s, "other", [])
        await s.commit()
    await engine.dispose()

    assert (await app.get("/api/v1/referrals")).status_code == 401
    bad = await app.get("/api/v1/referrals", headers={"Authorization": "Bearer ik_nope"})
    assert bad.status_code == 401
    denied = await app.get(
        "/api/v1/referrals", headers={"Authorization": f"Bearer {no_scope_token}"}
    )
    assert denied.status_code == 403
    assert "api_denied" in audit_actions(database_url)

    auth = {"Authorization": f"Bearer {good_token}"}
    first = (await app.get("/api/v1/referrals?limit=2", headers=auth)).json()
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (5, 2, 0, 2)
    seen = [r["id"] for r in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = (await app.get(f"/api/v1/referrals?limit=2&offset={offset}", headers=auth)).json()
        seen += [r["id"] for r in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 5
    item = first["items"][0]
    # A web address is the token's keyed hash: masked but its last 4 characters.
    masked = {service.mask(web_address(f"api{i}")) for i in range(5)}
    assert item["contact_address_masked"] in masked
    one = await app.get(f"/api/v1/referrals/{seen[0]}", headers=auth)
    assert one.status_code == 200 and one.json()["screening_outcome"] == "likely_eligible"
    assert (await app.get("/api/v1/referrals/nope", headers=auth)).status_code == 404
    filtered = (await app.get("/api/v1/referrals?status=closed", headers=auth)).json()
    assert filtered["total"] == 0
    assert (await app.get("/api/v1/referrals?limit=500", headers=auth)).status_code == 422

    api_calls = db_rows(database_url, select(AuditEntry).where(AuditEntry.token_id == good.id))
    # 3 pages, the filtered list, and the two reads (the refused limit=500 never ran)
    assert [e.action for e in api_calls].count("api_list") == 4
    assert [e.action for e in api_calls].count("api_get") == 2

    # A revoked token stops working at once.
    db_execute(
        database_url, update(ApiToken).where(ApiToken.id == good.id).values(revoked_at=utcnow())
    )
    assert (await app.get("/api/v1/referrals", headers=auth)).status_code == 401

    schema = (await app.get("/openapi.json")).json()
    assert "/api/v1/referrals" in schema["paths"]
    assert "/api/v1/referrals/{referral_id}" in schema["paths"]
    assert not any(path.startswith("/caseworker") for path in schema["paths"])


async def test_api_masks_contact_details_unless_the_token_may_read_them(
    app: httpx.AsyncClient, database_url: str
) -> None:
    await person_says(app, "web-user-7788", "hello")
    intake = {
        "first_name": "Amina",
        "phone": "+14165550123",
        "phone_as_written": "416 555 0123 ext 9",
        "citizenship": "KE",
    }
    referral_id = make_referral(database_url, "web-user-7788", intake=intake)
    engine = create_async_engine(database_url)
    async with session_factory(engine)() as s:
        reader, reader_token = await security.create_token(s, "crm", ["referrals:read"])
        full, full_token = await security.create_token(
            s, "crm-full", ["referrals:read", "referrals:read_contact"]
        )
        _, contact_only = await security.create_token(s, "odd", ["referrals:read_contact"])
        await s.commit()
    await engine.dispose()

    masked = await app.get(
        f"/api/v1/referrals/{referral_id}", headers={"Authorization": f"Bearer {reader_token}"}
    )
    body = masked.json()
    assert "+14165550123" not in masked.text and "web-user-7788" not in masked.text
    assert "555 0123" not in masked.text
    assert body["intake"]["phone"] == "••••••••0123"
    assert body["intake"]["phone_as_written"] == service.mask(intake["phone_as_written"])
    assert body["contact_address"] is None
    assert body["contact_address_masked"] == service.mask(web_address("web-user-7788"))
    assert body["intake"]["first_name"] == "Amina"  # answers are not contact details

    auth = {"Authorization": f"Bearer {full_token}"}
    one = (await app.get(f"/api/v1/referrals/{referral_id}", headers=auth)).json()
    assert one["contact_address"] == web_address("web-user-7788")
    assert one["intake"]["phone"] == "+14165550123"
    assert one["intake"]["phone_as_written"] == "416 555 0123 ext 9"
    listed = (await app.get("/api/v1/referrals", headers=auth)).json()
    assert listed["items"][0]["intake"]["phone"] == "+14165550123"

    # Each reveal is audited, per referral; the masked reads reveal nothing.
    def token_actions(token_id: str) -> list[tuple[str, str | None]]:
        query = select(AuditEntry).where(AuditEntry.token_id == token_id).order_by(AuditEntry.id)
        return [(e.action, e.referral_id) for e in db_rows(database_url, query)]

    assert token_actions(reader.id) == [("api_get", referral_id)]
    assert token_actions(full.id) == [
        ("api_get", referral_id),
        ("api_reveal_contact", referral_id),
        ("api_reveal_contact", referral_id),
        ("api_list", None),
    ]
    # read_contact alone opens nothing: every call needs referrals:read.
    denied = await app.get("/api/v1/referrals", headers={"Authorization": f"Bearer {contact_only}"})
    assert denied.status_code == 403

    schema = (await app.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "referrals:read_contact" in scheme["description"]
    for path in ("/api/v1/referrals", "/api/v1/referrals/{referral_id}"):
        operation = schema["paths"][path]["get"]
        assert operation["security"] == [{"HTTPBearer": ["referrals:read"]}]
        assert "referrals:read_contact" in operation["description"]
    address = schema["components"]["schemas"]["ReferralOut"]["properties"]["contact_address"]
    assert "referrals:read_contact" in address["description"]


async def test_no_reply_reaches_a_person_who_said_stop(
    app: httpx.AsyncClient, database_url: str, fake_rasa: FakeRasa
) -> None:
    """The caseworker's reply obeys the same opt-out record as the assistant (STOP / ARRET)."""
    await add_user(database_url, "fay")
    await person_says(app, "p9", "hello, i need to talk to someone")
    referral_id = make_referral(database_url, "p9")
    assert (await login(app, "fay")).status_code == 303
    token = await csrf_of(app)
    await person_says(app, "p9", "STOP")
    response = await app.post(
        f"/caseworker/referrals/{referral_id}/reply", data={"csrf": token, "text": "Are you there?"}
    )
    assert response.headers["location"].endswith("?error=opted_out")
    assert db_rows(database_url, select(Message).where(Message.author == "caseworker")) == []


@pytest.mark.parametrize("intake_language", ["en", "fr"])
@pytest.mark.parametrize("language", ["en", "fr"])
async def test_an_intake_from_the_form_reads_in_the_caseworkers_language_page_csv_and_api(
    app: httpx.AsyncClient, database_url: str, language: str, intake_language: str
) -> None:
    """A referral whose intake the real form code made (tests/intake_support.py): the referral
    page, the queue, the CSV and the API show the same referral, in the caseworker's language,
    with no raw code, the consent record, the decision date once and what was not understood."""
    other = intake_language  # the person's language; the caseworker reads in ``language``
    await person_says(app, "form1", "hello" if other == "en" else "bonjour")
    conversation_id = conversation_of(database_url, "web", "form1")
    said = await fill_form(database_url, conversation_id, other)
    assert any("Thank you" in s or "Merci" in s for s in said)
    referral_id = referral_of(database_url, conversation_id)
    await add_user(database_url, "reader", role="supervisor", ui_language=language)
    assert (await login(app, "reader")).status_code == 303

    page = (await app.get(f"/caseworker/referrals/{referral_id}")).text
    text = visible_text(page)
    assert_reads_in(language, text)
    words = vocabulary.labels(language)
    assert words["fields"]["citizenship"] in text and words["fields"]["age"] not in text
    assert countries.name_of("HU", language) in text and countries.name_of("RO", language) in text
    assert (
        words["values"]["immigration_status"]["refused" if other == "en" else "removal_order"]
        in text
    )
    assert ("Ana" if other == "en" else "Marie") in text
    typed = "blorp" if other == "en" else "bof bof"
    assert f"{i18n.ui('as_typed', language)} “{typed}”" in text
    assert i18n.ui("consent_given", language) in text and CONSENT_VERSION in text
    decision = vocabulary.label("decision_date", language)
    assert text.count(decision) == 1  # the decision date once
    if other == "en":
        assert f"last week ({i18n.ui('as_said', language)})" in text
    queue = visible_text((await app.get("/caseworker/")).text)
    assert_reads_in(language, queue)
    assert f"{countries.name_of('HU', language)} → {countries.name_of('RO', language)}" in queue
    assert i18n.ui("new_messages", language) not in queue  # nothing written since it arrived

    token = await csrf_of(app, "/caseworker/supervisor/export")
    export = await app.post(
        "/caseworker/supervisor/export", data={"csrf": token, "language": language}
    )
    [row] = [r for r in csv.DictReader(io.StringIO(export.text)) if r["id"] == referral_id]
    assert row["screening_outcome_label"] == vocabulary.pick(
        vocabulary.OUTCOME_LABELS[row["screening_outcome"]], language
    )
    assert (
        f"{words['fields']['citizenship']}: {countries.name_of('HU', language)}"
        in (row["intake_labelled"])
    )
    assert json.loads(row["intake"])["citizenship"] == "HU"  # the codes stay for other systems

    engine = create_async_engine(database_url)
    async with session_factory(engine)() as s:
        _, token_text = await security.create_token(s, "cms", ["referrals:read"])
        await s.commit()
    await engine.dispose()
    auth = {"Authorization": f"Bearer {token_text}"}
    api = (await app.get(f"/api/v1/referrals/{referral_id}?lang={language}", headers=auth)).json()
    assert api["intake"]["citizenship"] == "HU" and api["screening_outcome"] in vocabulary.OUTCOMES
    assert all(r["rule_id"] for r in api["screening_reasons"])
    assert api["labels"]["screening_outcome"] == row["screening_outcome_label"]
    lines = {line["field"]: line for line in api["labels"]["intake"]}
    assert lines["citizenship"]["value"] == countries.name_of("HU", language)
    assert lines["prior_return"]["as_written"] == typed
    plain = (await app.get(f"/api/v1/referrals/{referral_id}", headers=auth)).json()
    assert plain["labels"] is None
    schema = (await app.get("/openapi.json")).json()
    assert "ReferralLabels" in schema["components"]["schemas"]
    assert (await app.get("/api/v1/referrals?lang=de", headers=auth)).status_code == 422


async def test_queue_pages_through_every_referral_and_counts_only_new_messages(
    app: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    await add_user(database_url, "pia")
    ids = []
    for i in range(5):
        await person_says(app, f"pg{i}", "hello")
        ids.append(make_referral(database_url, f"pg{i}"))
    assert (await login(app, "pia")).status_code == 303
    seen: list[str] = []
    path: str | None = "/caseworker/"
    while path:
        page = (await app.get(path)).text
        seen += re.findall(r'<tr data-referral="(\w+)"', page)
        found = re.search(r'<a href="(/caseworker/\?[^"]*)" rel="next"', page)
        path = html.unescape(found.group(1)) if found else None
    assert seen == ids  # all five, oldest first, each once, over three pages
    assert "Page 3 / 3 · 5 referral(s)" in visible_text(page)

    # The filters offer exactly the outcomes screening produces.
    options = re.findall(
        r'<option value="(\w+)"', page.split('id="f-screening"')[1].split("</select>")[0]
    )
    assert options == list(vocabulary.OUTCOMES)

    # "hello" came before the referral: not new. A message after it is.
    live = (await app.get("/caseworker/queue/live")).json()
    assert "new message(s)" not in live["rows"]
    await person_says(app, "pg0", "are you there?")
    live = (await app.get("/caseworker/queue/live")).json()
    first_row = live["rows"].split("</tr>")[0]
    assert ids[0] in first_row and "1 new message(s)" in first_row


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every endpoint, through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods)
        elif hasattr(route, "original_router"):  # FastAPI's included router
            inner = prefix + route.include_context.prefix
            yield from _routes(route.original_router.routes, inner)


async def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(
    app: httpx.AsyncClient, database_url: str
) -> None:
    """Walks the app's routes: every POST under /caseworker (present and future) is refused
    without its token or with a forged one, and changes nothing (no audit entry, no state)."""
    admin_id = await add_user(database_url, "root", role="admin")
    await person_says(app, "csrf1", "hello")
    referral_id = make_referral(database_url, "csrf1")
    routes = list(_routes(app.app.routes))  # type: ignore[attr-defined]
    caseworker = [(path, methods) for path, methods in routes if path.startswith("/caseworker")]
    posts = sorted(path for path, methods in caseworker if "POST" in methods)
    assert len(posts) >= 15, posts  # the walk reaches every form of the app
    assert {frozenset(m) for _, m in caseworker} <= {frozenset({"GET"}), frozenset({"POST"})}

    for body in ({}, {"csrf": "forged"}):  # before signing in: the login form's own token
        response = await app.post(
            "/caseworker/login", data={**body, "username": "root", "password": PASSWORD}
        )
        assert response.status_code == 403 and "cw_session" not in app.cookies
    assert (await login(app, "root")).status_code == 303
    before = len(audit_actions(database_url))
    for path in posts:
        if path == "/caseworker/login":
            continue
        url = path.replace("{referral_id}", referral_id).replace("{user_id}", admin_id)
        for body in ({}, {"csrf": "forged"}, {"csrf": ""}):
            response = await app.post(url, data={**body, "text": "x", "outcome": "enrolled"})
            assert response.status_code == 403, (path, body, response.status_code)
            assert i18n.ui("csrf_failed", "en") in response.text, path
    assert len(audit_actions(database_url)) == before  # nothing happened
    referral = db_get(database_url, Referral, referral_id)
    assert (referral.status, referral.assigned_to) == ("open", None)
    assert (await app.get("/caseworker/")).status_code == 200  # still signed in (no logout)


async def test_urgency_is_explained_by_the_flags_that_raised_it(
    app: httpx.AsyncClient, database_url: str
) -> None:
    await add_user(database_url, "uma", ui_language="fr")
    await person_says(app, "urg1", "bonjour")
    await person_says(app, "urg2", "bonjour")
    calm = make_referral(database_url, "urg2", flags=["health_needs"], priority=1)
    urgent = make_referral(
        database_url, "urg1", language="fr", flags=["health_needs", "crisis"], priority=21
    )
    assert (await login(app, "uma")).status_code == 303
    queue = (await app.get("/caseworker/")).text
    rows = {
        rid: queue.split(f'data-referral="{rid}"')[1].split("</tr>")[0] for rid in (calm, urgent)
    }
    assert queue.index(urgent) < queue.index(calm)
    assert "badge urgent" in rows[urgent] and "badge urgent" not in rows[calm]
    assert "Priorité accrue" in rows[calm]
    assert "Crise : danger, idées suicidaires ou urgence médicale" in rows[urgent]
    assert "Besoins de santé ou de mobilité" in rows[calm]
    page = visible_text((await app.get(f"/caseworker/referrals/{urgent}")).text)
    assert "Urgent en raison de : Crise : danger, idées suicidaires ou urgence médicale" in page
    assert_reads_in("fr", page)


async def test_the_session_cookie_ends_with_the_browser(
    app: httpx.AsyncClient, database_url: str
) -> None:
    # No Max-Age or Expires: closing the browser of a shared computer ends the session (the
    # server also ends it after SESSION_MAX_HOURS, or when idle).
    await add_user(database_url, "ana")
    response = await login(app, "ana")
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("cw_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert "max-age" not in attributes and "expires" not in attributes
    assert {"httponly", "samesite", "path"} <= attributes


@pytest.mark.parametrize("username", ["ana%00", "%ED%A0%80ana", "a" * 500])
async def test_an_unstorable_username_is_an_ordinary_failed_login(
    app: httpx.AsyncClient, database_url: str, username: str
) -> None:
    # Found by the fuzz test on PostgreSQL: a NUL in the username answered 500.
    await add_user(database_url, "ana")
    page = await app.get("/caseworker/login")
    token = CSRF.search(page.text)
    assert token
    # Sent as raw form bytes: a NUL, and a lone surrogate's bytes (no client encodes those).
    body = f"csrf={token.group(1)}&username={username}&password=x&lang=en".encode()
    response = await app.post(
        "/caseworker/login",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
