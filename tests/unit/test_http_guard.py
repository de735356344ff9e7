"""What every request goes through (bot/http_guard.py), against the real app: the body cap
before parsing (declared and chunked bodies), the JSON answer to an unexpected error on a
connection that stays usable (real uvicorn, real keep-alive), HSTS behind HTTPS, and the API
schema served without the CDN-loaded documentation pages."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.app import create_app
from bot.store import migrate
from tests.helpers import (
    FakeRasa,
    fake_rasa_running,
    free_port,
    make_settings,
    running_app,
    web_post,
)

WEB = "/channels/web/messages"


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    with fake_rasa_running() as rasa:
        yield rasa


@pytest.fixture
async def client(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", fake_rasa.url, max_body_bytes=16 * 1024
    )
    async with running_app(settings, run_worker=False) as c:
        yield c


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "message": "The request body is over 16384 bytes.",
    }


@pytest.mark.parametrize(
    "path", [WEB, "/channels/preview", "/channels/sms/inbound", "/caseworker/login"]
)
async def test_a_declared_body_over_the_cap_is_refused_before_any_route_reads_it(
    client: httpx.AsyncClient, path: str
) -> None:
    assert_too_large(await client.post(path, content=b"x" * (16 * 1024 + 1)))


async def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_cap(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # 1 MB if the app read it all
            sent += 1
            yield b"x" * 1024

    assert_too_large(await client.post(WEB, content=chunks()))
    assert sent < 100  # the app stopped reading right after the cap
    ok = await web_post(client, "u", "hello")
    assert ok.status_code == 200


async def test_a_body_within_the_cap_is_read_normally(client: httpx.AsyncClient) -> None:
    response = await web_post(client, "u", "x" * 2000)
    assert response.status_code == 200


async def test_schema_is_served_and_the_cdn_documentation_pages_are_not(
    client: httpx.AsyncClient,
) -> None:
    schema = await client.get("/openapi.json")
    assert schema.status_code == 200 and "/channels/web/messages" in schema.json()["paths"]
    for page in ("/docs", "/redoc"):
        assert (await client.get(page)).status_code == 404
    assert (await client.get("/")).json()["api_schema"] == "/openapi.json"


@pytest.mark.parametrize("secure", [True, False])
async def test_hsts_only_when_cookies_are_secure(
    tmp_path: Path, fake_rasa: FakeRasa, secure: bool
) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", fake_rasa.url, cookie_secure=secure
    )
    async with running_app(settings, run_worker=False) as client:
        for response in (
            await client.get("/healthz"),
            await client.post(WEB, content=b"{bad"),
            await client.post(WEB, content=b"x" * (settings.max_body_bytes + 1)),
        ):
            header = response.headers.get("strict-transport-security")
            assert (header == "max-age=31536000; includeSubDomains") if secure else header is None


class ServedApp:
    """The real app under uvicorn on a loopback port (keep-alive is the server's business)."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def test_an_unexpected_error_answers_json_and_the_connection_stays_usable(
    tmp_path: Path, fake_rasa: FakeRasa
) -> None:
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate.upgrade(database_url)
    app = create_app(make_settings(tmp_path, database_url, fake_rasa.url), run_worker=False)

    async def broken(_message: object) -> None:
        raise RuntimeError("a bug nobody foresaw")

    with ServedApp(app) as served:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        body = json.dumps({"text": "boom"})
        headers = {"content-type": "application/json"}
        original = app.state.conversations.receive
        app.state.conversations.receive = broken
        conn.request("POST", WEB, body=body, headers=headers)
        response = conn.getresponse()
        assert response.status == 500
        assert json.loads(response.read())["error"] == "internal_error"
        socket_before = conn.sock
        app.state.conversations.receive = original
        conn.request("POST", WEB, body=json.dumps({"text": "hi"}), headers=headers)
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert json.loads(response.read())["replies"][0]["text"] == "en: hi"
        assert conn.sock is socket_before  # the same keep-alive connection served both
        conn.close()
