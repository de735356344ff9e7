"""The web chat's conversation credential (issue 12, item 1), on SQLite and PostgreSQL: the
server issues a random token with the first message, later calls send it as a Bearer header
(never in a URL), the database keeps only its keyed hash, a name of the page's choosing reads
nothing, one person's token never reads another's replies, an erased conversation's token is
refused, and every answer says ``Cache-Control: no-store``."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bot.settings import WEB_TOKEN_SECRET_FILE
from bot.store.models import Contact, Conversation, Message
from tests.helpers import (
    TEST_WEB_TOKEN_SECRET,
    WEB,
    FakeRasa,
    echo_answer,
    make_settings,
    rows,
    running_app,
    web_poll,
    web_post,
    web_token,
)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(tmp_path, database_url, fake_rasa.url)) as c:
        yield c


def assert_private(response: httpx.Response) -> None:
    assert response.headers["Cache-Control"] == "no-store", response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer", response.headers


async def test_the_server_issues_the_token_and_stores_only_its_keyed_hash(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post(WEB, json={"text": "hello", "id": "m1"})
    assert first.status_code == 200, first.text
    assert_private(first)
    body = first.json()
    token = body["token"]
    # token_urlsafe(32): 256 random bits, 43 URL-safe characters.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert isinstance(body["cursor"], int) and body["cursor"] > 0
    assert [r["text"] for r in body["replies"]] == ["en: hello"]

    auth = {"Authorization": f"Bearer {token}"}
    second = await client.post(WEB, json={"text": "and again"}, headers=auth)
    assert second.status_code == 200 and "token" not in second.json()
    assert second.json()["cursor"] > body["cursor"]

    [contact] = await rows(client, Contact)
    expected = hmac.new(TEST_WEB_TOKEN_SECRET.encode(), token.encode(), hashlib.sha256)
    assert contact.channel == "web" and contact.address == expected.hexdigest()
    assert len(await rows(client, Conversation)) == 1  # the token continued the conversation
    # The token itself is nowhere in the database: not the address, not a message id.
    for message in await rows(client, Message):
        assert token not in (message.channel_message_id or "")
        assert token not in message.text


async def test_a_name_a_made_up_token_or_a_url_parameter_reads_nothing(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    first = await web_post(client, "maria", "my name is Maria")
    token = first.json()["token"]
    # The old contract: a "user" chosen by the page. Refused, and nothing stored.
    old = await client.post(WEB, json={"user": "web-123", "text": "hi"})
    assert old.status_code == 422 and old.json()["error"] == "user_not_supported"
    assert_private(old)
    old_poll = await client.get(WEB, params={"user": "web-123", "after": "0"})
    assert old_poll.status_code == 422 and old_poll.json()["error"] == "user_not_supported"
    # A well-formed token the server never issued: 401 on both routes, nothing stored.
    made_up = {"Authorization": "Bearer " + "A" * 43}
    for response in (
        await client.post(WEB, json={"text": "hi"}, headers=made_up),
        await client.get(WEB, params={"after": "0"}, headers=made_up),
    ):
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert_private(response)
    # The real token in the URL is not a credential: only the header is.
    in_url = await client.get(WEB, params={"after": "0", "token": token})
    assert in_url.status_code == 401 and in_url.json()["error"] == "missing_token"
    assert len(await rows(client, Contact)) == 1
    assert len(fake_rasa.received) == 1


async def test_one_token_reads_its_own_conversation_only_and_never_the_history_asked_for(
    client: httpx.AsyncClient,
) -> None:
    maria = (await web_post(client, "maria", "my name is Maria")).json()
    await web_post(client, "sam", "my name is Sam")
    mine = await web_poll(client, "maria", 0)
    assert mine.status_code == 200
    assert_private(mine)
    assert [r["text"] for r in mine.json()["replies"]] == ["en: my name is Maria"]
    # The page polls after the message it sent: the reply it already has, then nothing older.
    after_cursor = await web_poll(client, "maria", maria["cursor"])
    assert [r["text"] for r in after_cursor.json()["replies"]] == ["en: my name is Maria"]
    last = maria["replies"][-1]["id"]
    assert (await web_poll(client, "maria", last)).json() == {"replies": []}
    theirs = await web_poll(client, "sam", 0)
    assert [r["text"] for r in theirs.json()["replies"]] == ["en: my name is Sam"]


async def test_an_erased_conversation_s_token_is_refused(client: httpx.AsyncClient) -> None:
    await web_post(client, "leaver", "hello")
    asked = await web_post(client, "leaver", "DELETE")
    assert [b["payload"] for b in asked.json()["replies"][0]["buttons"]] == [
        "/delete_confirm",
        "/delete_cancel",
    ]
    assert (await web_post(client, "leaver", "/delete_confirm")).status_code == 200
    assert await rows(client, Contact) == []
    again = await web_post(client, "leaver", "hello again")
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    assert (await web_poll(client, "leaver")).status_code == 401
    # The page then starts a new conversation without the token: a new token, a new contact.
    fresh = await client.post(WEB, json={"text": "hello again"})
    assert fresh.status_code == 200 and fresh.json()["token"] != web_token(client, "leaver")


async def test_the_secret_is_made_once_kept_0600_and_survives_a_restart(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    settings = replace(make_settings(tmp_path, database_url, fake_rasa.url), web_token_secret="")
    secret_file = tmp_path / WEB_TOKEN_SECRET_FILE
    async with running_app(settings) as first_run:
        token = (await first_run.post(WEB, json={"text": "hello"})).json()["token"]
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    secret = secret_file.read_text()
    assert len(secret) >= 43
    if database_url.startswith("sqlite"):  # the key is kept apart from what it protects
        assert secret.encode() not in (tmp_path / "intake.db").read_bytes()
    async with running_app(settings) as second_run:
        auth = {"Authorization": f"Bearer {token}"}
        again = await second_run.post(WEB, json={"text": "still me"}, headers=auth)
        assert again.status_code == 200, again.text
        assert len(await rows(second_run, Conversation)) == 1
    assert secret_file.read_text() == secret


async def test_the_openapi_schema_documents_the_token_contract(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    post = schema["paths"][WEB]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "id"} and body["required"] == ["text"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    out = schema["components"]["schemas"][ok.rsplit("/", 1)[-1]]
    assert {"token", "cursor", "replies", "duplicate"} <= set(out["properties"])
    assert {"401", "422", "429"} <= set(post["responses"])
    get = schema["paths"][WEB]["get"]
    assert [p["name"] for p in get["parameters"]] == ["after"]  # no user, no token in the URL
    schemes = schema["components"]["securitySchemes"]
    assert any(s == {"type": "http", "scheme": "bearer", "description": s.get("description")}
               for s in schemes.values())  # fmt: skip
    assert post["security"] and get["security"]
