"""The channel simulator behind ``/chat``: how replies look on SMS and on Telegram.

    POST /channels/preview  {"channel": "sms" | "telegram", "language": "en" | "fr",
                             "replies": [{"text": "...", "buttons": [{"title", "payload"}]}]}
      -> 200 {"messages": [{"text": "...", "encoding": "GSM-7", "segments": 1,
                            "keyboard": [[{"text": "...", "callback_data": "..."}]]}]}

It calls the channels' own renderers, so content editors see exactly what would be sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot import sms as sms_cost
from bot.channels import sms, telegram
from bot.engine import Button, Reply

router = APIRouter(prefix="/channels", tags=["simulator"])
MAX_REPLIES = 20


def _error(message: str) -> JSONResponse:
    return JSONResponse(status_code=422, content={"error": "invalid_preview", "message": message})


def _replies(raw: Any) -> list[Reply] | None:
    if not isinstance(raw, list) or len(raw) > MAX_REPLIES:
        return None
    replies = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            return None
        buttons = item.get("buttons") or []
        if not isinstance(buttons, list):
            return None
        replies.append(
            Reply(
                item.get("text", ""),
                tuple(
                    Button(str(b.get("title", "")), str(b.get("payload", "")))
                    for b in buttons
                    if isinstance(b, dict)
                ),
            )
        )
    return replies


@router.post("/preview")
async def preview(request: Request) -> JSONResponse:
    try:
        data = await request.json()
    except ValueError:
        return _error("The body must be JSON.")
    if not isinstance(data, dict):
        return _error("The body must be a JSON object.")
    channel, language = data.get("channel"), data.get("language", "en")
    replies = _replies(data.get("replies"))
    if channel not in ("sms", "telegram") or language not in ("en", "fr") or replies is None:
        return _error('Send {"channel": "sms"|"telegram", "language": "en"|"fr", "replies": [...]}')
    messages: list[dict[str, Any]] = []
    for reply in replies:
        if channel == "sms":
            max_segments = request.app.state.settings.sms_max_segments
            for part in sms.render(reply, language, max_segments):
                cost = sms_cost.cost(part.text)
                messages.append(
                    {"text": part.text, "encoding": cost.encoding, "segments": cost.segments}
                )
        else:
            for part in telegram.render(reply):
                keyboard = (part.extra or {}).get("keyboard", [])
                messages.append({"text": part.text, "keyboard": keyboard})
    return JSONResponse({"messages": messages})
