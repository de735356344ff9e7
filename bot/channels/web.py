"""Web chat channel: a small JSON API that a program website can embed (and the tests use).

    POST /channels/web/messages   {"text": "<message>", "id": "<optional>"}
         [Authorization: Bearer <token>]   (absent on the first message of a conversation)
      -> 200 {"token": "<new token>",      (only in the answer to a message sent without one)
              "cursor": 41,                (the id of the stored message: poll after it)
              "replies": [{"id": 42, "text": "...",
                           "buttons": [{"title": "...", "payload": "..."}]}],
              "duplicate": false}
    GET  /channels/web/messages?after=<last id seen>   Authorization: Bearer <token>
      -> 200 {"replies": [...]}   replies sent later (e.g. a caseworker's, or after Rasa was away)

**The token is the conversation's only credential** (issue 12: a shared library or shelter
computer). The server makes it (``secrets.token_urlsafe(32)``: 256 random bits) for a message
that comes without one and hands it over once, in the JSON body; later calls send it in the
``Authorization`` header, never in a URL (proxies and browser history keep URLs). The database
holds only its keyed hash (HMAC-SHA256 with ``WEB_TOKEN_SECRET``), which is the web contact's
address: a copy of the database does not let anyone continue or read a conversation. A token
the server never issued (or whose conversation was erased) gets 401 ``invalid_token``. The old
``user`` field is refused (422 ``user_not_supported``): a name of the page's choosing no longer
reads or continues anything. Every answer of these routes (and of ``/chat``) carries
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (``bot/app.py``).

A button press is sent back as ``"text": "<payload>"``. ``id`` is the page's own id for the
message: a retried POST with the same id (and token) is answered with the same replies, never
processed twice.

Abuse (docs/security.md): both routes are rate-limited per client address and per conversation
(``RATE_LIMIT_WEB_*``); a contact request ("HUMAN", the person button) that would create a
referral without an intake also counts against a per-address quota, so a script cannot bury
real referrals under fake ones (they are also marked ``unverified_web``: ``bot/referrals.py``).
A refused request gets 429, ``Retry-After`` and a message the page shows.

Same shape as the other channels (``bot/channels/base.py``): verify (here: the body is a valid
request and the token one we issued; there is no signature on a public page), ``parse``,
``render``. Unlike SMS and Telegram it is a pull channel: replies travel in the response (or the
poll), not through the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot import keywords, referrals
from bot.channels.base import storable
from bot.conversation import HUMAN_PAYLOAD, ConversationService, InboundMessage, StoredReply
from bot.http_guard import client_address, json_error, too_many_requests
from bot.i18n import both, t
from bot.ratelimit import RateLimits
from bot.store.models import Contact

CHANNEL = "web"
MAX_BODY_BYTES = 64 * 1024
# Message ids are INTEGER columns (32 bits on PostgreSQL): a larger "after" asks for nothing
# newer, and must not reach the database as a number it cannot compare.
MAX_REPLY_ID = 2**31 - 1
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
# What a token we issue looks like (token_urlsafe(32): 43 characters); a little room either way.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
TOKEN_BYTES = 32  # 256 bits
# Joins the conversation's key and the page's id into the channel message id: not in either
# alphabet, so two conversations can never share a key (and so never each other's replies).
_ID_SEPARATOR = "/"

router = APIRouter(prefix="/channels/web", tags=["web chat"])
# Documents the Authorization header in the OpenAPI schema; the routes read the header
# themselves so that a missing or wrong token gets the app's own JSON error.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="conversation token",
    description="The token from the answer to the conversation's first message.",
)

_GONE_MESSAGE = (
    "This conversation is no longer available: send your message again to start a new one. / "
    "Cette conversation n'est plus disponible : renvoyez votre message pour en commencer une "
    "nouvelle."
)
_USER_NOT_SUPPORTED = (
    '"user" is no longer accepted: send the first message without it, then the "token" from '
    'the answer as "Authorization: Bearer <token>".'
)


class WebTokens:
    """Issues conversation tokens and turns them into the contact's address (their keyed hash).

    The token itself is never stored or logged: the address is HMAC-SHA256(secret, token), so
    without the secret (``WEB_TOKEN_SECRET`` or its file, never in the database) a hash cannot
    even be checked against a guessed token."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the web token secret must be at least 32 characters")
        self._key = secret.encode()

    @staticmethod
    def issue() -> str:
        return secrets.token_urlsafe(TOKEN_BYTES)

    def address(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()


# -- the OpenAPI schema (the routes parse bodies themselves, for the app's own errors) ---------


class WebMessageIn(BaseModel):
    text: str = Field(description="the message, or a button's payload; at most MAX_TEXT_CHARS")
    id: str | None = Field(
        None,
        description="the page's own id for this message (1-100 of A-Z a-z 0-9 _ . : -): "
        "a repeated POST with the same id and token gets the same replies",
    )


class WebButton(BaseModel):
    title: str
    payload: str = Field(description='send it back as "text" when the button is pressed')


class WebReply(BaseModel):
    id: int = Field(description="the reply's id: poll with after=<the last id seen>")
    text: str
    buttons: list[WebButton]


class WebPostOut(BaseModel):
    token: str | None = Field(
        None,
        description="only in the answer to a message sent without a token: the new "
        "conversation's token (keep it in memory or sessionStorage, send it as "
        '"Authorization: Bearer <token>", never in a URL)',
    )
    cursor: int = Field(description="the id of the stored message: poll with after=<cursor>")
    replies: list[WebReply]
    duplicate: bool = Field(description="true when this id was already received")


class WebPollOut(BaseModel):
    replies: list[WebReply]


class WebErrorOut(BaseModel):
    error: str = Field(description="a stable code, e.g. invalid_token, rate_limited")
    message: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": WebErrorOut, "description": description}
    for status, description in (
        (400, "invalid_json"),
        (401, "missing_token / invalid_token (a token the server did not issue, or an erased "
              "conversation: start again without a token)"),
        (413, "body_too_large"),
        (422, "user_not_supported, invalid_text, empty_text, text_too_long, invalid_id, "
              "invalid_after"),
        (429, "rate_limited (with Retry-After)"),
        (503, "database_unavailable (with Retry-After)"),
    )
}  # fmt: skip


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


