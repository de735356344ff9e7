"""WhatsApp through Twilio: the SMS channel's Twilio mechanism, with WhatsApp's own rules.

    POST /channels/whatsapp/inbound   Twilio's incoming-message webhook -> empty TwiML at once
    POST /channels/whatsapp/status    status callbacks (sent, delivered, read, failed...)

Shared with SMS (``bot/channels/twilio_api.py``): the signature check, parsing, dedupe on
``MessageSid``, the REST client. WhatsApp's own:

- addresses are ``whatsapp:+E164``; its sender is ``TWILIO_WHATSAPP_FROM`` or
  ``TWILIO_WHATSAPP_MESSAGING_SERVICE_SID``; the channel is on only when one is set;
- rendering: accents kept, no SMS segments; Twilio takes a ``Body`` of at most 1,600 characters
  (Twilio errors 21617 / 21658; WhatsApp itself allows 4,096), so a longer reply is split at
  sentence ends; buttons become numbered options (``*1*`` in bold, WhatsApp's ``*bold*``, the
  only formatting used) that "1" / "deux" pick, like on SMS;
- the 24-hour window (``bot/channels/window.py``): the webhook tells it the person wrote
  (reopening it and releasing held messages); a 63016 status callback closes it;
- errors: 63016 (outside the window) -> held and the template sent; 63003 (the address is not a
  WhatsApp user) -> failed for good, logged without the address;
- a photo, voice note, document or location (``Latitude``) gets the text-only reply.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from twilio.base.exceptions import TwilioRestException

from bot.channels import twilio_api
from bot.channels.base import Part, SendError, split_text
from bot.conversation import InboundMessage
from bot.engine import Reply
from bot.i18n import t
from bot.language import Language
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
PREFIX = "whatsapp:"
MAX_CHARS = 1600  # Twilio's Body limit on every channel, WhatsApp included
OUTSIDE_WINDOW_ERROR = 63016
NOT_A_WHATSAPP_USER_ERROR = 63003
_ADDRESS = re.compile(r"whatsapp:\+[1-9]\d{6,14}")

TWILIO = twilio_api.TwilioChannel(
    CHANNEL,
    "WhatsApp",
    lambda settings: settings.whatsapp_enabled,
    accepts=lambda address: bool(_ADDRESS.fullmatch(address)),
    media_fields=("Latitude",),  # a shared location has no NumMedia
)


def address(number: str) -> str:
    """``+1416...`` or ``whatsapp:+1416...`` -> ``whatsapp:+1416...``."""
    number = number.strip()
    return number if number.startswith(PREFIX) else f"{PREFIX}{number}"


# -- render ------------------------------------------------------------------------------


def with_options(reply: Reply, language: Language) -> str:
    """Buttons become a numbered list under the text; the numbers are the only bold."""
    text = reply.text.strip()
    if not reply.buttons:
        return text
    lines = [t("whatsapp_options_intro", language)] + [
        f"*{n}* {b.title}" for n, b in enumerate(reply.buttons, start=1)
    ]
    options = "\n".join(lines)
    return f"{text}\n\n{options}" if text else options


def render(reply: Reply, language: Language) -> list[Part]:
    """One reply as WhatsApp messages: every accent kept, split only above ``MAX_CHARS``."""
    pieces = split_text(with_options(reply, language), lambda s: len(s) <= MAX_CHARS)
    return [Part(p) for p in pieces]


# -- parse and send ----------------------------------------------------------------------


def parse(form: Any, max_chars: int) -> InboundMessage | None:
    return twilio_api.parse(form, max_chars, TWILIO)


class WhatsAppSender(twilio_api.TwilioSender):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            TWILIO,
            from_=address(settings.twilio_whatsapp_from) if settings.twilio_whatsapp_from else "",
            messaging_service_sid=settings.twilio_whatsapp_messaging_service_sid,
        )

    def render(self, reply: Reply, language: Language) -> list[Part]:
        return render(reply, language)

    def message_fields(self, part: Part) -> dict[str, Any]:
        extra = part.extra or {}
        if extra.get("content_sid"):  # an approved template: no Body (Twilio's rule)
            fields = {"content_sid": extra["content_sid"]}
            if extra.get("content_variables"):
                fields["content_variables"] = extra["content_variables"]
            return fields
        return {"body": part.text}

    def permanent_error(self, exc: TwilioRestException) -> SendError | None:
        if exc.code == OUTSIDE_WINDOW_ERROR:
            # Retried through the window's gate, which then holds it and sends the template.
            return SendError(str(exc.code), retryable=True, retry_after=0.0)
        if exc.code == NOT_A_WHATSAPP_USER_ERROR:
            log.warning("whatsapp send refused: the address is not a WhatsApp user (63003)")
            return SendError(str(exc.code), retryable=False)
        return None


# -- what the webhooks tell the window -------------------------------------------------


async def _person_wrote(request: Request, message: InboundMessage) -> None:
    channels = request.app.state.channels
    if channels.window is not None and await channels.window.opened(message.address):
        channels.outbox.wake()


async def _status(request: Request, sid: str, status: str, error: str | None) -> None:
    channels = request.app.state.channels
    if error == str(OUTSIDE_WINDOW_ERROR) and channels.window is not None:
        if await channels.window.refused(sid):
            channels.outbox.wake()
    elif error == str(NOT_A_WHATSAPP_USER_ERROR):
        log.warning("whatsapp message not delivered: the address is not a WhatsApp user (63003)")


router = twilio_api.make_router(TWILIO, on_inbound=_person_wrote, on_status=_status)
