"""WhatsApp's 24-hour customer-service window: may this message be sent now, and what goes
instead when it may not.

WhatsApp accepts a free-form message (an assistant reply, a caseworker's reply, a status message)
only within 24 hours of the person's last message; outside it only an approved template goes
through (Twilio error 63016 otherwise: https://www.twilio.com/docs/api/errors/63016). So, for each
delivery the outbox is about to send on WhatsApp (``Outbox`` calls ``WhatsAppWindow.admit``):

    window open                      -> send it
    closed, person not yet notified  -> send the operator's approved template instead ("you have
                                        a message, reply to read it", by content SID, in the
                                        person's language), once; hold the message
    closed, person already notified  -> hold the message

A held delivery stays ``queued`` (so the outbox's per-conversation order keeps everything after
it waiting) with ``error_code = "window_closed"`` and no due time; its message shows ``held``.
When the person writes again (``opened``, called by the WhatsApp webhook before the message is
stored) the window reopens and the held deliveries become due, in their order.

Our clock is not the only judge: when Twilio answers 63016 anyway (synchronously, or in a status
callback: ``refused``) the window is closed for that contact until they write, whatever the time
says, and the refused message is held like the others.

The window's state per contact is the ``channel_windows`` table (times only, no personal data).
The clock is passed in, so tests move time instead of waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Part, Sender
from bot.i18n import t
from bot.store.channels import ChannelWindow, Delivery, DeliveryStatus
from bot.store.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Message,
    OutboundStatus,
    utcnow,
)

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# A message must reach WhatsApp before the window closes: none is started in its last minutes.
MARGIN = timedelta(minutes=5)
HELD = "window_closed"  # Delivery.error_code of a delivery held until the person writes
REFUSED = "63016"  # Twilio: "Outside messaging window" (the code SendError carries)
HELD_MESSAGE_STATUS = "held"  # Message.status while one of its parts is held
TEMPLATE_PAYLOAD = "whatsapp_template"  # payload key of the stored template notice
_NOT_DUE = timedelta(days=3650)  # a held delivery is due only when the person writes
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)  # "never wrote": the window is closed


class Gate(Protocol):
    """A channel's rule on when a delivery may go (the outbox calls it before sending)."""

    async def admit(self, delivery: Delivery, contact: Contact, sender: Sender) -> bool:
        """True: send it now. False: held (the gate recorded it and sent what goes instead).
        Raises ``SendError`` when what goes instead could not be sent (the outbox retries)."""
        ...


class Decision(StrEnum):
    SEND = "send"  # the window is open: send the message
    NOTIFY = "notify"  # closed: send the template instead, once, and hold the message
    HOLD = "hold"  # closed and the person was told: hold the message


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC): make them comparable."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class WindowState:
    last_inbound_at: datetime | None  # None: the person never wrote on WhatsApp
    notified_at: datetime | None = None  # the template went out since their last message
    refused_at: datetime | None = None  # Twilio said 63016 since their last message
    held: int = 0  # deliveries waiting for the person to write

    @property
    def closes_at(self) -> datetime | None:
        """When free-form messages stop (the last moment the app starts one)."""
        if self.last_inbound_at is None:
            return None
        return self.last_inbound_at + WINDOW - MARGIN

    def is_open(self, now: datetime) -> bool:
        closes = self.closes_at
        return (
            closes is not None
            and now < closes
            and self.notified_at is None
            and self.refused_at is None
        )


def decide(state: WindowState, now: datetime) -> Decision:
    """The rule itself (no I/O)."""
    if state.is_open(now):
        return Decision.SEND
    return Decision.HOLD if state.notified_at is not None else Decision.NOTIFY


@dataclass(frozen=True)
class View:
    """What the caseworker page says about the window (``bot/caseworker``)."""

    key: str  # the UI text: whatsapp_window_open / _notify / _notified / _no_template
    closes_at: datetime | None
    held: int


