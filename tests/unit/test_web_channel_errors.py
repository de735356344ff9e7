"""The web chat API rejects bad input with a clear JSON error and loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import FakeRasa, echo_answer, make_settings, running_app

URL = "/channels/web/messages"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    try:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", rasa.url)
        async with running_app(settings, run_worker=False) as c:
            yield c
    finally:
        rasa.stop()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        # The old contract's "user" no longer reads or continues anything: refused, clearly.
        (b'{"user": "u", "text": "hi"}', 422, "user_not_supported"),
        (b'{"user": "", "text": "hi"}', 422, "user_not_supported"),
        (b"{}", 422, "invalid_text"),
        (b'{"text": 5}', 422, "invalid_text"),
        (b'{"text": "   "}', 422, "empty_text"),
        (b'{"text": "hi", "id": {"x": 1}}', 422, "invalid_id"),
    ],
)
async def test_bad_requests(client: httpx.AsyncClient, body: bytes, status: int, code: str) -> None:
    response = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"] == code
    assert response.json()["message"]


async def test_text_too_long(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"text": "x" * 2001})
    assert response.status_code == 422
    assert response.json() == {
        "error": "text_too_long",
        "message": '"text" must be at most 2000 characters.',
    }


async def test_body_too_large(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"x" * (65 * 1024))
    assert response.status_code == 413


async def test_poll_needs_the_token_in_the_header(client: httpx.AsyncClient) -> None:
    missing = await client.get(URL, params={"after": "0"})
    assert missing.status_code == 401 and missing.json()["error"] == "missing_token"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    old_style = await client.get(URL, params={"user": "web-123"})
    assert old_style.status_code == 422 and old_style.json()["error"] == "user_not_supported"
    for header in ("Basic abc", "Bearer", "Bearer short", "Bearer " + "x" * 40 + " y"):
        response = await client.get(URL, headers={"Authorization": header})
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"


async def test_chat_page_is_served_and_renders_text_safely(client: httpx.AsyncClient) -> None:
    response = await client.get("/chat")
    assert response.status_code == 200
    page = response.text
    assert "/channels/web/messages" in page
    assert "innerHTML" not in page  # replies are inserted with textContent only
    assert 'lang="en"' in page and "Envoyer" in page
    # The conversation lives in this tab only; the quick exit and its destination are there.
    assert "sessionStorage" in page and "localStorage.setItem" not in page
    assert "Leave now / Quitter" in page
    assert '<meta name="exit-url" content="https://www.google.com/">' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
