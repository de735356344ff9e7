"""The conversation engine: a Rasa server reached over HTTP (nothing here imports ``rasa``).

Rasa runs in its own Python 3.10 environment (see ``bot/runtime``). The app talks to its REST
channel and passes the conversation language as message metadata; the action server copies it
into the ``language`` slot so that responses pick their English or French variation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)


class EngineUnavailable(Exception):
    """Rasa did not answer (down, starting, timing out or failing). The message must be kept."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One channel-neutral reply; each channel renders it (numbered options, keyboards...)."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)

    def to_payload(self) -> dict[str, Any] | None:
        if not self.buttons:
            return None
        return {"buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons]}

    @classmethod
    def from_stored(cls, text: str, payload: dict[str, Any] | None) -> Reply:
        buttons = tuple(
            Button(b["title"], b["payload"]) for b in (payload or {}).get("buttons", [])
        )
        return cls(text=text, buttons=buttons)


def parse_rasa_replies(body: Any) -> list[Reply]:
    """Rasa's REST channel answers a JSON list of bot messages; keep text and buttons."""
    if not isinstance(body, list):
        raise EngineUnavailable("unexpected response shape from Rasa")
    replies: list[Reply] = []
    for item in body:
        if not isinstance(item, dict):
            continue
        text = str(item.get("text") or "")
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in item.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")
        )
        if text or buttons:
            replies.append(Reply(text=text, buttons=buttons))
    return replies


def api_params(auth_token: str) -> dict[str, str]:
    """Query parameters for Rasa's HTTP API (tracker, /status, /model/parse), which
    ``rasa run --auth-token`` protects; its REST channel (/webhooks/rest/webhook) is not."""
    return {"token": auth_token} if auth_token else {}


class RasaEngine:
    def __init__(self, base_url: str, timeout_seconds: float, *, auth_token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        # Connect fails fast (Rasa down); reading allows for a slow action server.
        timeout = httpx.Timeout(timeout_seconds, connect=min(3.0, timeout_seconds))
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._api = api_params(auth_token)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any]) -> list[Reply]:
        try:
            response = await self._client.post(
                "/webhooks/rest/webhook",
                json={"sender": sender_id, "message": text, "metadata": metadata},
            )
        except httpx.HTTPError as exc:
            log.warning("engine unreachable: %s", type(exc).__name__)
            raise EngineUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            log.warning("engine answered HTTP %s", response.status_code)
            raise EngineUnavailable(f"HTTP {response.status_code}")
        try:
            return parse_rasa_replies(response.json())
        except ValueError as exc:
            raise EngineUnavailable("invalid JSON from Rasa") from exc

    async def stop_form(self, sender_id: str) -> None:
        """End any form in progress in this conversation (after a crisis the app answered
        itself). Appends events to the tracker through Rasa's HTTP API; the answers saved in the
        app's store stay, so the person can continue later. Raises ``EngineUnavailable``."""
        events = [
            {"event": "active_loop", "name": None},
            {"event": "slot", "name": "requested_slot", "value": None},
            {"event": "slot", "name": "intake_stage", "value": None},
            {"event": "slot", "name": "intake_reask", "value": None},
        ]
        try:
            response = await self._client.post(
                f"/conversations/{sender_id}/tracker/events",
                params={"include_events": "NONE", **self._api},
                json=events,
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")

    async def is_ready(self) -> bool:
        """True when Rasa answers and has a model loaded."""
        try:
            response = await self._client.get("/status", params=self._api, timeout=3.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            return bool(response.json().get("model_file"))
        except ValueError:
            return False
