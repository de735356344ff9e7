"""Rasa's HTTP API behind the app's token, against the real Rasa 3.6 that ``intake run`` starts:
a call without the token (or with a wrong one) is refused, the app's own calls carry it, and the
token is not on Rasa's command line (every local user can read that)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.engine import RasaEngine
from bot.settings import RASA_TOKEN_FILE, read_rasa_token
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

PROTECTED = [
    ("GET", "/status"),
    ("GET", "/conversations/someone/tracker"),
    ("POST", "/conversations/someone/tracker/events"),
    ("GET", "/domain"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_rasa_refuses_its_api_without_the_token(stack: Stack, method: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=stack.settings.rasa_url, timeout=30) as rasa:
        for params in ({}, {"token": "not-the-token"}):
            response = await rasa.request(method, path, params=params, json={})
            assert response.status_code == 401, (method, path, response.text[:200])


async def test_the_token_opens_the_api_and_the_channel_needs_none(stack: Stack) -> None:
    token = {"token": stack.settings.rasa_auth_token}
    async with httpx.AsyncClient(base_url=stack.settings.rasa_url, timeout=30) as rasa:
        status = await rasa.get("/status", params=token)
        assert status.status_code == 200 and status.json()["model_file"]
        parsed = await rasa.post("/model/parse", params=token, json={"text": "hello"})
        assert parsed.status_code == 200 and parsed.json()["intent"]["name"]
        # The REST channel is what people's messages go through: no token there.
        reply = await rasa.post(
            "/webhooks/rest/webhook", json={"sender": "token-test", "message": "hello"}
        )
        assert reply.status_code == 200


async def test_the_app_calls_rasa_with_its_token(stack: Stack) -> None:
    health = await stack.client.get("/healthz")
    assert health.json()["engine"] == "ok"
    engine = RasaEngine(stack.settings.rasa_url, 30, auth_token=stack.settings.rasa_auth_token)
    try:
        await engine.stop_form("token-test")  # tracker events: raises unless Rasa accepts it
    finally:
        await engine.aclose()
    without = RasaEngine(stack.settings.rasa_url, 30)
    try:
        assert not await without.is_ready()
    finally:
        await without.aclose()


def test_the_token_is_not_on_the_command_line_and_is_shared_with_the_cli(stack: Stack) -> None:
    pid = stack.services.processes["rasa"].pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert "run" in cmdline and stack.settings.rasa_auth_token not in cmdline
    token_file = stack.settings.data_dir / RASA_TOKEN_FILE
    assert token_file.stat().st_mode & 0o077 == 0  # readable by this user only
    assert read_rasa_token(stack.settings.data_dir) == stack.settings.rasa_auth_token
