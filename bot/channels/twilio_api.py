"""What every channel on Twilio's Messages API shares (SMS, WhatsApp): one mechanism, set up
per channel.

    verify   ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path + raw query string (the URL
             Twilio signed, not the one a proxy hands the app); 403 otherwise, nothing stored
    parse    Twilio's form fields -> ``InboundMessage`` (a repeated ``MessageSid`` is then dropped
             by the unique (channel, channel_message_id) constraint on ``messages``)
    send     the twilio REST client (explicit timeout, ``TWILIO_API_BASE_URL``), its errors mapped
             to ``SendError`` (retryable or not, opted out) by the channel
    routes   ``POST /channels/<name>/inbound`` (-> empty TwiML at once) and
             ``POST /channels/<name>/status`` (status callbacks, recorded by the outbox)

A channel module (``sms.py``, ``whatsapp.py``) describes itself with a ``TwilioChannel`` and
keeps only what is its own: rendering, addresses, its sender and its error codes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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

from bot.channels.base import Deleted, Part, Pipeline, SendError, retry_after_seconds, storable
from bot.conversation import InboundMessage
from bot.http_guard import json_error
from bot.settings import Settings
from bot.store.channels import OptOutSource

log = logging.getLogger(__name__)

TWILIO_DEFAULT_BASE = "https://api.twilio.com"
EMPTY_TWIML = str(MessagingResponse())  # <Response />: "received, no reply here"
OPTED_OUT_ERROR = 21610
MAX_BODY_BYTES = 64 * 1024

# Called by the inbound route before the message is stored: (request, message). WhatsApp records
# that the person wrote (its 24-hour window) here.
InboundHook = Callable[[Request, InboundMessage], Awaitable[None]]
# Called by the status route after the outbox recorded a callback: (request, sid, status, error).
StatusHook = Callable[[Request, str, str, str | None], Awaitable[None]]


@dataclass(frozen=True)
class TwilioChannel:
    """One channel carried by Twilio's Messages API."""

    name: str  # "sms", "whatsapp": the channel of its messages, contacts and deliveries
    label: str  # what an operator reads in an answer ("SMS", "WhatsApp")
    enabled: Callable[[Settings], bool]
    # Whether a From address belongs to this channel (WhatsApp: "whatsapp:+E164").
    accepts: Callable[[str], bool] = lambda _address: True
    # Form fields that make a message media even without NumMedia (a WhatsApp location).
    media_fields: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return f"/channels/{self.name}"


# -- verify and parse --------------------------------------------------------------------


def signed_url(public_base_url: str, request: Request) -> str:
    """The URL Twilio signed: the public base, the path, and the query string as received."""
    query = request.url.query
    return f"{public_base_url}{request.url.path}" + (f"?{query}" if query else "")


def parse(form: Any, max_chars: int, channel: TwilioChannel) -> InboundMessage | None:
    """Twilio's form fields -> the app's message (None: not a usable incoming message)."""
    # NUL and lone surrogates (which the database cannot store) become U+FFFD: the message is
    # stored and answered instead of failing for ever at every Twilio retry.
    sid = storable(str(form.get("MessageSid") or form.get("SmsSid") or "").strip())
    sender = storable(str(form.get("From") or "").strip())
    if not sid or not sender or len(sid) > 64 or len(sender) > 64:
        return None
    if not channel.accepts(sender):
        return None
    body = storable(str(form.get("Body") or ""))
    try:
        media = int(str(form.get("NumMedia") or "0")) > 0
    except ValueError:
        media = False
    media = media or any(str(form.get(f) or "").strip() for f in channel.media_fields)
    if not body.strip() and not media:
        return None
    return InboundMessage(
        channel=channel.name,
        address=sender,
        channel_message_id=sid,
        text=body[:max_chars],
        media=media,
    )


