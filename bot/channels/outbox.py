"""The durable outbox: every SMS and Telegram reply goes out through here, never from a request.

Replies are stored as outbound ``Message`` rows by the conversation path. The worker:

1. renders each new one into ``Delivery`` rows (one per physical message), in one transaction,
   unique on (message, part) so two workers never render it twice;
2. claims the *head* of each conversation (its oldest waiting part: no earlier outbound message
   still queued, no earlier part of the same message) when it is due, up to
   ``OUTBOX_CONCURRENCY`` conversations at once. A claim is a lease: ``claimed_by`` the process's
   owner id, ``claimed_until`` a few seconds ahead (``OUTBOX_LEASE_SECONDS``), renewed every
   third of that while the process lives, so a crashed process's claims are free again within
   seconds. On PostgreSQL the claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` then the lease, in
   one transaction (several app processes); on SQLite (one process, one writer) a conditional
   UPDATE per row;
3. decides (``_decide``, the one place that says whether a delivery may go now: the contact
   opted out, the contact is gone...), sends with the channel's real client (explicit timeouts),
   records the provider's id, and on a failure retries with exponential backoff (capped at
   ``OUTBOX_MAX_BACKOFF_SECONDS``, never before the provider's ``Retry-After``) until the retry
   budget (``OUTBOX_RETRY_BUDGET_SECONDS`` from when the reply was queued) runs out; permanent
   errors fail at once; Twilio 21610 and a Telegram block opt the contact out. A reply that
   finally fails is ``failed``: caseworkers see it on the referral and in the supervisor numbers.

Sends of different conversations run concurrently; each conversation stays strictly in order,
because only its head can be claimed. A provider status callback (``record_status``) keeps the
most advanced status, whatever order callbacks arrive in. Delivery is at least once: only a send
whose outcome is unknown (the process died, or a timeout after the provider got the request) can
be repeated; an error the provider answered never is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Select, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

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

BATCH = 100  # messages rendered per round


@dataclass(frozen=True)
class OutboxPolicy:
    """The operator's outbox settings (``OUTBOX_*``, bot/settings.py)."""

    retry_budget_seconds: float = 24 * 3600.0
    retry_base_seconds: float = 2.0
    max_backoff_seconds: float = 600.0
    poll_seconds: float = 1.0
    lease_seconds: float = 10.0
    concurrency: int = 8

    def next_attempt(
        self, now: datetime, queued_at: datetime, attempts: int, retry_after: float | None
    ) -> datetime | None:
        """When to try again after ``attempts`` failed attempts; None: the budget is spent.

        Exponential backoff capped at ``max_backoff_seconds``, the last attempt at the end of
        the budget at the latest, and never before the provider's ``Retry-After``."""
        deadline = aware(queued_at) + timedelta(seconds=self.retry_budget_seconds)
        if now >= deadline:
            return None
        backoff = self.retry_base_seconds * 2 ** min(attempts - 1, 30)
        backoff = min(backoff, self.max_backoff_seconds)
        at = min(now + timedelta(seconds=backoff), deadline)
        if retry_after:
            at = max(at, now + timedelta(seconds=retry_after))
        return at if at <= deadline else None


