"""Test helpers: free ports, a fake Rasa HTTP server, and running the app in-process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.app import create_app
from bot.channels.web import WebTokens
from bot.intake import screening
from bot.settings import PROJECT_ROOT, Settings
from bot.store import migrate

# The operator's shipped screening rules (flags, priorities), for tests that create referrals.
RULES = screening.load_rules(PROJECT_ROOT / "content" / "screening.yml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    """A Starlette app served by uvicorn in a background thread on a free loopback port: the
    fake Rasa here and the fake Twilio / Telegram APIs of ``tests/fakes.py``. ``stop()`` /
    ``start()`` make the port refuse connections like a stopped service would."""

    def __init__(self, routes: list[Route]) -> None:
        self.port = free_port()
        self._routes = routes
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            Starlette(routes=self._routes), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None


class FakeRasa(LoopbackServer):
    """A stand-in for Rasa's REST channel over real HTTP, for tests that need no trained model.

    ``answer`` turns a message into bot messages.
    """

    def __init__(self, answer: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> None:
        super().__init__(
            [
                Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
                Route("/status", self._status),
                Route("/conversations/{sender}/tracker/events", self._events, methods=["POST"]),
                Route("/conversations/{sender}/tracker", self._tracker, methods=["GET"]),
            ]
        )
        self.answer = answer
        self.received: list[dict[str, Any]] = []
        # Each conversation's tracker events, like Rasa's: the user event (with the metadata
        # the app sent), the bot events, then action_listen.
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        # Answers to lose: the turn is recorded in the tracker, then the HTTP answer is a 500,
        # as if the app had died before it stored the replies.
        self.lose_answers = 0
        # (sender, events) appended through Rasa's HTTP API (the app stops a form after a crisis)
        self.tracker_events: list[tuple[str, list[dict[str, Any]]]] = []
        self.calls: list[str] = []  # "webhook" / "events", in the order they came

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body)
        self.calls.append("webhook")
        answer = self.answer(body)
        events = self.trackers.setdefault(str(body["sender"]), [])
        events.append({"event": "user", "text": body["message"], "metadata": body.get("metadata")})
        for item in answer:
            data = {"buttons": item["buttons"]} if item.get("buttons") else {}
            events.append({"event": "bot", "text": item.get("text"), "data": data})
        events.append({"event": "action", "name": "action_listen"})
        if self.lose_answers > 0:
            self.lose_answers -= 1
            return JSONResponse({"error": "lost"}, 500)
        return JSONResponse(answer)

    async def _tracker(self, request: Request) -> JSONResponse:
        sender = request.path_params["sender"]
        return JSONResponse({"sender_id": sender, "events": self.trackers.get(sender, [])})

    async def _status(self, _request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "fake.tar.gz", "model_id": "fake"})

    async def _events(self, request: Request) -> JSONResponse:
        self.tracker_events.append((request.path_params["sender"], await request.json()))
        self.calls.append("events")
        return JSONResponse({"sender_id": request.path_params["sender"], "events": None})


def echo_answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Answers "<language>: <message>" so tests can see what the app sent."""
    language = (body.get("metadata") or {}).get("language")
    return [{"recipient_id": body["sender"], "text": f"{language}: {body['message']}"}]


@contextlib.contextmanager
def fake_rasa_running(
    answer: Callable[[dict[str, Any]], list[dict[str, Any]]] = echo_answer,
) -> Iterator[FakeRasa]:
    """A started ``FakeRasa`` (echoing by default), stopped afterwards: the body of every
    ``fake_rasa`` fixture (tests/db/conftest.py, tests/unit/test_http_guard.py)."""
    rasa = FakeRasa(answer)
    rasa.start()
    try:
        yield rasa
    finally:
        rasa.stop()


# Tests talk from one address, many messages a minute: the rate limits are out of their way
# unless a test sets its own (tests/db/test_rate_limits.py).
NO_RATE_LIMITS = {
    f"rate_limit_{rule}": "100000/minute"
    for rule in (
        "web_post_address",
        "web_post_conversation",
        "web_poll_address",
        "web_poll_conversation",
        "web_contact_address",
        "preview_address",
        "login_address",
    )
}


