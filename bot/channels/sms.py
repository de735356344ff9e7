"""SMS over Twilio: signed webhooks in, numbered options and sentence-split text out.

    POST /channels/sms/inbound   Twilio's incoming-message webhook -> empty TwiML at once
    POST /channels/sms/status    Twilio's status callback for what we sent -> empty TwiML

Both check ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path + raw query string (the
URL Twilio signed, not the one a proxy hands the app) and answer 403 otherwise. A repeated
``MessageSid`` is acknowledged and dropped (unique constraint). Replies go out through the
outbox with the twilio REST client (explicit timeout, ``TWILIO_API_BASE_URL``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import ImmutableMultiDict
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from bot import sms as sms_cost
from bot.channels.base import (
    Part,
    Pipeline,
    SendError,
    retry_after_seconds,
    split_text,
    storable,
)
from bot.conversation import InboundMessage
from bot.engine import Reply
from bot.http_guard import json_error
from bot.i18n import t
from bot.language import Language
from bot.settings import Settings
from bot.store.channels import OptOutSource

log = logging.getLogger(__name__)

CHANNEL = "sms"
TWILIO_DEFAULT_BASE = "https://api.twilio.com"
EMPTY_TWIML = str(MessagingResponse())  # <Response />: "received, no reply here"
OPTED_OUT_ERROR = 21610
MAX_BODY_BYTES = 64 * 1024

router = APIRouter(prefix="/channels/sms", tags=["sms"])


# -- render ------------------------------------------------------------------------------


def with_options(reply: Reply, language: Language) -> str:
    """Buttons become numbered options in the same message: "Reply 1 for X, 2 for Y."."""
    text = reply.text.strip()
    if not reply.buttons:
        return text
    items = ", ".join(
        t("options_item", language).format(n=n, title=b.title)
        for n, b in enumerate(reply.buttons, start=1)
    )
    line = f"{t('options_intro', language)} {items}."
    return f"{text}\n{line}" if text else line


def render(reply: Reply, language: Language, max_segments: int) -> list[Part]:
    """One reply as SMS: each part within ``max_segments`` segments, split at sentence ends.

    Characters outside GSM-7 (ê, ç, « », curly quotes, emoji) are replaced by their closest
    GSM-7 form: one such character would make the whole SMS UCS-2 and more than double its cost
    (measured in docs/knowledge.md). Web and Telegram keep every accent."""
    text = sms_cost.to_gsm7(with_options(reply, language))
    pieces = split_text(text, lambda s: sms_cost.cost(s).segments <= max_segments)
    return [Part(p) for p in pieces]


# -- verify and parse --------------------------------------------------------------------


def signed_url(public_base_url: str, request: Request) -> str:
    """The URL Twilio signed: the public base, the path, and the query string as received."""
    query = request.url.query
    return f"{public_base_url}{request.url.path}" + (f"?{query}" if query else "")


def parse(form: Any, max_chars: int) -> InboundMessage | None:
    """Twilio's form fields -> the app's message (None: not a usable incoming message)."""
    # NUL and lone surrogates (which the database cannot store) become U+FFFD: the message is
    # stored and answered instead of failing for ever at every Twilio retry.
    sid = storable(str(form.get("MessageSid") or form.get("SmsSid") or "").strip())
    sender = storable(str(form.get("From") or "").strip())
    if not sid or not sender or len(sid) > 64 or len(sender) > 64:
        return None
    body = storable(str(form.get("Body") or ""))
    try:
        media = int(str(form.get("NumMedia") or "0")) > 0
    except ValueError:
        media = False
    if not body.strip() and not media:
        return None
    return InboundMessage(
        channel=CHANNEL,
        address=sender,
        channel_message_id=sid,
        text=body[:max_chars],
        media=media,
    )


# -- send --------------------------------------------------------------------------------


class _BaseUrlHttpClient(TwilioHttpClient):
    """The stock client, pointed at ``TWILIO_API_BASE_URL`` (a proxy, or a test server).

    It also keeps the ``Retry-After`` header of a 429 / 503 answer (``TwilioRestException``
    carries no headers), per thread: each send runs in a thread of its own
    (``TwilioSender.send``), from the request to the exception."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout, max_retries=0)
        self._base_url = base_url.rstrip("/")
        self._local = threading.local()
        # Our own requests also go over plain http to a loopback test server.
        if self.session is not None:
            self.session.mount("http://", self.session.get_adapter("https://"))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        if self._base_url != TWILIO_DEFAULT_BASE and url.startswith(TWILIO_DEFAULT_BASE):
            url = self._base_url + url[len(TWILIO_DEFAULT_BASE) :]
        self._local.retry_after = None
        response = super().request(method, url, *args, **kwargs)
        if response.status_code in (429, 503):
            self._local.retry_after = retry_after_seconds(
                (response.headers or {}).get("Retry-After")
            )
        return response

    def last_retry_after(self) -> float | None:
        """The ``Retry-After`` of this thread's last answer, in seconds (None: none given)."""
        return getattr(self._local, "retry_after", None)