def describe(state: WindowState, now: datetime, has_template: bool) -> View:
    """What will happen to a message written now (a caseworker's reply, a status message)."""
    decision = decide(state, now)
    if decision == Decision.SEND:
        key = "whatsapp_window_open"
    elif decision == Decision.HOLD:
        key = "whatsapp_window_notified"
    else:
        key = "whatsapp_window_notify" if has_template else "whatsapp_window_no_template"
    return View(key, state.closes_at, state.held)


def _conversations_of(contact_id: str):  # type: ignore[no-untyped-def]
    return select(Conversation.id).where(Conversation.contact_id == contact_id)


async def read_state(s: AsyncSession, contact_id: str) -> WindowState:
    """The window of one contact (the outbox's gate and the caseworker page read the same)."""
    row = await s.get(ChannelWindow, contact_id)
    held = await s.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.conversation_id.in_(_conversations_of(contact_id)),
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.error_code == HELD,
        )
    )
    if row is not None:
        return WindowState(
            _aware(row.last_inbound_at), _aware(row.notified_at), _aware(row.refused_at), held or 0
        )
    # No row yet (the first message, or a contact from before the table): their last message.
    last = await s.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id.in_(_conversations_of(contact_id)),
            Message.direction == Direction.IN,
        )
    )
    return WindowState(_aware(last), held=held or 0)


async def _row(s: AsyncSession, contact_id: str) -> ChannelWindow:
    row = await s.get(ChannelWindow, contact_id)
    if row is None:
        state = await read_state(s, contact_id)
        row = ChannelWindow(
            contact_id=contact_id, last_inbound_at=state.last_inbound_at or _LONG_AGO
        )
        s.add(row)
    return row


