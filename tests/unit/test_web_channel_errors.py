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
        (b'{"text": "hi"}', 422, "invalid_user"),
        (b'{"user": "", "text": "hi"}', 422, "invalid_user"),
        (b'{"user": "a b", "text": "hi"}', 422, "invalid_user"),
        (b'{"user": "u"}', 422, "invalid_text"),
        (b'{"user": "u", "text": 5}', 422, "invalid_text"),
        (b'{"user": "u", "text": "   "}', 422, "empty_text"),
        (b'{"user": "u", "text": "hi", "id": {"x": 1}}', 422, "invalid_id"),
    ],
)
async def test_bad_requests(client: httpx.AsyncClient, body: bytes, status: int, code: str) -> None:
    response = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json()["error"] == code
    assert response.json()["message"]


async def test_text_too_long(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"user": "u", "text": "x" * 2001})
    assert response.status_code == 422
    assert response.json() == {
        "error": "text_too_long",
        "message": '"text" must be at most 2000 characters.',
    }


async def test_body_too_large(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, content=b"x" * (65 * 1024))
    assert response.status_code == 413


async def test_poll_needs_a_valid_user(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"user": "bad user"})
    assert response.status_code == 422


async def test_chat_page_is_served_and_renders_text_safely(client: httpx.AsyncClient) -> None:
    response = await client.get("/chat")
    assert response.status_code == 200
    page = response.text
    assert "/channels/web/messages" in page
    assert "innerHTML" not in page  # replies are inserted with textContent only
    assert 'lang="en"' in page and "Envoyer" in page
