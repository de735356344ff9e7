"""What ``/healthz`` says about Rasa and the action server (``intake run`` and ``intake serve``).

Answering is not enough: the Rasa the app reaches must accept the app's token (a Rasa left over
from an earlier run, or anybody else's, has another one) and have the expected model loaded
(``RASA_MODEL``, else the model of the current training inputs); under ``intake run`` the
processes listening on Rasa's and the action server's ports must also be the ones it started
(``Supervisor.owns_listener``). States:

- ``up``: answers, is ours, has the expected model (Rasa);
- ``starting`` / ``restarting``: the supervisor is (re)starting it (``restarts`` counts);
- ``down``: nothing answers (or an error status);
- ``not_ours``: something answers, but not the process started here, or it refuses our token;
- ``wrong_model``: Rasa answers with another model than the expected one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bot.engine import api_params
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.runtime.supervisor import Supervisor


# A fresh connection per check: one kept from before a restart would fail once.
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


class StackHealth:
    def __init__(
        self, settings: Settings, expected_model: str, supervisor: Supervisor | None = None
    ) -> None:
        self.settings = settings
        self.expected_model = expected_model
        self.supervisor = supervisor
        # One client for every check (making one costs ~0.1 s of CPU: its TLS context).
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _managed(self, name: str, info: dict[str, Any]) -> str | None:
        """Fill in the supervisor's view; a state that needs no probe, or None."""
        if self.supervisor is None:
            return None
        child = self.supervisor.status(name)
        info.update(pid=child.pid, restarts=child.restarts, last_exit=child.last_exit)
        return child.state if child.state in ("starting", "restarting", "stopped") else None

    async def _is_ours(self, name: str) -> bool:
        if self.supervisor is None:
            return True
        return await asyncio.to_thread(self.supervisor.owns_listener, name) is not False

    async def rasa(self, client: httpx.AsyncClient) -> dict[str, Any]:
        info: dict[str, Any] = {
            "state": "down",
            "managed": self.supervisor is not None,
            "model": None,
            "model_id": None,
            "expected_model": self.expected_model,
        }
        if state := self._managed("rasa", info):
            info["state"] = state
            return info
        try:
            response = await client.get(
                f"{self.settings.rasa_url}/status", params=api_params(self.settings.rasa_auth_token)
            )
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return info
        if response.status_code in (401, 403):
            info["state"] = "not_ours"  # it refuses our token: not the Rasa we started/set
            return info
        if not isinstance(body, dict) or not body.get("model_file"):
            return info
        info["model"] = Path(str(body["model_file"])).name
        info["model_id"] = body.get("model_id")
        if not await self._is_ours("rasa"):
            info["state"] = "not_ours"
        elif info["model"] != self.expected_model:
            info["state"] = "wrong_model"
        else:
            info["state"] = "up"
        return info

    async def action_server(self, client: httpx.AsyncClient) -> dict[str, Any]:
        info: dict[str, Any] = {"state": "down", "managed": self.supervisor is not None}
        if state := self._managed("actions", info):
            info["state"] = state
            return info
        try:
            response = await client.get(f"{self.settings.action_server_url}/health")
        except httpx.HTTPError:
            return info
        if response.status_code == 200:
            info["state"] = "up" if await self._is_ours("actions") else "not_ours"
        return info

    async def report(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=3.0, limits=NO_KEEPALIVE)
        rasa, actions = await asyncio.gather(
            self.rasa(self._client), self.action_server(self._client)
        )
        return rasa, actions
