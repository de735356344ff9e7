"""The conversation engine: a Rasa server reached over HTTP (nothing here imports ``rasa``).

Rasa runs in its own Python 3.10 environment (see ``bot/runtime``). The app talks to its REST
channel and passes the conversation language as message metadata; the action server copies it
into the ``language`` slot so that responses pick their English or French variation.

Exactly once into Rasa: the metadata also carries the app's own message id
(``APP_MESSAGE_ID``), which Rasa keeps on the user event of its tracker. Before handing Rasa a
message again that it may already have (the app died after sending it), the app reads the tracker
(``replies_in_tracker``): if the message is there, its replies are taken from the bot events that
followed it instead of sending it twice (a half-filled form would take the answer twice).
"""

from __future__ import annotations

import logging
import time
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


# The key of the app's message id in the metadata sent to Rasa (kept on Rasa's user event).
APP_MESSAGE_ID = "app_message_id"


class AnswerInProgress(EngineUnavailable):
    """Rasa has the message but has not finished answering it (its tracker does not yet show
    the ``action_listen`` that ends the turn): try again later, do not send it again."""


# A turn with no ``action_listen`` this long after its last event is taken as it is (Rasa stopped
# in the middle of it, or ended it some other way): a retry never waits on it for ever.
TURN_SETTLED_SECONDS = 120.0


def replies_after(
    events: list[Any], app_message_id: str, now: float | None = None
) -> list[Reply] | None:
    """The bot replies Rasa gave to the user event carrying ``app_message_id``, from tracker
    events; None when no user event carries it. Raises ``AnswerInProgress`` when the turn is not
    finished (no ``action_listen`` yet, and its last event is recent)."""
    start = None
    for index, event in enumerate(events):
        if (
            isinstance(event, dict)
            and event.get("event") == "user"
            and str((event.get("metadata") or {}).get(APP_MESSAGE_ID)) == app_message_id
        ):
            start = index  # the last one, should Rasa somehow hold it twice
    if start is None:
        return None
    bot: list[dict[str, Any]] = []
    for event in events[start + 1 :]:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        if kind == "user":
            break  # the next turn began: this one is complete
        if kind == "bot":
            data = event.get("data") or {}
            bot.append({"text": event.get("text"), "buttons": data.get("buttons")})
        elif kind == "action" and event.get("name") == "action_listen":
            return parse_rasa_replies(bot)
    last = events[-1].get("timestamp") if isinstance(events[-1], dict) else None
    current = time.time() if now is None else now
    if isinstance(last, int | float) and current - last > TURN_SETTLED_SECONDS:
        return parse_rasa_replies(bot)
    raise AnswerInProgress("Rasa is still answering this message")


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

    async def replies_in_tracker(self, sender_id: str, app_message_id: str) -> list[Reply] | None:
        """The replies Rasa already gave to this message (None: Rasa never received it).

        Raises ``EngineUnavailable`` when the tracker cannot be read, ``AnswerInProgress`` when
        Rasa has the message but is still answering it."""
        try:
            response = await self._client.get(
                f"/conversations/{sender_id}/tracker",
                params={"include_events": "ALL", **self._api},
            )
        except httpx.HTTPError as exc:
            raise EngineUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        try:
            events = response.json().get("events") or []
        except (ValueError, AttributeError) as exc:
            raise EngineUnavailable("invalid tracker from Rasa") from exc
        return replies_after(events if isinstance(events, list) else [], app_message_id)

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