class Decision(StrEnum):
    SEND = "send"
    SUPPRESS = "suppress"  # the contact opted out (nothing is sent; the message is settled)
    FAIL = "fail"  # cannot be sent at all (the contact is gone)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def process_owner() -> str:
    """An id for this process's claims: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: dict[str, Sender],
        conversations: ConversationService,
        policy: OutboxPolicy,
        *,
        owner: str | None = None,
        gates: dict[str, Gate] | None = None,
    ) -> None:
        self._sessions = sessions
        # A channel's own rule on when a delivery may go (WhatsApp's 24-hour window).
        self.gates: dict[str, Gate] = gates or {}
        self.senders = senders
        self._conversations = conversations
        self.policy = policy
        self.owner = owner or process_owner()
        bind = sessions.kw.get("bind")
        self._skip_locked = bind is not None and bind.dialect.name == "postgresql"
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self.policy.lease_seconds)

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
                await asyncio.wait_for(self._wake.wait(), self.policy.poll_seconds)

    async def run_once(self) -> int:
        """Render new replies and send what is due, until nothing is left to claim now; returns
        how many physical messages were sent."""
        async with self._round:
            return await self._pass()

    async def _pass(self) -> int:
        sent = 0
        inflight: set[asyncio.Task[bool]] = set()
        renewer = asyncio.create_task(self._renew_leases())
        try:
            while True:
                self._wake.clear()  # a wake from now on starts another claim below
                await self._render_new()
                free = self.policy.concurrency - len(inflight)
                for delivery in await self._claim(free) if free > 0 else []:
                    inflight.add(asyncio.create_task(self._deliver(delivery)))
                if not inflight:
                    return sent
                waker = asyncio.create_task(self._wake.wait())
                done, _ = await asyncio.wait(
                    [*inflight, waker],
                    timeout=self.policy.poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waker.cancel()
                for task in done & inflight:
                    inflight.discard(task)
                    sent += _was_sent(task)
        finally:
            if inflight:  # stopping: let the sends under way finish (each has its timeout)
                await asyncio.wait(inflight)
                sent += sum(_was_sent(task) for task in inflight)
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

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

    # -- 2. claim --------------------------------------------------------------------------

    @staticmethod
    def _heads(now: datetime, limit: int) -> Select[tuple[int]]:
        """Due, unclaimed deliveries that are the oldest waiting part of their conversation:
        no earlier part still queued (a delivery status callback may have moved its message
        on already), no earlier reply still queued (rendered or not)."""
        earlier = aliased(Delivery)
        earlier_message = exists().where(
            Message.conversation_id == Delivery.conversation_id,
            Message.direction == Direction.OUT,
            Message.status == OutboundStatus.QUEUED,
            Message.id < Delivery.message_id,
        )
        earlier_part = exists().where(
            earlier.conversation_id == Delivery.conversation_id,
            earlier.status == DeliveryStatus.QUEUED,
            or_(
                earlier.message_id < Delivery.message_id,
                and_(earlier.message_id == Delivery.message_id, earlier.part < Delivery.part),
            ),
        )
        return (
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.QUEUED,
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                ~earlier_message,
                ~earlier_part,
            )
            .order_by(Delivery.id)
            .limit(limit)
        )

    async def _claim(self, limit: int) -> list[Delivery]:
        """Lease up to ``limit`` heads to this process."""
        now = utcnow()
        values = {"claimed_by": self.owner, "claimed_until": now + self._lease}
        async with self._sessions() as s:
            if self._skip_locked:  # rows another process is claiming right now are skipped
                ids = list(
                    await s.scalars(
                        self._heads(now, limit).with_for_update(skip_locked=True, of=Delivery)
                    )
                )
                if ids:
                    await s.execute(update(Delivery).where(Delivery.id.in_(ids)).values(**values))
            else:  # SQLite: one writer; the condition makes a concurrent claim a no-op
                ids = []
                for delivery_id in await s.scalars(self._heads(now, limit)):
                    result = await s.execute(
                        update(Delivery)
                        .where(
                            Delivery.id == delivery_id,
                            Delivery.status == DeliveryStatus.QUEUED,
                            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                        )
                        .values(**values)
                    )
                    if result.rowcount == 1:  # type: ignore[attr-defined]
                        ids.append(delivery_id)
            await s.commit()
            if not ids:
                return []
            return list(
                await s.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id))
            )

    async def _renew_leases(self) -> None:
        """While this process lives, its claims stay its own (a third of the lease, so that one
        late renewal does not lose them)."""
        while True:
            await asyncio.sleep(self.policy.lease_seconds / 3)
            try:
                async with self._sessions() as s:
                    await s.execute(
                        update(Delivery)
                        .where(
                            Delivery.claimed_by == self.owner,
                            Delivery.status == DeliveryStatus.QUEUED,
                            Delivery.claimed_until.is_not(None),
                        )
                        .values(claimed_until=utcnow() + self._lease)
                    )
                    await s.commit()
            except Exception:  # the next renewal may succeed; the lease covers one miss
                log.warning("outbox lease renewal failed owner=%s", self.owner)

    # -- 3. decide, send, retry ------------------------------------------------------------

    async def _decide(self, delivery: Delivery) -> tuple[Decision, Contact | None]:
        """The one place that says whether a delivery may go out now.

        A channel rule (a messaging window, say) belongs here, next to the opt-out."""
        async with self._sessions() as s:
            conversation = await s.get(Conversation, delivery.conversation_id)
            contact = await s.get(Contact, conversation.contact_id) if conversation else None
            opted_out = contact is not None and await s.get(ContactOptOut, contact.id) is not None
        if contact is None:
            return Decision.FAIL, None
        if opted_out and not delivery.always_send:
            return Decision.SUPPRESS, contact
        return Decision.SEND, contact

    async def _deliver(self, delivery: Delivery) -> bool:
        """Send one claimed row. True when it was sent."""
        decision, contact = await self._decide(delivery)
        if decision == Decision.FAIL or contact is None:
            await self._settle(delivery.id, DeliveryStatus.FAILED, error="no_contact")
            return False
        if decision == Decision.SUPPRESS:
            await self._settle(delivery.id, DeliveryStatus.SUPPRESSED)
            log.info("delivery suppressed (opted out) delivery=%s", delivery.id)
            return False
        sender = self.senders[delivery.channel]
        gate = self.gates.get(delivery.channel)
        try:
            # The channel's gate (bot/channels/window.py) may hold it, and send what goes instead.
            if gate is not None and not await gate.admit(delivery, contact, sender):
                return False
            provider_id = await sender.send(contact.address, Part(delivery.text, delivery.extra))
        except SendError as exc:
            await self._failed(delivery, contact.id, exc)
            return False
        except Exception as exc:  # an unexpected client error: retry, never lose the reply
            # A client's error can quote the number or the text it was given: type and frames.
            log.error(
                "unexpected send error delivery=%s error=%s\n%s",
                delivery.id,
                describe(exc),
                frames(exc.__traceback__),
            )
            await self._failed(delivery, contact.id, SendError(type(exc).__name__, retryable=True))
            return False
        await self._settle(delivery.id, DeliveryStatus.SENT, provider_id=provider_id)
        log.info("delivery sent channel=%s delivery=%s", delivery.channel, delivery.id)
        return True

    async def _failed(self, delivery: Delivery, contact_id: str, exc: SendError) -> None:
        attempts = delivery.attempts + 1
        if exc.opted_out is not None:
            await self._conversations.opt_out(contact_id, exc.opted_out)
        now = utcnow()
        at = (
            self.policy.next_attempt(now, delivery.created_at, attempts, exc.retry_after)
            if exc.retryable and exc.opted_out is None
            else None
        )
        if at is not None:
            async with self._sessions() as s:
                await s.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery.id)
                    .values(
                        attempts=attempts,
                        next_attempt_at=at,
                        claimed_until=None,
                        claimed_by=None,
                        error_code=exc.code[:32],
                    )
                )
                await s.commit()
            log.warning(
                "delivery failed, retry in %.1fs delivery=%s attempt=%d error=%s",
                (at - now).total_seconds(),
                delivery.id,
                attempts,
                exc.code,
            )
            return
        await self._settle(delivery.id, DeliveryStatus.FAILED, error=exc.code, attempts=attempts)
        log.warning(
            "delivery failed for good delivery=%s attempts=%d error=%s",
            delivery.id,
            attempts,
            exc.code,
        )

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
            delivery.claimed_by = None
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


def _was_sent(task: asyncio.Task[bool]) -> int:
    """1 when a finished send task sent its delivery (an error was logged by the worker)."""
    if task.cancelled():
        return 0
    error = task.exception()
    if error is not None:
        log.error("outbox send task failed: %s", type(error).__name__)
        return 0
    return int(task.result())


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
        message.status = OutboundStatus.SUPPRESSED
    else:
        message.status = OutboundStatus.SENT
