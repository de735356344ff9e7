"""Shared by the caseworker tests: accounts, referrals made through the real web chat and the
referral service (as the Rasa action does), the login dance, and the app served over real HTTP."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import uvicorn
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot import referrals
from bot.app import create_app
from bot.caseworker import security
from bot.settings import Settings
from bot.store.db import create_engine as create_async_engine
from bot.store.db import session_factory, sync_url
from bot.store.models import Contact, Conversation
from tests.helpers import RULES, free_port, web_address_or_name

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_user(database_url: str, username: str, role: str = "caseworker", **kw: Any) -> str:
    engine = create_async_engine(database_url)
    try:
        async with session_factory(engine)() as s:
            user = await security.create_user(
                s,
                username,
                PASSWORD,
                role,
                kw.get("display_name", username.title()),
                kw.get("ui_language", "en"),
            )
            await s.commit()
            return user.id
    finally:
        await engine.dispose()


def make_referral(database_url: str, user: str, language: str = "en", **fields: Any) -> str:
    """The person (``user`` on the web chat) already wrote; they ask for a person (what the
    "talk to a person" action does), and the intake work fills ``fields`` on the referral."""
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            conversation_id = s.scalar(
                select(Conversation.id)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("web", web_address_or_name(user)))
            )
            assert conversation_id, "post a web chat message first"
            referral = referrals.request_contact(s, conversation_id, language, rules=RULES)
            assert referral is not None
            for name, value in fields.items():
                setattr(referral, name, value)
            s.commit()
            return referral.id
    finally:
        engine.dispose()


def db_get(database_url: str, model: type, key: Any) -> Any:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine, expire_on_commit=False) as s:
            return s.get(model, key)
    finally:
        engine.dispose()


def db_rows(database_url: str, query: Any) -> list[Any]:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            return list(s.scalars(query))
    finally:
        engine.dispose()


def db_execute(database_url: str, statement: Any) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            s.execute(statement)
            s.commit()
    finally:
        engine.dispose()


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/caseworker/login")
    token = CSRF.search(page.text)
    assert token, page.text
    return await client.post(
        "/caseworker/login",
        data={"csrf": token.group(1), "username": username, "password": password, "lang": "en"},
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/caseworker/") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.status_code
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)