async def verified_form(request: Request, channel: TwilioChannel) -> Any | Response:
    """The signed form of a Twilio webhook, or the answer that refuses it."""
    settings: Settings = request.app.state.settings
    if not channel.enabled(settings):
        return JSONResponse(
            status_code=404,
            content={"error": "channel_disabled", "message": f"{channel.label} is not configured."},
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
        log.warning("%s webhook rejected: bad signature path=%s", channel.name, request.url.path)
        return Response(status_code=403)
    return form


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
    """Sends one ``Part`` with ``messages.create``. A channel sets its sender (``From`` or a
    Messaging Service) and may map its own error codes (``permanent_error``)."""

    def __init__(
        self,
        settings: Settings,
        channel: TwilioChannel,
        *,
        from_: str,
        messaging_service_sid: str,
    ) -> None:
        self.name = channel.name
        self._settings = settings
        self._from = from_
        self._service = messaging_service_sid
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
            f"{settings.public_base_url}{channel.prefix}/status"
            if settings.public_base_url
            else None
        )

    def message_fields(self, part: Part) -> dict[str, Any]:
        """What the message carries: its text (a channel may send something else, such as a
        WhatsApp content template)."""
        return {"body": part.text}

    def permanent_error(self, exc: TwilioRestException) -> SendError | None:
        """A channel's own answer to one of Twilio's error codes (None: the common rules)."""
        return None

    async def send(self, address: str, part: Part) -> str:
        kwargs: dict[str, Any] = {"to": address, **self.message_fields(part)}
        if self._service:
            kwargs["messaging_service_sid"] = self._service
        else:
            kwargs["from_"] = self._from
        if self._status_callback:
            kwargs["status_callback"] = self._status_callback
        try:
            # The sync client (requests) in a thread: its timeout is explicit, set above.
            message = await asyncio.get_running_loop().run_in_executor(
                self._threads, self._create, kwargs
            )
        except _Refused as refused:
            exc, retry_after = refused.error, refused.retry_after
            own = self.permanent_error(exc)
            if own is not None:
                raise own from exc
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

    async def delete_message(self, sid: str) -> Deleted:
        """Deletes a message (its body and log entry) and its media at Twilio, inbound or
        outbound (erasure: ``bot/erasure.py``). Raises ``SendError`` (retryable) when Twilio
        refuses for now: a message still being delivered cannot be deleted yet (20009)."""

        def delete() -> Deleted:
            message = self._client.messages(sid)
            for media in message.media.list():
                message.media(media.sid).delete()
            message.delete()
            return Deleted.DELETED

        try:
            return await asyncio.to_thread(delete)
        except TwilioRestException as exc:
            if exc.status == 404:
                return Deleted.GONE
            raise SendError(f"{exc.status}/{exc.code}", retryable=True) from exc
        except Exception as exc:  # connection refused, timeout...: try again later
            raise SendError(type(exc).__name__, retryable=True) from exc

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


def twiml(status: int = 200) -> Response:
    return Response(EMPTY_TWIML, status_code=status, media_type="application/xml")


def make_router(
    channel: TwilioChannel,
    *,
    on_inbound: InboundHook | None = None,
    on_status: StatusHook | None = None,
) -> APIRouter:
    """The channel's two webhooks, signed and answered with empty TwiML."""
    router = APIRouter(prefix=channel.prefix, tags=[channel.name])

    @router.post("/inbound")
    async def inbound(request: Request) -> Response:
        form = await verified_form(request, channel)
        if isinstance(form, Response):
            return form
        message = parse(form, request.app.state.settings.max_text_chars, channel)
        if message is None:
            log.info("%s webhook ignored: no sender, id or content", channel.name)
            return twiml()
        if on_inbound is not None:
            await on_inbound(request, message)
        pipeline: Pipeline = request.app.state.channels.pipeline
        await pipeline.accept(message)
        return twiml()

    @router.post("/status")
    async def status(request: Request) -> Response:
        form = await verified_form(request, channel)
        if isinstance(form, Response):
            return form
        sid = str(form.get("MessageSid") or "")
        state = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
        if sid and state:
            error = str(form.get("ErrorCode") or "") or None
            await request.app.state.channels.outbox.record_status(channel.name, sid, state, error)
            if on_status is not None:
                await on_status(request, sid, state.strip().lower(), error)
        return twiml()

    return router
