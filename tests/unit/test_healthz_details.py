"""/healthz under `intake run` / `intake serve`: the process details (pids, models, exit codes)
are shown to a request from this machine only, never through a proxy or to the internet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.runtime.health import StackHealth
from bot.store import migrate
from tests.helpers import FakeRasa, echo_answer, make_settings


class FixedHealth(StackHealth):
    async def report(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {"state": "up", "pid": 4242, "model": "m.tar.gz", "restarts": 1, "last_exit": -9},
            {"state": "up", "pid": 4343, "restarts": 0, "last_exit": None},
        )


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.mark.parametrize(
    ("peer", "headers", "detailed"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, False),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, False),
        ("203.0.113.9", {}, False),
    ],
)
async def test_process_details_only_for_this_machine(
    tmp_path: Path, fake_rasa: FakeRasa, peer: str, headers: dict[str, str], detailed: bool
) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", fake_rasa.url)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    app = create_app(settings, run_worker=False, stack_health=FixedHealth(settings, "m.tar.gz"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            answer = await client.get("/healthz", headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["rasa"]["state"] == "up" and body["action_server"]["state"] == "up"
    assert ("pid" in body["rasa"]) is detailed
    assert ("pid" in body["action_server"]) is detailed
    assert ("4242" in answer.text) is detailed
