"""The channel simulator behind ``/chat``: how replies look on SMS, WhatsApp and Telegram.

    POST /channels/preview  {"channel": "sms" | "whatsapp" | "telegram", "language": "en" | "fr",
                             "replies": [{"text": "...", "buttons": [{"title", "payload"}]}]}
      -> 200 {"messages": [{"text": "...", "encoding": "GSM-7", "segments": 1,
                            "keyboard": [[{"text": "...", "callback_data": "..."}]]}]}

(SMS parts carry ``encoding`` and ``segments``, WhatsApp parts ``chars``, Telegram parts
``keyboard``.)

It calls the channels' own renderers, so content editors see exactly what would be sent.

Bounded work (docs/security.md): the route exists only when the operator turns it on
(``PREVIEW_ENABLED``; on by default for a local run on loopback without ``PUBLIC_BASE_URL``),
is rate-limited per client address, takes at most ``MAX_REPLIES`` replies of at most
``MAX_TEXT_CHARS`` characters and ``MAX_BUTTONS`` buttons each, and renders in a worker thread
(the splitter is linear, but the event loop serves every webhook and must never wait on it).

TODO(lead, issue 13 part 2): let signed-in caseworkers use it when it is off (needs the
caseworker app's session check, bot/caseworker/).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot import sms as sms_cost
from bot.channels import sms, telegram, whatsapp
from bot.channels.base import storable
from bot.engine import Button, Reply
from bot.http_guard import client_address, json_error, too_many_requests
from bot.i18n import both

router = APIRouter(prefix="/channels", tags=["simulator"])
MAX_REPLIES = 20
MAX_BUTTONS = 10
CHANNELS = ("sms", "whatsapp", "telegram")


def _error(message: str) -> JSONResponse:
    return json_error(422, "invalid_preview", message)


def _replies(raw: Any, max_chars: int) -> list[Reply] | None:
    if not isinstance(raw, list) or len(raw) > MAX_REPLIES:
        return None
    replies = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            return None
        if len(item.get("text", "")) > max_chars:
            return None
        buttons = item.get("buttons") or []
        if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
            return None
        replies.append(
            Reply(  # lone surrogates cannot be encoded in the answer: replaced, like everywhere
                storable(item.get("text", "")),
                tuple(
                    Button(storable(str(b.get("title", ""))), storable(str(b.get("payload", ""))))
                    for b in buttons
                    if isinstance(b, dict)
                ),
            )
        )
    return replies


def render(channel: str, language: str, replies: list[Reply], max_segments: int) -> list[dict]:
    """The messages ``replies`` become on ``channel`` (CPU only: run it in a worker thread)."""
    messages: list[dict[str, Any]] = []
    for reply in replies:
        if channel == "sms":
            for part in sms.render(reply, language, max_segments):  # type: ignore[arg-type]
                cost = sms_cost.cost(part.text)
                messages.append(
                    {"text": part.text, "encoding": cost.encoding, "segments": cost.segments}
                )
        elif channel == "whatsapp":
            for part in whatsapp.render(reply, language):  # type: ignore[arg-type]
                messages.append({"text": part.text, "chars": len(part.text)})
        else:
            for part in telegram.render(reply):
                keyboard = (part.extra or {}).get("keyboard", [])
                messages.append({"text": part.text, "keyboard": keyboard})
    return messages


@router.post("/preview")
async def preview(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.preview_enabled:
        return json_error(
            404, "preview_disabled", "The channel preview is off (PREVIEW_ENABLED=false)."
        )
    decision = await request.app.state.rate_limits.hit("preview_address", client_address(request))
    if not decision.allowed:
        return too_many_requests(decision.retry_after, both("rate_limited"))
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error("The body must be JSON.")
    if not isinstance(data, dict):
        return _error("The body must be a JSON object.")
    channel, language = data.get("channel"), data.get("language", "en")
    replies = _replies(data.get("replies"), settings.max_text_chars)
    if channel not in CHANNELS or language not in ("en", "fr") or replies is None:
        return _error(
            'Send {"channel": "sms"|"whatsapp"|"telegram", "language": "en"|"fr", '
            '"replies": [...]}: at most '
            f"{MAX_REPLIES} replies of at most {settings.max_text_chars} characters and "
            f"{MAX_BUTTONS} buttons each."
        )
    messages = await asyncio.to_thread(
        render, channel, language, replies, settings.sms_max_segments
    )
    return JSONResponse({"messages": messages})