class TwilioSender:
    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http = _BaseUrlHttpClient(
            settings.twilio_api_base_url, settings.channel_send_timeout_seconds
        )
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        # The sync client's calls run in threads of their own: as many as the outbox sends at
        # once (asyncio's shared default pool has only CPUs + 4 threads).
        self._threads = ThreadPoolExecutor(
            max_workers=max(settings.outbox_concurrency, 1), thread_name_prefix="twilio"
        )
        self._status_callback = (
            f"{settings.public_base_url}/channels/sms/status" if settings.public_base_url else None
        )

    def render(self, reply: Reply, language: Language) -> list[Part]:
        return render(reply, language, self._settings.sms_max_segments)

    async def send(self, address: str, part: Part) -> str:
        kwargs: dict[str, Any] = {"to": address, "body": part.text}
        if self._settings.twilio_messaging_service_sid:
            kwargs["messaging_service_sid"] = self._settings.twilio_messaging_service_sid
        else:
            kwargs["from_"] = self._settings.twilio_from_number
        if self._status_callback:
            kwargs["status_callback"] = self._status_callback
        try:
            # The sync client (requests) in a thread: its timeout is explicit, set above.
            message = await asyncio.get_running_loop().run_in_executor(
                self._threads, self._create, kwargs
            )
        except _Refused as refused:
            exc, retry_after = refused.error, refused.retry_after
            if exc.code == OPTED_OUT_ERROR:
                raise SendError(
                    str(exc.code), retryable=False, opted_out=OptOutSource.CARRIER
                ) from exc
            retryable = exc.status == 429 or exc.status >= 500
            raise SendError(
                f"{exc.status}/{exc.code}", retryable=retryable, retry_after=retry_after
            ) from exc
        except Exception as exc:  # connection refused, timeout...: try again later
            raise SendError(type(exc).__name__, retryable=True) from exc
        return str(message.sid)

    def _create(self, kwargs: dict[str, Any]) -> Any:
        """In a worker thread: create the message; an error answer carries its Retry-After."""
        try:
            return self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _Refused(exc, self._http.last_retry_after()) from exc

    def close(self) -> None:
        self._threads.shutdown(wait=False)


class _Refused(Exception):
    """Twilio answered an error (``error``), with the seconds its Retry-After asked for."""

    def __init__(self, error: TwilioRestException, retry_after: float | None) -> None:
        super().__init__(error.status)
        self.error = error
        self.retry_after = retry_after


# -- routes ------------------------------------------------------------------------------


def _twiml(status: int = 200) -> Response:
    return Response(EMPTY_TWIML, status_code=status, media_type="application/xml")


async def _verified_form(request: Request) -> Any | Response:
    settings: Settings = request.app.state.settings
    if not settings.sms_enabled:
        return JSONResponse(
            status_code=404,
            content={"error": "channel_disabled", "message": "SMS is not configured."},
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return json_error(
            413, "body_too_large", f"The request body is over {MAX_BODY_BYTES} bytes."
        )
    try:  # Twilio posts application/x-www-form-urlencoded; parsed here, no extra dependency
        form = ImmutableMultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return Response(status_code=400)
    validator = RequestValidator(settings.twilio_auth_token)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not validator.validate(
        signed_url(settings.public_base_url, request), form, signature
    ):
        log.warning("sms webhook rejected: bad signature path=%s", request.url.path)
        return Response(status_code=403)
    return form


@router.post("/inbound")
async def inbound(request: Request) -> Response:
    form = await _verified_form(request)
    if isinstance(form, Response):
        return form
    message = parse(form, request.app.state.settings.max_text_chars)
    if message is None:
        log.info("sms webhook ignored: no sender, id or content")
        return _twiml()
    pipeline: Pipeline = request.app.state.channels.pipeline
    await pipeline.accept(message)
    return _twiml()


@router.post("/status")
async def status(request: Request) -> Response:
    form = await _verified_form(request)
    if isinstance(form, Response):
        return form
    sid = str(form.get("MessageSid") or "")
    state = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
    if sid and state:
        error = str(form.get("ErrorCode") or "") or None
        await request.app.state.channels.outbox.record_status(CHANNEL, sid, state, error)
    return _twiml()
