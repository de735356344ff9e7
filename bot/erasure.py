"""Complete erasure, as one durable job retried until every part is done.

A job (``bot/store/privacy.py``) is created by a person's confirmed DELETE / SUPPRIMER, by a
supervisor in the caseworker UI (a request by phone or in person), by ``intake erase`` or by a
retention run (``bot/retention.py``). The worker does its parts in order, each idempotent, and
records each part as done in the same transaction as its effect, so a crash at any point is
finished by the next run:

1. ``app``: every row of the person in the app's database (contact, conversations, messages,
   the outbox copies, referrals and their notes, intake answers, flags, opt-out), deleted in one
   transaction that also collects what the remote parts need (Twilio message SIDs, Telegram
   chat/message ids) into the job and writes the audit entry ("erased", the reference, counts,
   who asked: never personal data). SQLite deletes with ``secure_delete`` (``bot/store/db.py``).
2. ``tracker``: the conversations' events in Rasa's tracker store.
3. ``receipt``: the reference ("ER-7K3Q-9XPA") sent to the person in their language, within the
   SMS budget (web chat: in the HTTP answer instead; not sent to an opted-out contact when
   someone else asked).
4. ``twilio``: each SMS and WhatsApp message (inbound and outbound, the receipt included) and
   its media deleted at Twilio with the twilio client; Twilio refuses while a message is still
   being delivered, so the part is retried with backoff.
5. ``telegram``: the bot's messages and the person's own deleted from the private chat where
   the Bot API allows it (less than 48 hours old); the others are counted as not deletable.

The SIDs, Telegram ids and the receipt address are removed from the job as each part ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import tracker_store
from bot.channels.base import Deleted, Part, SendError
from bot.engine import Reply
from bot.i18n import t
from bot.store.caseworkers import AuditEntry, Note
from bot.store.channels import ContactOptOut, Delivery
from bot.store.intake import IntakeProgress
from bot.store.models import (
    Contact,
    Conversation,
    Direction,
    Message,
    Referral,
    new_id,
    utcnow,
)
from bot.store.privacy import (
    PARTS,
    ErasureJob,
    ErasureReason,
    JobStatus,
    PartState,
)
from bot.store.privacy import (
    Part as JobPart,
)
from bot.store.safety import ConversationFlag

log = logging.getLogger(__name__)

# No 0/O, 1/I/L, so a reference read over the phone is not mistaken: 31 symbols, 8 of them
# (about 40 bits), drawn by ``secrets``.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LEASE = timedelta(minutes=5)
MAX_BACKOFF_SECONDS = 3600.0
TELEGRAM_DELETE_WINDOW = timedelta(hours=48)  # Bot API deleteMessage limit
RECEIPT_CHANNELS = frozenset({"sms", "whatsapp", "telegram"})  # push; web: in the response
TWILIO_CHANNELS = ("sms", "whatsapp")  # messages kept at Twilio, deleted with its client


def new_reference() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"ER-{chars[:4]}-{chars[4:]}"


def receipt_text(reference: str, language: str) -> str:
    return t("erased", "fr" if language == "fr" else "en").format(reference=reference)


@dataclass(frozen=True)
class Receipt:
    channel: str
    address: str  # where the receipt goes: personal data, kept only until it is sent
    language: str


@dataclass
class Collected:
    """What one ``app`` part deleted and what the remote parts still need."""

    conversation_ids: list[str]
    referral_ids: list[str]
    counts: dict[str, int]
    twilio_sids: list[str]
    telegram_messages: list[list[Any]]


def _epoch(moment: datetime | None) -> int:
    if moment is None:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


async def delete_rows(
    s: AsyncSession, *, contact_ids: list[str], conversation_ids: list[str]
) -> Collected:
    """Deletes the contacts (with all their conversations) and the conversations, in the
    caller's transaction; a contact left without conversations is deleted too. Returns counts
    and the provider ids the remote parts need. Idempotent: rows already gone count 0."""
    conversations = set(conversation_ids)
    if contact_ids:
        conversations |= set(
            await s.scalars(select(Conversation.id).where(Conversation.contact_id.in_(contact_ids)))
        )
    conv = sorted(conversations)
    contacts = set(contact_ids)
    if conv:
        contacts |= set(
            await s.scalars(select(Conversation.contact_id).where(Conversation.id.in_(conv)))
        )
    referral_ids = sorted(
        await s.scalars(
            select(Referral.id).where(
                or_(Referral.conversation_id.in_(conv), Referral.contact_id.in_(contact_ids))
            )
        )
    )
    twilio_sids = [
        sid
        for sid in await s.scalars(
            select(Message.channel_message_id).where(
                Message.conversation_id.in_(conv),
                Message.channel.in_(TWILIO_CHANNELS),
                Message.direction == Direction.IN,
                Message.channel_message_id.is_not(None),
            )
        )
        if sid
    ]
    twilio_sids += [
        sid
        for sid in await s.scalars(
            select(Delivery.provider_id).where(
                Delivery.conversation_id.in_(conv),
                Delivery.channel.in_(TWILIO_CHANNELS),
                Delivery.provider_id.is_not(None),
            )
        )
        if sid
    ]
    telegram_messages: list[list[Any]] = []
    rows = await s.execute(
        select(Contact.address, Delivery.provider_id, Delivery.updated_at)
        .join(Conversation, Conversation.id == Delivery.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            Delivery.conversation_id.in_(conv),
            Delivery.channel == "telegram",
            Delivery.provider_id.is_not(None),
        )
    )
    for address, provider_id, sent_at in rows:
        with contextlib.suppress(TypeError, ValueError):
            telegram_messages.append([int(address), int(provider_id), _epoch(sent_at)])
    # The person's own messages: a bot may delete incoming messages in a private chat too.
    rows = await s.execute(
        select(Contact.address, Message.payload, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            Message.conversation_id.in_(conv),
            Message.channel == "telegram",
            Message.direction == Direction.IN,
        )
    )
    for address, payload, sent_at in rows:
        provider_id = (payload or {}).get("provider_message_id")
        if provider_id is not None:
            with contextlib.suppress(TypeError, ValueError):
                telegram_messages.append([int(address), int(provider_id), _epoch(sent_at)])
    messages = await s.scalar(
        select(func.count()).select_from(Message).where(Message.conversation_id.in_(conv))
    )
    # Replies point at the messages they answer: clear that link before deleting.
    await s.execute(
        update(Message).where(Message.conversation_id.in_(conv)).values(in_reply_to_id=None)
    )
    await s.execute(delete(Delivery).where(Delivery.conversation_id.in_(conv)))
    await s.execute(delete(ConversationFlag).where(ConversationFlag.conversation_id.in_(conv)))
    await s.execute(delete(IntakeProgress).where(IntakeProgress.conversation_id.in_(conv)))
    await s.execute(delete(Note).where(Note.referral_id.in_(referral_ids)))
    await s.execute(delete(Referral).where(Referral.id.in_(referral_ids)))
    await s.execute(delete(Message).where(Message.conversation_id.in_(conv)))
    await s.execute(delete(Conversation).where(Conversation.id.in_(conv)))
    # A contact goes with its last conversation (always, for an erasure of the contact).
    orphans = sorted(
        set(
            await s.scalars(
                select(Contact.id).where(
                    Contact.id.in_(sorted(contacts)),
                    ~select(Conversation.id).where(Conversation.contact_id == Contact.id).exists(),
                )
            )
        )
    )
    await s.execute(delete(IntakeProgress).where(IntakeProgress.contact_id.in_(orphans)))
    await s.execute(delete(ContactOptOut).where(ContactOptOut.contact_id.in_(orphans)))
    await s.execute(delete(Contact).where(Contact.id.in_(orphans)))
    return Collected(
        conversation_ids=conv,
        referral_ids=referral_ids,
        counts={
            "contacts": len(orphans),
            "conversations": len(conv),
            "messages": int(messages or 0),
            "referrals": len(referral_ids),
        },
        twilio_sids=sorted(set(twilio_sids)),
        telegram_messages=telegram_messages,
    )


def _system_audit(actor: str, action: str, referral_id: str | None, **detail: Any) -> AuditEntry:
    return AuditEntry(actor=actor, action=action, referral_id=referral_id, detail=detail)


class PartFailed(Exception):
    """A part could not finish now; the job is retried later. ``code`` has no personal data."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ErasureService:
    """Creates erasure jobs and runs them to completion (the app's worker runs ``run``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        tracker_url: str = "",
        senders: Mapping[str, Any] | None = None,
        retry_base_seconds: float = 30.0,
        poll_seconds: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self.tracker_url = tracker_url
        # Channel senders (``bot/channels/sms.py``, ``telegram.py``): send the receipt and
        # delete messages. Missing: that part waits (retried) until the channel is configured.
        self.senders: Mapping[str, Any] = senders if senders is not None else {}
        self._retry_base = retry_base_seconds
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    # -- creating a job --------------------------------------------------------------------

    async def request(
        self,
        *,
        contact_ids: list[str],
        reason: ErasureReason,
        actor: str,
        actor_user_id: str | None = None,
        receipt: Receipt | None = None,
    ) -> ErasureJob:
        """A new job, committed (nothing is erased yet: ``run_job`` does it)."""
        async with self._sessions() as s:
            parts = {p.value: PartState.PENDING.value for p in PARTS}
            counts: dict[str, Any] = {}
            if receipt is None or receipt.channel not in RECEIPT_CHANNELS:
                parts[JobPart.RECEIPT] = PartState.SKIPPED.value
                # The web chat pulls: the person's own request gets it as the answer; someone
                # else's request cannot reach them there (the supervisor gives the reference).
                if receipt is None:
                    counts["receipt"] = "none"
                elif reason == ErasureReason.PERSON:
                    counts["receipt"] = "in_response"
                else:
                    counts["receipt"] = "not_reachable"
            elif reason != ErasureReason.PERSON and await s.scalar(
                select(func.count())
                .select_from(ContactOptOut)
                .where(ContactOptOut.contact_id.in_(contact_ids))
            ):
                # They asked us to stop messaging them: someone else's erasure sends nothing.
                parts[JobPart.RECEIPT] = PartState.SKIPPED.value
                counts["receipt"] = "opted_out"
                receipt = None
            job = ErasureJob(
                reference=new_reference(),
                reason=reason,
                actor=actor,
                actor_user_id=actor_user_id,
                parts=parts,
                contact_ids=list(contact_ids),
                conversation_ids=[],
                referral_ids=[],
                counts=counts,
                twilio_sids=[],
                telegram_messages=[],
                receipt_channel=receipt.channel if receipt else None,
                receipt_address=receipt.address if receipt else None,
                receipt_language=receipt.language if receipt else None,
            )
            s.add(job)
            await s.commit()
        log.info("erasure requested job=%s reason=%s", job.id, reason)
        return job

    async def record_done_app_part(
        self, s: AsyncSession, collected: Collected, *, reason: ErasureReason, actor: str
    ) -> ErasureJob:
        """A job whose ``app`` part was just done in ``s`` (a retention batch): the remote parts
        are left to the worker. Added to ``s``; committed with the deletions."""
        parts = {p.value: PartState.PENDING.value for p in PARTS}
        parts[JobPart.APP] = PartState.DONE.value
        parts[JobPart.RECEIPT] = PartState.SKIPPED.value
        job = ErasureJob(
            id=new_id(),  # known before the flush: the caller runs the job after its commit
            reference=new_reference(),
            reason=reason,
            actor=actor,
            parts=parts,
            contact_ids=[],
            conversation_ids=collected.conversation_ids,
            referral_ids=collected.referral_ids,
            counts={**collected.counts, "receipt": "none"},
            twilio_sids=collected.twilio_sids,
            telegram_messages=collected.telegram_messages,
        )
        s.add(job)
        return job

    # -- running jobs ----------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The worker loop (a task of the app's lifespan)."""
        while True:
            try:
                await self.run_due()
            except Exception as exc:  # a failed round (database busy...) must not stop it
                log.error("erasure round failed error=%s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()

    async def run_due(self) -> int:
        """Runs every due job; returns how many were completed."""
        now = utcnow()
        async with self._sessions() as s:
            due = list(
                await s.scalars(
                    select(ErasureJob.id)
                    .where(
                        ErasureJob.status == JobStatus.PENDING,
                        ErasureJob.next_attempt_at <= now,
                        or_(ErasureJob.claimed_until.is_(None), ErasureJob.claimed_until < now),
                    )
                    .order_by(ErasureJob.created_at)
                    .limit(100)
                )
            )
        done = 0
        for job_id in due:
            if await self.run_job(job_id):
                done += 1
        return done

    async def run_job(self, job_id: str) -> bool:
        """Claims the job and does its remaining parts in order; True once all are done. A part
        that fails stops the run and schedules the next attempt with backoff."""
        if not await self._claim(job_id):
            return False
        part: JobPart | None = None
        try:
            for part in PARTS:
                job = await self._load(job_id)
                if job is None or job.status == JobStatus.DONE:
                    return job is not None
                if job.parts.get(part) != PartState.PENDING:
                    continue
                await getattr(self, f"_do_{part.value}")(job)
            await self._finish(job_id)
            return True
        except Exception as exc:
            code = exc.code if isinstance(exc, PartFailed | SendError) else type(exc).__name__
            await self._retry_later(job_id, f"{part}:{code}")
            return False

    async def _claim(self, job_id: str) -> bool:
        now = utcnow()
        async with self._sessions() as s:
            result = await s.execute(
                update(ErasureJob)
                .where(
                    ErasureJob.id == job_id,
                    ErasureJob.status == JobStatus.PENDING,
                    or_(ErasureJob.claimed_until.is_(None), ErasureJob.claimed_until < now),
                )
                .values(claimed_until=now + LEASE)
            )
            await s.commit()
            return result.rowcount == 1  # type: ignore[attr-defined]

    async def _load(self, job_id: str) -> ErasureJob | None:
        async with self._sessions() as s:
            return await s.get(ErasureJob, job_id)

    async def _save(self, job_id: str, **values: Any) -> None:
        async with self._sessions() as s:
            job = await s.get(ErasureJob, job_id)
            assert job is not None
            for name, value in values.items():
                setattr(job, name, value)
            await s.commit()

    @staticmethod
    def _with(job: ErasureJob, part: JobPart, state: PartState = PartState.DONE) -> dict[str, Any]:
        return {**job.parts, part.value: state.value}

    async def _retry_later(self, job_id: str, code: str) -> None:
        async with self._sessions() as s:
            job = await s.get(ErasureJob, job_id)
            if job is None:
                return
            job.attempts += 1
            delay = min(self._retry_base * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS)
            job.next_attempt_at = utcnow() + timedelta(seconds=delay)
            job.claimed_until = None
            job.last_error = code[:64]
            await s.commit()
        log.warning("erasure part failed, retry in %.0fs job=%s error=%s", delay, job_id, code[:64])

    async def _finish(self, job_id: str) -> None:
        async with self._sessions() as s:
            job = await s.get(ErasureJob, job_id)
            assert job is not None
            job.status = JobStatus.DONE
            job.done_at = utcnow()
            job.claimed_until = None
            job.last_error = None
            job.twilio_sids, job.telegram_messages = [], []
            job.receipt_address = None
            s.add(
                _system_audit(
                    "system",
                    "erasure_completed",
                    None,
                    reference=job.reference,
                    requested_by=job.reason,
                    **{k: v for k, v in job.counts.items() if k not in ("contacts",)},
                )
            )
            await s.commit()
        log.info("erasure completed job=%s", job_id)

    # -- the parts -------------------------------------------------------------------------

    async def _do_app(self, job: ErasureJob) -> None:
        async with self._sessions() as s:
            collected = await delete_rows(
                s, contact_ids=list(job.contact_ids), conversation_ids=list(job.conversation_ids)
            )
            row = await s.get(ErasureJob, job.id)
            assert row is not None
            row.conversation_ids = collected.conversation_ids
            row.referral_ids = collected.referral_ids
            row.counts = {**row.counts, **collected.counts}
            row.twilio_sids = sorted(set(row.twilio_sids) | set(collected.twilio_sids))
            row.telegram_messages = list(row.telegram_messages) + collected.telegram_messages
            row.parts = self._with(row, JobPart.APP)
            # The audit log keeps the trace of the referral: "erased, reference X".
            detail = {
                "reference": job.reference,
                "requested_by": job.reason,
                **{k: v for k, v in collected.counts.items()},
            }
            actor = job.actor
            for referral_id in collected.referral_ids or [None]:  # type: ignore[list-item]
                s.add(
                    AuditEntry(
                        user_id=job.actor_user_id,
                        actor=actor,
                        action="erased",
                        referral_id=referral_id,
                        detail=detail,
                    )
                )
            await s.commit()
        await self._checkpoint()
        log.info(
            "erasure app rows deleted job=%s conversations=%d messages=%d",
            job.id,
            collected.counts["conversations"],
            collected.counts["messages"],
        )

    async def _checkpoint(self) -> None:
        """SQLite: move the WAL's copies of the deleted pages out of the log file."""
        async with self._sessions() as s:
            conn = await s.connection()
            if conn.dialect.name != "sqlite":
                return
            with contextlib.suppress(Exception):  # busy: a later checkpoint does it
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def _do_tracker(self, job: ErasureJob) -> None:
        events = await tracker_store.erase_conversations(
            self.tracker_url, list(job.conversation_ids)
        )
        await self._save(
            job.id,
            parts=self._with(job, JobPart.TRACKER),
            counts={**job.counts, "tracker_events": events},
        )

    async def _do_receipt(self, job: ErasureJob) -> None:
        sender = self.senders.get(job.receipt_channel or "")
        if sender is None:
            raise PartFailed(f"{job.receipt_channel}_not_configured")
        language = "fr" if job.receipt_language == "fr" else "en"
        parts: list[Part] = sender.render(Reply(receipt_text(job.reference, language)), language)
        sids: list[str] = []
        outcome = "sent"
        for part in parts:
            try:
                provider_id = await sender.send(job.receipt_address or "", part)
            except SendError as exc:
                if exc.retryable:
                    raise
                outcome = "failed"  # blocked, unsubscribed: nothing more to try
                break
            if job.receipt_channel in TWILIO_CHANNELS:
                sids.append(provider_id)
            # On Telegram the receipt stays in the person's chat (their proof).
        await self._save(
            job.id,
            parts=self._with(job, JobPart.RECEIPT),
            counts={**job.counts, "receipt": outcome},
            # The receipt SMS itself is deleted at Twilio too once delivered (twilio part).
            twilio_sids=sorted(set(job.twilio_sids) | set(sids)),
            receipt_address=None,
        )

    async def _do_twilio(self, job: ErasureJob) -> None:
        if not job.twilio_sids:
            await self._save(job.id, parts=self._with(job, JobPart.TWILIO, PartState.SKIPPED))
            return
        # SMS and WhatsApp share the Twilio account: either sender's client deletes both.
        sender = next((self.senders[c] for c in TWILIO_CHANNELS if c in self.senders), None)
        if sender is None:
            raise PartFailed("twilio_not_configured")
        remaining = list(job.twilio_sids)
        deleted = int(job.counts.get("twilio_deleted", 0))
        for sid in list(remaining):
            result = await sender.delete_message(sid)  # SendError: retried later
            remaining.remove(sid)
            deleted += result == Deleted.DELETED
            await self._save(
                job.id, twilio_sids=remaining, counts={**job.counts, "twilio_deleted": deleted}
            )
            job = await self._load(job.id)  # type: ignore[assignment]
        await self._save(job.id, parts=self._with(job, JobPart.TWILIO))

    async def _do_telegram(self, job: ErasureJob) -> None:
        if not job.telegram_messages:
            await self._save(job.id, parts=self._with(job, JobPart.TELEGRAM, PartState.SKIPPED))
            return
        sender = self.senders.get("telegram")
        if sender is None:
            raise PartFailed("telegram_not_configured")
        remaining = [list(m) for m in job.telegram_messages]
        counts = {
            "telegram_deleted": int(job.counts.get("telegram_deleted", 0)),
            "telegram_not_deletable": int(job.counts.get("telegram_not_deletable", 0)),
        }
        oldest = _epoch(utcnow() - TELEGRAM_DELETE_WINDOW)
        for item in list(remaining):
            chat_id, message_id, sent_at = item
            if sent_at and sent_at < oldest:
                result = Deleted.NOT_DELETABLE  # the Bot API refuses: not even asked
            else:
                result = await sender.delete_message(int(chat_id), int(message_id))
            remaining.remove(item)
            if result == Deleted.DELETED:
                counts["telegram_deleted"] += 1
            elif result == Deleted.NOT_DELETABLE:
                counts["telegram_not_deletable"] += 1
            await self._save(job.id, telegram_messages=remaining, counts={**job.counts, **counts})
            job = await self._load(job.id)  # type: ignore[assignment]
        await self._save(job.id, parts=self._with(job, JobPart.TELEGRAM))

    # -- reading ----------------------------------------------------------------------------

    async def job_by_reference(self, reference: str) -> ErasureJob | None:
        async with self._sessions() as s:
            return await s.scalar(select(ErasureJob).where(ErasureJob.reference == reference))
