"""Web chat channel: a small JSON API that a program website can embed (and the tests use).

    POST /channels/web/messages  {"user": "<opaque id>", "text": "<message>", "id": "<optional>"}
      -> 200 {"replies": [{"id": 12, "text": "...",
                           "buttons": [{"title": "...", "payload": "..."}]}]}
    GET  /channels/web/messages?user=<opaque id>&after=<last reply id>
      -> 200 {"replies": [...]}   replies sent later (e.g. after the assistant was unavailable)

A button press is sent back as ``"text": "<payload>"``. ``id`` is the page's own id for the
message: a retried POST with the same id is answered with the same replies, never processed twice.

Same shape as the other channels (``bot/channels/base.py``): verify (here: the body is a valid
request; there is no signature on a public page), ``parse``, ``render``. Unlike SMS and Telegram
it is a pull channel: replies travel in the response (or the poll), not through the outbox.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.conversation import ConversationService, InboundMessage, StoredReply

CHANNEL = "web"
MAX_BODY_BYTES = 64 * 1024
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")

router = APIRouter(prefix="/channels/web", tags=["web chat"])


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": code, "message": message})


def render(replies: list[StoredReply]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "text": r.reply.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in r.reply.buttons],
        }
        for r in replies
    ]


def _service(request: Request) -> ConversationService:
    return request.app.state.conversations


@dataclass(frozen=True)
class WebError:
    status: int
    code: str
    message: str


def parse(body: bytes, max_chars: int) -> InboundMessage | WebError:
    """A POST body -> the app's message, or what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        return WebError(413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return WebError(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return WebError(400, "invalid_json", 'Send a JSON object: {"user": "...", "text": "..."}.')
    user, text, client_id = data.get("user"), data.get("text"), data.get("id")
    if not isinstance(user, str) or not _ID.match(user):
        return WebError(
            422, "invalid_user", '"user" must be a string of 1-100 letters, digits or "_.:-".'
        )
    if not isinstance(text, str):
        return WebError(422, "invalid_text", '"text" is required and must be a string.')
    if not text.strip():
        return WebError(422, "empty_text", '"text" must not be empty.')
    if len(text) > max_chars:
        return WebError(422, "text_too_long", f'"text" must be at most {max_chars} characters.')
    if client_id is not None and (not isinstance(client_id, str) or not _ID.match(client_id)):
        return WebError(
            422, "invalid_id", '"id" must be a string of 1-100 letters, digits or "_.:-".'
        )
    message_id = f"{user}:{client_id}" if client_id else f"{user}:{uuid.uuid4().hex}"
    return InboundMessage(channel=CHANNEL, address=user, channel_message_id=message_id, text=text)


@router.post("/messages")
async def post_message(request: Request) -> JSONResponse:
    parsed = parse(await request.body(), request.app.state.settings.max_text_chars)
    if isinstance(parsed, WebError):
        return error(parsed.status, parsed.code, parsed.message)
    outcome = await _service(request).receive(parsed)
    return JSONResponse({"replies": render(outcome.replies), "duplicate": outcome.duplicate})


@router.get("/messages")
async def poll_messages(request: Request, user: str = "", after: int = 0) -> JSONResponse:
    if not _ID.match(user):
        return error(
            422, "invalid_user", '"user" must be a string of 1-100 letters, digits or "_.:-".'
        )
    replies = await _service(request).outbound_after(CHANNEL, user, max(after, 0))
    return JSONResponse({"replies": render(replies)})