class WhatsAppWindow:
    """The ``Gate`` of the WhatsApp channel, and what its webhooks tell it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        templates: dict[str, str],
        variables: str = "",
        *,
        channel: str = "whatsapp",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._templates = templates  # language -> content SID
        self._variables = json.dumps(json.loads(variables)) if variables else ""
        self._channel = channel
        self.clock = clock

    @property
    def has_template(self) -> bool:
        return bool(self._templates)

    def template_for(self, language: str | None) -> str | None:
        """The content SID in the person's language, else the other one (better than none)."""
        wanted = language if language in ("en", "fr") else "en"
        other = "fr" if wanted == "en" else "en"
        return self._templates.get(wanted) or self._templates.get(other)

    # -- the outbox's question --------------------------------------------------------------

    async def admit(self, delivery: Delivery, contact: Contact, sender: Sender) -> bool:
        now = self.clock()
        async with self._sessions() as s:
            if delivery.error_code == REFUSED:  # Twilio said the window is closed: believe it
                row = await _row(s, contact.id)
                row.refused_at = row.refused_at or now
                await s.commit()
            state = await read_state(s, contact.id)
        decision = decide(state, now)
        if decision == Decision.SEND:
            return True
        if decision == Decision.NOTIFY:
            await self._notify(delivery, contact, sender, now)  # SendError: the outbox retries
        await self._hold(delivery.id)
        log.info(
            "whatsapp window closed: delivery held delivery=%s decision=%s", delivery.id, decision
        )
        return False

    async def _notify(
        self, delivery: Delivery, contact: Contact, sender: Sender, now: datetime
    ) -> None:
        async with self._sessions() as s:
            message = await s.get(Message, delivery.message_id)
            conversation = await s.get(Conversation, delivery.conversation_id)
        language = (message.language if message else None) or (
            conversation.language if conversation else None
        )
        language = language if language in ("en", "fr") else "en"
        sid = self.template_for(language)
        if sid is None:
            log.warning(
                "whatsapp window closed and no template configured (WHATSAPP_TEMPLATE_SID_EN/FR):"
                " the person is not told delivery=%s",
                delivery.id,
            )
            return
        text = t("whatsapp_notice", language)  # type: ignore[arg-type]
        extra = {"content_sid": sid}
        if self._variables:
            extra["content_variables"] = self._variables
        provider_id = await sender.send(contact.address, Part(text, extra))
        async with self._sessions() as s:
            notice = Message(
                conversation_id=delivery.conversation_id,
                direction=Direction.OUT,
                author=Author.SYSTEM,
                channel=delivery.channel,
                text=text,
                payload={TEMPLATE_PAYLOAD: sid},
                language=language,
                status=OutboundStatus.SENT,
            )
            s.add(notice)
            await s.flush()
            s.add(
                Delivery(
                    message_id=notice.id,
                    conversation_id=delivery.conversation_id,
                    channel=delivery.channel,
                    part=0,
                    text=text,
                    extra=extra,
                    always_send=False,
                    status=DeliveryStatus.SENT,
                    attempts=1,
                    provider_id=provider_id,
                    provider_status="accepted",
                )
            )
            row = await _row(s, contact.id)
            row.notified_at = now
            await s.commit()
        log.info("whatsapp template sent delivery=%s notice=%s", delivery.id, notice.id)

    async def _hold(self, delivery_id: int) -> None:
        async with self._sessions() as s:
            delivery = await s.get(Delivery, delivery_id)
            if delivery is None:
                return
            delivery.next_attempt_at = utcnow() + _NOT_DUE
            delivery.claimed_until = None
            delivery.error_code = HELD
            message = await s.get(Message, delivery.message_id)
            if message is not None:
                message.status = HELD_MESSAGE_STATUS
            await s.commit()

    # -- what the webhooks tell it ---------------------------------------------------------

    async def opened(self, address: str) -> int:
        """The person wrote: the window is open for 24 hours, and what was held becomes due.
        Returns how many deliveries were released."""
        now = self.clock()
        async with self._sessions() as s:
            contact_id = await s.scalar(
                select(Contact.id).where(Contact.matches(self._channel, address))
            )
            if contact_id is None:  # a first message: the contact is created when it is stored
                return 0
            row = await s.get(ChannelWindow, contact_id)
            if row is None:
                s.add(ChannelWindow(contact_id=contact_id, last_inbound_at=now))
            else:
                row.last_inbound_at, row.notified_at, row.refused_at = now, None, None
            conversations = _conversations_of(contact_id)
            result = await s.execute(
                update(Delivery)
                .where(
                    Delivery.conversation_id.in_(conversations),
                    Delivery.status == DeliveryStatus.QUEUED,
                    Delivery.error_code == HELD,
                )
                .values(next_attempt_at=utcnow(), error_code=None, claimed_until=None)
            )
            await s.execute(
                update(Message)
                .where(
                    Message.conversation_id.in_(conversations),
                    Message.status == HELD_MESSAGE_STATUS,
                )
                .values(status=OutboundStatus.QUEUED)
            )
            await s.commit()
        released = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if released:
            log.info("whatsapp window reopened: %d held delivery(ies) released", released)
        return released

    async def refused(self, provider_id: str) -> bool:
        """Twilio's status callback said 63016 for a message we sent: the window is closed; the
        message goes back to the outbox, which holds it and sends the template."""
        now = self.clock()
        async with self._sessions() as s:
            delivery = await s.scalar(
                select(Delivery).where(
                    Delivery.channel == self._channel, Delivery.provider_id == provider_id
                )
            )
            if delivery is None or (delivery.extra or {}).get("content_sid"):
                return False  # not ours, or the template itself (not subject to the window)
            conversation = await s.get(Conversation, delivery.conversation_id)
            if conversation is None:
                return False
            row = await _row(s, conversation.contact_id)
            row.refused_at = row.refused_at or now
            delivery.status = DeliveryStatus.QUEUED
            delivery.next_attempt_at = utcnow()
            delivery.claimed_until = None
            delivery.provider_id = None
            delivery.provider_status = None
            delivery.error_code = REFUSED
            message = await s.get(Message, delivery.message_id)
            if message is not None:
                message.status = OutboundStatus.QUEUED
            await s.commit()
        log.info("whatsapp 63016 after sending: delivery=%s back to the outbox", delivery.id)
        return True