def _tokens(request: Request) -> WebTokens:
    return request.app.state.web_tokens


@dataclass(frozen=True)
class WebError:
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class WebMessage:
    """A valid POST body: the text and the page's optional id for it."""

    text: str
    client_id: str | None


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def parse(body: bytes, max_chars: int) -> WebMessage | WebError:
    """A POST body -> the message, or what is wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        return WebError(413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: "[[[[..." deep
        return WebError(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(data, dict):
        return WebError(400, "invalid_json", 'Send a JSON object: {"text": "..."}.')
    if "user" in data:
        return WebError(422, "user_not_supported", _USER_NOT_SUPPORTED)
    text, client_id = data.get("text"), data.get("id")
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
    # NUL and lone surrogates ("\ud800" in JSON) cannot be stored: replaced, the rest is kept.
    return WebMessage(storable(text), client_id)


def inbound(address: str, message: WebMessage) -> InboundMessage:
    """The app's message for a conversation's address (the token's hash)."""
    message_id = _ID_SEPARATOR.join((address, message.client_id or uuid.uuid4().hex))
    return InboundMessage(
        channel=CHANNEL, address=address, channel_message_id=message_id, text=message.text
    )


def bearer_token(request: Request) -> str | WebError | None:
    """The token of ``Authorization: Bearer <token>``; None without the header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or _TOKEN.fullmatch(token) is None:
        return WebError(401, "invalid_token", _GONE_MESSAGE)
    return token


async def _known(request: Request, address: str) -> bool:
    """Whether a conversation with this address exists (the token was issued here)."""
    async with request.app.state.sessions() as s:
        found = await s.scalar(
            select(Contact.id).where(Contact.matches(CHANNEL, address))
        )
    return found is not None


def _unauthorized(problem: WebError) -> JSONResponse:
    return json_error(problem.status, problem.code, problem.message, {"WWW-Authenticate": "Bearer"})


def _limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


async def _rate_limited(request: Request, kind: str, address: str) -> JSONResponse | None:
    """Per client address, then per conversation; a 429 when either is used up."""
    limits = _limits(request)
    for rule, identifier in (
        (f"web_{kind}_address", client_address(request)),
        (f"web_{kind}_conversation", address),
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


@router.post(
    "/messages",
    response_model=WebPostOut,
    responses=_ERRORS,
    dependencies=[Depends(_bearer)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WebMessageIn.model_json_schema()}},
        }
    },
)
async def post_message(request: Request) -> JSONResponse:
    """Send one message. Without a token, a new conversation starts and the answer carries its
    ``token``; with ``Authorization: Bearer <token>``, the conversation continues."""
    parsed = parse(await request.body(), request.app.state.settings.max_text_chars)
    if isinstance(parsed, WebError):
        return error(parsed.status, parsed.code, parsed.message)
    token = bearer_token(request)
    if isinstance(token, WebError):
        return _unauthorized(token)
    new_token = None
    if token is None:
        token = new_token = WebTokens.issue()
    address = _tokens(request).address(token)
    refused = await _rate_limited(request, "post", address)
    if refused is not None:
        return refused
    if new_token is None and not await _known(request, address):
        return _unauthorized(WebError(401, "invalid_token", _GONE_MESSAGE))
    msg = inbound(address, parsed)
    refused = await _contact_quota(request, msg)
    if refused is not None:
        return refused
    outcome = await _service(request).receive(msg)
    body: dict[str, Any] = {
        "cursor": outcome.message_id,
        "replies": render(outcome.replies),
        "duplicate": outcome.duplicate,
    }
    if new_token is not None:
        body = {"token": new_token, **body}
    return JSONResponse(body)


@router.get(
    "/messages", response_model=WebPollOut, responses=_ERRORS, dependencies=[Depends(_bearer)]
)
async def poll_messages(request: Request, after: str = "0") -> JSONResponse:
    """Replies of this conversation with an id above ``after`` (send the last id you showed:
    the page never asks for the history, ``after=0``, of a conversation it did not see)."""
    if "user" in request.query_params:
        return error(422, "user_not_supported", _USER_NOT_SUPPORTED)
    if not re.fullmatch(r"-?[0-9]{1,30}", after):
        return error(422, "invalid_after", '"after" must be the id of a reply (a whole number).')
    token = bearer_token(request)
    if token is None:
        token = WebError(401, "missing_token", _GONE_MESSAGE)
    if isinstance(token, WebError):
        return _unauthorized(token)
    address = _tokens(request).address(token)
    refused = await _rate_limited(request, "poll", address)
    if refused is not None:
        return refused
    after_id = min(max(int(after), 0), MAX_REPLY_ID)
    replies = await _service(request).outbound_after(CHANNEL, address, after_id)
    if not replies and not await _known(request, address):
        return _unauthorized(WebError(401, "invalid_token", _GONE_MESSAGE))
    return JSONResponse({"replies": render(replies)})
