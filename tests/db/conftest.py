"""Fixtures shared by the database tests of the web message path (SQLite and PostgreSQL): a
fake Rasa that echoes "<language>: <message>", and the real app in front of it. Modules that
need another fake (SMS, Telegram, the caseworker pages) define their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import FakeRasa, fake_rasa_running, make_settings, running_app


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    with fake_rasa_running() as rasa:
        yield rasa


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(make_settings(tmp_path, database_url, fake_rasa.url)) as c:
        yield c
