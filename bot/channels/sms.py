"""SMS over Twilio: signed webhooks in, numbered options and sentence-split text out.

    POST /channels/sms/inbound   Twilio's incoming-message webhook -> empty TwiML at once
    POST /channels/sms/status    Twilio's status callback for what we sent -> empty TwiML

The Twilio mechanism (signature, parsing, dedupe on ``MessageSid``, the REST client, the two
routes) is shared with WhatsApp in ``bot/channels/twilio_api.py``; this module keeps what is
SMS's own: the segment-budgeted rendering and its sender (``TWILIO_FROM_NUMBER`` or
``TWILIO_MESSAGING_SERVICE_SID``).
"""

from __future__ import annotations

from typing import Any

from bot import sms as sms_cost
from bot.channels import twilio_api
from bot.channels.base import Part, split_text
from bot.channels.twilio_api import EMPTY_TWIML, OPTED_OUT_ERROR, signed_url
from bot.conversation import InboundMessage
from bot.engine import Reply
from bot.i18n import t
from bot.language import Language
from bot.settings import Settings

__all__ = ["CHANNEL", "EMPTY_TWIML", "OPTED_OUT_ERROR", "TwilioSender", "parse", "render",
           "router", "signed_url", "with_options"]  # fmt: skip

CHANNEL = "sms"
TWILIO = twilio_api.TwilioChannel(CHANNEL, "SMS", lambda settings: settings.sms_enabled)


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
    (measured in docs/knowledge.md). Web, Telegram and WhatsApp keep every accent."""
    text = sms_cost.to_gsm7(with_options(reply, language))
    pieces = split_text(text, lambda s: sms_cost.cost(s).segments <= max_segments)
    return [Part(p) for p in pieces]


# -- parse and send ----------------------------------------------------------------------


def parse(form: Any, max_chars: int) -> InboundMessage | None:
    """Twilio's form fields -> the app's message (None: not a usable incoming message)."""
    return twilio_api.parse(form, max_chars, TWILIO)


class TwilioSender(twilio_api.TwilioSender):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            TWILIO,
            from_=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
        )

    def render(self, reply: Reply, language: Language) -> list[Part]:
        return render(reply, language, self._settings.sms_max_segments)


router = twilio_api.make_router(TWILIO)