def make_settings(tmp_path: Path, database_url: str, rasa_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        # Rasa's tracker store beside the test's database (erasure deletes from it), never the
        # working tree's var/, which a fresh clone does not have.
        "rasa_tracker_db_url": f"sqlite:///{tmp_path / 'rasa-tracker.db'}",
        "rasa_url": rasa_url,
        "rasa_timeout_seconds": 5.0,
        "retry_interval_seconds": 0.2,
        "log_level": "INFO",
        "preview_enabled": True,
        "web_token_secret": TEST_WEB_TOKEN_SECRET,
        **NO_RATE_LIMITS,
        **overrides,
    }
    return replace(Settings.from_env(), **values)


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, *, run_worker: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan, reached over an in-process ASGI transport."""
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    app = create_app(settings, run_worker=run_worker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def another_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second client of the same running app, with its own cookies (another signed-in browser)."""
    app = client.app  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=client.base_url)


async def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 30.0,  # noqa: ASYNC109
    interval: float = 0.2,
) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def settle(client: httpx.AsyncClient) -> None:
    """Let answers in progress finish and the outbox run a round (channel tests)."""
    channels = client.app.state.channels  # type: ignore[attr-defined]
    await channels.pipeline.drain()
    await channels.outbox.run_once()


async def rows(client: httpx.AsyncClient, model: Any, *where: Any) -> list[Any]:
    """Rows of the app's own database, through the app's session factory."""
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        return list(await s.scalars(select(model).where(*where)))


# -- the web chat, as a page uses it (bot/channels/web.py) ------------------------------------

WEB = "/channels/web/messages"
# The key of the web chat's token hashes in tests (make_settings), so that helpers without the
# app at hand (a live server, a database lookup by a person's name) find a person's address.
TEST_WEB_TOKEN_SECRET = "test-web-token-secret-0123456789abcdefghij"
# Tokens the server issued: per app (an in-process one) or per server address (a live one),
# then per test's name for a person. Addresses by name: the latest person of that name.
_WEB_TOKENS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_LIVE_WEB_TOKENS: dict[str, dict[str, str]] = {}
_WEB_ADDRESSES: dict[str, str] = {}


def _app_of(client: httpx.AsyncClient) -> Any:
    transport = client._transport
    return transport.app if isinstance(transport, httpx.ASGITransport) else None


def _tokens_of(client: httpx.AsyncClient) -> dict[str, str]:
    app = _app_of(client)
    if app is None:
        return _LIVE_WEB_TOKENS.setdefault(str(client.base_url), {})
    return _WEB_TOKENS.setdefault(app, {})


def web_token(client: httpx.AsyncClient, person: str) -> str | None:
    """The token the server issued for ``person`` (None before their first message)."""
    return _tokens_of(client).get(person)


def web_auth(client: httpx.AsyncClient, person: str) -> dict[str, str]:
    token = web_token(client, person)
    return {"Authorization": f"Bearer {token}"} if token else {}


def web_address(person: str) -> str:
    """The web contact's address of the latest person called ``person``: their token's keyed
    hash (what the database holds instead of any name or token)."""
    assert person in _WEB_ADDRESSES, f"{person} has not written on the web chat yet"
    return _WEB_ADDRESSES[person]


def web_address_or_name(person: str) -> str:
    """``web_address`` for a person who wrote through the API; the name itself for a contact a
    test made directly in the database."""
    return _WEB_ADDRESSES.get(person, person)


async def web_post(
    client: httpx.AsyncClient, person: str, text: str, **extra: Any
) -> httpx.Response:
    """``person`` writes on the web chat: their first message starts a conversation (the
    answer's token is kept), the next ones send it as the page does."""
    response = await client.post(
        WEB, json={"text": text, **extra}, headers=web_auth(client, person)
    )
    if response.status_code == 200 and response.json().get("token"):
        token = response.json()["token"]
        _tokens_of(client)[person] = token
        app = _app_of(client)
        tokens = app.state.web_tokens if app is not None else WebTokens(TEST_WEB_TOKEN_SECRET)
        _WEB_ADDRESSES[person] = tokens.address(token)
    return response


async def web_poll(client: httpx.AsyncClient, person: str, after: int | str = 0) -> httpx.Response:
    """``person``'s page asks for the replies after ``after``."""
    return await client.get(WEB, params={"after": str(after)}, headers=web_auth(client, person))


async def web_replies(client: httpx.AsyncClient, text: str, user: str = "u1") -> list[dict]:
    """``user`` sends one web-chat message; its replies (``{"id", "text", "buttons"?}``)."""
    response = await web_post(client, user, text)
    assert response.status_code == 200, response.text
    return response.json()["replies"]
