"""The durable outbox: every SMS and Telegram reply goes out through here, never from a request.

Replies are stored as outbound ``Message`` rows by the conversation path. The worker:

1. renders each new one into ``Delivery`` rows (one per physical message), in one transaction,
   unique on (message, part) so two workers never render it twice;
2. claims due rows one at a time with a conditional UPDATE (a lease that a crashed worker's
   claim outlives), keeps each conversation in order, and skips (``suppressed``) anything for a
   contact who opted out, except the confirmation of the opt-out itself;
3. sends with the channel's real client (explicit timeouts), records the provider's id, and on a
   failure retries with exponential backoff (or the provider's ``retry_after``) until
   ``OUTBOX_MAX_ATTEMPTS``; permanent errors fail at once; Twilio 21610 and a Telegram block
   opt the contact out.

A provider status callback (``record_status``) keeps the most advanced status, whatever order
callbacks arrive in. Delivery is at least once: only a send whose outcome is unknown (a timeout
after the provider got the request) can be repeated; an error the provider answered never is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Part, Sender, SendError
from bot.channels.window import Gate
from bot.conversation import ConversationService
from bot.engine import Reply
from bot.logging_setup import describe, frames
from bot.store.channels import (
    PROVIDER_STATUS_RANK,
    ContactOptOut,
    Delivery,
    DeliveryStatus,
    OptOutSource,
)
from bot.store.models import Contact, Conversation, Direction, Message, OutboundStatus, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # longer than any send (timeouts are ~10 s)
MAX_BACKOFF_SECONDS = 600.0
BATCH = 100


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender],
        conversations: ConversationService,
        *,
        max_attempts: int,
        retry_base_seconds: float,
        poll_seconds: float,
        gates: dict[str, Gate] | None = None,
    ) -> None:
        self._sessions = sessions
        # A channel's own rule on when a delivery may go (WhatsApp's 24-hour window).
        self.gates: dict[str, Gate] = gates or {}
        self.senders = senders
        self._conversations = conversations
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The worker loop (a task of the app's lifespan)."""
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # a failed round (database busy...) must not stop the worker
                # Type and frames only: a failed round's error can quote a reply's text.
                log.error(
                    "outbox round failed error=%s\n%s", describe(exc), frames(exc.__traceback__)
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()

    async def run_once(self) -> int:
        """Render new replies, send what is due; returns how many physical messages were sent."""
        async with self._round:
            await self._render_new()
            return await self._send_due()

    # -- 1. render -------------------------------------------------------------------------

    async def _render_new(self) -> None:
        async with self._sessions() as s:
            rows = list(
                await s.scalars(
                    select(Message)
                    .where(
                        Message.direction == Direction.OUT,
                        Message.channel.in_(list(self.senders)),
                        Message.status == OutboundStatus.QUEUED,
                        ~exists().where(Delivery.message_id == Message.id),
                    )
                    .order_by(Message.id)
                    .limit(BATCH)
                )
            )
        for message in rows:
            sender = self.senders[message.channel]
            reply = Reply.from_stored(message.text, message.payload)
            parts = sender.render(reply, "fr" if message.language == "fr" else "en")
            # Crisis guidance, HELP, the opt-out confirmation: sent even to an opted-out contact.
            extra = message.payload or {}
            always = bool(extra.get("always_send") or extra.get("opt_out_confirmation"))
            async with self._sessions() as s:
                for index, part in enumerate(parts):
                    s.add(
                        Delivery(
                            message_id=message.id,
                            conversation_id=message.conversation_id,
                            channel=message.channel,
                            part=index,
                            text=part.text,
                            extra=part.extra,
                            always_send=always,
                        )
                    )
                if not parts:  # nothing to send (an empty reply)
                    row = await s.get(Message, message.id)
                    if row is not None:
                        row.status = OutboundStatus.SENT
                try:
                    await s.commit()
                except IntegrityError:  # another worker rendered it first
                    await s.rollback()

    # -- 2-3. claim, send, retry -----------------------------------------------------------

    async def _send_due(self) -> int:
        now = utcnow()
        async with self._sessions() as s:
            due = list(
                await s.scalars(
                    select(Delivery.id)
                    .where(
                        Delivery.status == DeliveryStatus.QUEUED,
                        Delivery.next_attempt_at <= now,
                        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                    )
                    .order_by(Delivery.id)
                    .limit(BATCH)
                )
            )
        sent = 0
        held: set[str] = set()  # conversations with an earlier message still waiting
        for delivery_id in due:
            delivery = await self._claim(delivery_id)
            if delivery is None:
                continue
            if delivery.conversation_id in held or await self._earlier_waiting(delivery):
                held.add(delivery.conversation_id)
                await self._release(delivery.id)
                continue
            if await self._deliver(delivery):
                sent += 1
            else:
                held.add(delivery.conversation_id)
        return sent

    async def _claim(self, delivery_id: int) -> Delivery | None:
        now = utcnow()
        async with self._sessions() as s:
            result = await s.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.status == DeliveryStatus.QUEUED,
                    or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                )
                .values(claimed_until=now + LEASE)
            )
            await s.commit()
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another worker has it
            return await s.get(Delivery, delivery_id)

    async def _release(self, delivery_id: int) -> None:
        async with self._sessions() as s:
            await s.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(claimed_until=None)
            )
            await s.commit()

    async def _earlier_waiting(self, delivery: Delivery) -> bool:
        async with self._sessions() as s:
            return bool(
                await s.scalar(
                    select(
                        exists().where(
                            Delivery.conversation_id == delivery.conversation_id,
                            Delivery.id < delivery.id,
                            Delivery.status == DeliveryStatus.QUEUED,
                        )
                    )
                )
            )

    async def _deliver(self, delivery: Delivery) -> bool:
        """Send one claimed row. True when it was sent or settled (suppressed / failed)."""
        async with self._sessions() as s:
            conversation = await s.get(Conversation, delivery.conversation_id)
            contact = await s.get(Contact, conversation.contact_id) if conversation else None
            opted_out = contact is not None and await s.get(ContactOptOut, contact.id) is not None
        if contact is None:
            await self._settle(delivery.id, DeliveryStatus.FAILED, error="no_contact")
            return True
        if opted_out and not delivery.always_send:
            await self._settle(delivery.id, DeliveryStatus.SUPPRESSED)
            log.info("delivery suppressed (opted out) delivery=%s", delivery.id)
            return True
        sender = self.senders[delivery.channel]
        gate = self.gates.get(delivery.channel)
        try:
            # The channel's gate (bot/channels/window.py) may hold it, and send what goes instead.
            if gate is not None and not await gate.admit(delivery, contact, sender):
                return False
            provider_id = await sender.send(contact.address, Part(delivery.text, delivery.extra))
        except SendError as exc:
            return await self._failed(delivery, contact.id, exc)
        except Exception as exc:  # an unexpected client error: retry, never lose the reply
            # A client's error can quote the number or the text it was given: type and frames.
            log.error(
                "unexpected send error delivery=%s error=%s\n%s",
                delivery.id,
                describe(exc),
                frames(exc.__traceback__),
            )
            return await self._failed(
                delivery, contact.id, SendError(type(exc).__name__, retryable=True)
            )
        await self._settle(delivery.id, DeliveryStatus.SENT, provider_id=provider_id)
        log.info("delivery sent channel=%s delivery=%s", delivery.channel, delivery.id)
        return True

    async def _failed(self, delivery: Delivery, contact_id: str, exc: SendError) -> bool:
        attempts = delivery.attempts + 1
        if exc.opted_out is not None:
            await self._conversations.opt_out(contact_id, exc.opted_out)
        if exc.retryable and exc.opted_out is None and attempts < self._max_attempts:
            delay = min(self._retry_base * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
            delay = max(delay, exc.retry_after or 0.0)
            async with self._sessions() as s:
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery.id)
                    .values(
                        attempts=attempts,
                        next_attempt_at=utcnow() + timedelta(seconds=delay),
                        claimed_until=None,
                        error_code=exc.code[:32],
                    )
                )
                await s.commit()
            log.warning(
                "delivery failed, retry in %.1fs delivery=%s attempt=%d error=%s",
                delay,
                delivery.id,
                attempts,
                exc.code,
            )
            return False
        await self._settle(delivery.id, DeliveryStatus.FAILED, error=exc.code, attempts=attempts)
        log.warning(
            "delivery failed for good delivery=%s attempts=%d error=%s",
            delivery.id,
            attempts,
            exc.code,
        )
        return True

    async def _settle(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        *,
        provider_id: str | None = None,
        error: str | None = None,
        attempts: int | None = None,
    ) -> None:
        async with self._sessions() as s:
            delivery = await s.get(Delivery, delivery_id)
            if delivery is None:
                return
            delivery.status = status
            delivery.claimed_until = None
            if attempts is not None:
                delivery.attempts = attempts
            elif status == DeliveryStatus.SENT:
                delivery.attempts += 1
            if provider_id is not None:
                delivery.provider_id = provider_id
                delivery.provider_status = delivery.provider_status or "accepted"
            if error is not None:
                delivery.error_code = error[:32]
            await s.flush()
            await _settle_message(s, delivery.message_id)
            await s.commit()

    # -- delivery status callbacks ---------------------------------------------------------

    async def record_status(
        self, channel: str, provider_id: str, status: str, error_code: str | None
    ) -> bool:
        """Keep the most advanced provider status; 21610 opts the contact out.

        Returns False when the id is unknown (not ours, or erased since).
        """
        status = status.strip().lower()
        async with self._sessions() as s:
            delivery = await s.scalar(
                select(Delivery).where(
                    Delivery.channel == channel, Delivery.provider_id == provider_id
                )
            )
            if delivery is None:
                return False
            old = PROVIDER_STATUS_RANK.get(delivery.provider_status or "", 0)
            if PROVIDER_STATUS_RANK.get(status, 0) > old:
                delivery.provider_status = status
                if error_code:
                    delivery.error_code = error_code[:32]
                message = await s.get(Message, delivery.message_id)
                if message is not None and status == "delivered":
                    message.status = OutboundStatus.DELIVERED
                elif message is not None and status == "read":  # WhatsApp's blue ticks
                    message.status = OutboundStatus.READ
                elif message is not None and status in ("failed", "undelivered"):
                    message.status = OutboundStatus.FAILED
            conversation = await s.get(Conversation, delivery.conversation_id)
            await s.commit()
        if error_code == "21610" and conversation is not None:
            await self._conversations.opt_out(conversation.contact_id, OptOutSource.CARRIER)
        log.info("delivery status channel=%s delivery=%s status=%s", channel, delivery.id, status)
        return True


async def _settle_message(s: AsyncSession, message_id: int) -> None:
    """A message is sent once none of its parts waits; failed if any part failed."""
    parts = list(await s.scalars(select(Delivery.status).where(Delivery.message_id == message_id)))
    if any(p == DeliveryStatus.QUEUED for p in parts):
        return
    message = await s.get(Message, message_id)
    if message is None:
        return
    if any(p == DeliveryStatus.FAILED for p in parts):
        message.status = OutboundStatus.FAILED
    elif all(p == DeliveryStatus.SUPPRESSED for p in parts):
        message.status = "suppressed"
    else:
        message.status = OutboundStatus.SENT
