"""Web chat channel: a small JSON API that a program website can embed (and the tests use).

    POST /channels/web/messages  {"user": "<opaque id>", "text": "<message>", "id": "<optional>"}
      -> 200 {"replies": [{"id": 12, "text": "...",
                           "buttons": [{"title": "...", "payload": "..."}]}]}
    GET  /channels/web/messages?user=<opaque id>&after=<last reply id>
      -> 200 {"replies": [...]}   replies sent later (e.g. after the assistant was unavailable)

A button press is sent back as ``"text": "<payload>"``. ``id`` is the page's own id for the
message: a retried POST with the same id is answered with the same replies, never processed twice.

Abuse (docs/security.md): both routes are rate-limited per client address and per ``user``
(``RATE_LIMIT_WEB_*``); a contact request ("HUMAN", the person button) that would create a
referral without an intake also counts against a per-address quota, so a script cannot bury
real referrals under fake ones (they are also marked ``unverified_web``: ``bot/referrals.py``).
A refused request gets 429, ``Retry-After`` and a message the page shows.

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

from bot import keywords, referrals
from bot.channels.base import storable
from bot.conversation import HUMAN_PAYLOAD, ConversationService, InboundMessage, StoredReply
from bot.http_guard import client_address, json_error, too_many_requests
from bot.i18n import both, t
from bot.ratelimit import RateLimits

CHANNEL = "web"
MAX_BODY_BYTES = 64 * 1024
# Message ids are INTEGER columns (32 bits on PostgreSQL): a larger "after" asks for nothing
# newer, and must not reach the database as a number it cannot compare.
MAX_REPLY_ID = 2**31 - 1
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
# Joins the user and the page's id into the channel message id: not in the id alphabet, so
# ("a:b", "c") and ("a", "b:c") can never share a key (and so never each other's replies).
_ID_SEPARATOR = "/"

router = APIRouter(prefix="/channels/web", tags=["web chat"])


def error(status: int, code: str, message: str) -> JSONResponse:
    return json_error(status, code, message)


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


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def parse(body: bytes, max_chars: int) -> InboundMessage | WebError:
    """A POST body -> the app's message, or what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        return WebError(413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..." deep
        return WebError(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return WebError(400, "invalid_json", 'Send a JSON object: {"user": "...", "text": "..."}.')
    user, text, client_id = data.get("user"), data.get("text"), data.get("id")
    if not valid_id(user):
        return WebError(
            422, "invalid_user", '"user" must be a string of 1-100 letters, digits or "_.:-".'
        )
    if not isinstance(text, str):
        return WebError(422, "invalid_text", '"text" is required and must be a string.')
    if not text.strip():
        return WebError(422, "empty_text", '"text" must not be empty.')
    if len(text) > max_chars:
        return WebError(422, "text_too_long", f'"text" must be at most {max_chars} characters.')
    if client_id is not None and not valid_id(client_id):
        return WebError(
            422, "invalid_id", '"id" must be a string of 1-100 letters, digits or "_.:-".'
        )
    message_id = _ID_SEPARATOR.join((user, client_id or uuid.uuid4().hex))
    # NUL and lone surrogates ("\ud800" in JSON) cannot be stored: replaced, the rest is kept.
    return InboundMessage(
        channel=CHANNEL, address=user, channel_message_id=message_id, text=storable(text)
    )


def _limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


async def _rate_limited(request: Request, kind: str, user: str) -> JSONResponse | None:
    """Per client address, then per conversation (``user``); a 429 when either is used up."""
    limits = _limits(request)
    for rule, identifier in (
        (f"web_{kind}_address", client_address(request)),
        (f"web_{kind}_conversation", user),
    ):
        decision = await limits.hit(rule, identifier)
        if not decision.allowed:
            return too_many_requests(decision.retry_after, both("rate_limited"))
    return None


def is_contact_request(text: str) -> bool:
    """HUMAN / HUMAIN / AGENT or the person button: what creates a contact request at once."""
    stripped = text.strip()
    found = keywords.match(stripped, CHANNEL)
    return stripped == HUMAN_PAYLOAD or (
        found is not None and found.keyword == keywords.Keyword.HUMAN
    )


async def _contact_quota(request: Request, msg: InboundMessage) -> JSONResponse | None:
    """A contact request that would create a referral without an intake counts against the
    client address's quota (``RATE_LIMIT_WEB_CONTACT_ADDRESS``)."""
    if not is_contact_request(msg.text):
        return None
    async with request.app.state.sessions() as s:
        quota = await s.run_sync(
            lambda sync: referrals.contact_request_quota(sync, CHANNEL, msg.address)
        )
    if not quota.counts:
        return None
    decision = await _limits(request).hit("web_contact_address", client_address(request))
    if decision.allowed:
        return None
    if quota.language in ("en", "fr"):
        message = t("contact_rate_limited", quota.language)  # type: ignore[arg-type]
    else:
        message = both("contact_rate_limited")
    return too_many_requests(decision.retry_after, message)


@router.post("/messages")
async def post_message(request: Request) -> JSONResponse:
    parsed = parse(await request.body(), request.app.state.settings.max_text_chars)
    if isinstance(parsed, WebError):
        return error(parsed.status, parsed.code, parsed.message)
    refused = await _rate_limited(request, "post", parsed.address) or await _contact_quota(
        request, parsed
    )
    if refused is not None:
        return refused
    outcome = await _service(request).receive(parsed)
    return JSONResponse({"replies": render(outcome.replies), "duplicate": outcome.duplicate})


@router.get("/messages")
async def poll_messages(request: Request, user: str = "", after: str = "0") -> JSONResponse:
    if not valid_id(user):
        return error(
            422, "invalid_user", '"user" must be a string of 1-100 letters, digits or "_.:-".'
        )
    if not re.fullmatch(r"-?[0-9]{1,30}", after):
        return error(422, "invalid_after", '"after" must be the id of a reply (a whole number).')
    refused = await _rate_limited(request, "poll", user)
    if refused is not None:
        return refused
    after_id = min(max(int(after), 0), MAX_REPLY_ID)
    replies = await _service(request).outbound_after(CHANNEL, user, after_id)
    return JSONResponse({"replies": render(replies)})
