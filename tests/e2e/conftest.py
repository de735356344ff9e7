"""The real stack for end-to-end tests: a trained Rasa 3.6 server, the real action server, and
the app in-process. Started once per test session on free ports with a fresh SQLite database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest

from bot.runtime import training
from bot.runtime.services import Services
from bot.settings import Settings
from tests.helpers import free_port, make_settings, running_app, web_address, web_post


@dataclass
class Stack:
    settings: Settings
    services: Services
    client: httpx.AsyncClient


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("e2e")
    rasa_port = free_port()
    settings = make_settings(
        data_dir, f"sqlite:///{data_dir / 'intake.db'}", f"http://127.0.0.1:{rasa_port}"
    )
    return replace(
        settings,
        rasa_port=rasa_port,
        actions_port=free_port(),
        rasa_tracker_db_url=f"sqlite:///{data_dir / 'rasa-tracker.db'}",
        retry_interval_seconds=0.5,
        rasa_timeout_seconds=20.0,
    )


@pytest.fixture(scope="session")
def services(stack_settings: Settings) -> Iterator[Services]:
    model = training.ensure_model(Settings.from_env().model_dir)
    services = Services(stack_settings, model, stack_settings.data_dir / "logs")
    services.start()
    try:
        services.wait_ready()
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
async def stack(stack_settings: Settings, services: Services) -> AsyncIterator[Stack]:
    async with running_app(stack_settings) as client:
        yield Stack(stack_settings, services, client)


class Chat:
    """One person talking to the assistant through POST /channels/web/messages."""

    def __init__(self, client: httpx.AsyncClient, user: str) -> None:
        self.client = client
        self.user = user

    @property
    def address(self) -> str:
        """The web contact's address: the keyed hash of the token the server issued."""
        return web_address(self.user)

    async def say(self, text: str) -> list[dict]:
        response = await web_post(self.client, self.user, text)
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    async def text(self, text: str) -> str:
        return " ".join(r["text"] for r in await self.say(text))


@pytest.fixture
def chat(stack: Stack) -> Chat:
    return Chat(stack.client, f"e2e-{uuid.uuid4().hex}")
