"""The retention policy: what is purged, and when (README "Privacy" / "Retention").

Four classes, disjoint, each with its own period (settings ``RETENTION_*_DAYS``; 0 keeps the class
for ever). "Last activity" is the conversation's last message (or its creation).

- ``declined_consent``: the person said no to the intake's consent statement and no referral
  was made: ``RETENTION_DECLINED_CONSENT_DAYS`` (7) after the last activity.
- ``no_referral``: no referral (no intake submitted, no request for a person), consent not
  declined: ``RETENTION_NO_REFERRAL_DAYS`` (30) after the last activity.
- ``closed_referral``: every referral of the conversation closed:
  ``RETENTION_CLOSED_REFERRAL_DAYS`` (365) after the last closing and the last activity.
- ``tracker_orphans``: events in Rasa's tracker store of conversations the app no longer has
  (erased before erasure was a retried job, or deleted by hand), a day after their last event.
- ``outbox``: the outbox's copies of sent / failed / suppressed SMS and Telegram messages:
  ``RETENTION_OUTBOX_DAYS`` (30) after they were settled. The SMS bodies at Twilio are deleted
  with them (an erasure job of reason ``retention``).

Never purged: a conversation whose contact has an open or claimed referral (urgent or not),
or that a caseworker has (``human``) or was asked for (``handoff_requested``).

A purged conversation goes the way of an erasure (``bot/erasure.py``): its rows are deleted in a
short transaction per batch of ``BATCH`` conversations that also records an erasure job for the
rest (Rasa's tracker events, messages at Twilio and Telegram). Each run that purged anything
(and every run of ``intake purge``) writes one audit entry with the counts per class.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import tracker_store
from bot.erasure import TWILIO_CHANNELS, Collected, ErasureService, delete_rows
from bot.settings import Settings
from bot.store.caseworkers import AuditEntry
from bot.store.channels import Delivery, DeliveryStatus
from bot.store.intake import IntakeProgress
from bot.store.models import (
    Conversation,
    ConversationStatus,
    Message,
    Referral,
    ReferralStatus,
    utcnow,
)
from bot.store.privacy import ErasureReason

log = logging.getLogger(__name__)

BATCH = 100  # conversations (or outbox rows) per transaction
MAX_BATCHES = 50  # per class and run: a run stays bounded; the next run continues
# Orphans first: conversations purged in the same run leave the tracker through their job.
CLASSES = ("tracker_orphans", "declined_consent", "no_referral", "closed_referral", "outbox")
CONVERSATION_CLASSES = ("declined_consent", "no_referral", "closed_referral")


@dataclass(frozen=True)
class Policy:
    no_referral_days: int = 30
    declined_consent_days: int = 7
    closed_referral_days: int = 365
    outbox_days: int = 30
    tracker_orphans_days: int = 1  # orphans serve nothing: only a margin against clock skew

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            no_referral_days=settings.retention_no_referral_days,
            declined_consent_days=settings.retention_declined_consent_days,
            closed_referral_days=settings.retention_closed_referral_days,
            outbox_days=settings.retention_outbox_days,
        )

    def days(self, name: str) -> int:
        return getattr(self, f"{name}_days")


def _last_activity() -> Select:
    return (
        select(func.max(Message.created_at))
        .where(Message.conversation_id == Conversation.id)
        .scalar_subquery()
    )


def _candidates(name: str, cutoff: datetime) -> Select:
    """Conversation ids of class ``name`` whose period ended before ``cutoff``."""
    last = func.coalesce(_last_activity(), Conversation.created_at)
    any_referral = select(Referral.id).where(Referral.conversation_id == Conversation.id).exists()
    contact_open_referral = (
        select(Referral.id)
        .where(
            Referral.contact_id == Conversation.contact_id,
            Referral.status != ReferralStatus.CLOSED,
        )
        .exists()
    )
    declined = (
        select(IntakeProgress.id)
        .where(
            IntakeProgress.conversation_id == Conversation.id,
            IntakeProgress.consent_given.is_(False),
        )
        .exists()
    )
    query = select(Conversation.id).where(
        ~contact_open_referral,
        Conversation.status.not_in(
            [ConversationStatus.HUMAN, ConversationStatus.HANDOFF_REQUESTED]
        ),
        last < cutoff,
    )
    if name == "declined_consent":
        return query.where(declined, ~any_referral)
    if name == "no_referral":
        return query.where(~declined, ~any_referral)
    if name == "closed_referral":
        last_closed = (
            select(func.max(Referral.closed_at))
            .where(Referral.conversation_id == Conversation.id)
            .scalar_subquery()
        )
        return query.where(any_referral, last_closed < cutoff)
    raise ValueError(name)


async def _tracker_orphans(s: AsyncSession, tracker_url: str, cutoff: datetime) -> list[str]:
    """Tracker conversations idle since ``cutoff`` that the app does not have. The tracker is
    read first: a conversation exists in the app before Rasa ever sees it."""
    idle = await tracker_store.idle_senders(tracker_url, cutoff.timestamp())
    known: set[str] = set()
    for start in range(0, len(idle), 500):
        chunk = idle[start : start + 500]
        known |= set(await s.scalars(select(Conversation.id).where(Conversation.id.in_(chunk))))
    return sorted(set(idle) - known)


def _outbox_rows(cutoff: datetime) -> Select:
    return select(Delivery.id).where(
        Delivery.status.in_(
            [DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED]
        ),
        Delivery.updated_at < cutoff,
    )


async def count(
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    now: datetime,
    tracker_url: str = "",
) -> dict[str, int]:
    """What a run would purge now, per class (``intake purge --dry-run``)."""
    out: dict[str, int] = {}
    async with sessions() as s:
        for name in CLASSES:
            days = policy.days(name)
            if days <= 0:
                out[name] = 0
                continue
            cutoff = now - timedelta(days=days)
            if name == "tracker_orphans":
                out[name] = len(await _tracker_orphans(s, tracker_url, cutoff))
                continue
            if name == "outbox":  # rows of conversations purged above go with them
                purged = [
                    _candidates(c, now - timedelta(days=policy.days(c)))
                    for c in CONVERSATION_CLASSES
                    if policy.days(c) > 0
                ]
                query = _outbox_rows(cutoff)
                for candidates in purged:
                    query = query.where(Delivery.conversation_id.not_in(candidates))
            else:
                query = _candidates(name, cutoff)
            out[name] = int(await s.scalar(select(func.count()).select_from(query.subquery())) or 0)
    return out


async def purge(
    sessions: async_sessionmaker[AsyncSession],
    erasure: ErasureService,
    policy: Policy,
    *,
    now: datetime | None = None,
    actor: str = "retention",
    always_audit: bool = False,
) -> dict[str, int]:
    """Purges every class; returns how many conversations (outbox: rows) each lost."""
    now = now or utcnow()
    counts = {name: 0 for name in CLASSES}
    jobs: list[str] = []
    for name in CLASSES:
        days = policy.days(name)
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        if name == "tracker_orphans":
            try:
                async with sessions() as s:
                    orphans = await _tracker_orphans(s, erasure.tracker_url, cutoff)
                orphans = orphans[: BATCH * MAX_BATCHES]
                await tracker_store.erase_conversations(erasure.tracker_url, orphans)
                counts[name] = len(orphans)
            except Exception as exc:  # the tracker store is down: the other classes go on
                log.error("retention: tracker orphans skipped error=%s", type(exc).__name__)
            continue
        for _ in range(MAX_BATCHES):
            async with sessions() as s:
                if name == "outbox":
                    done, job_id = await _purge_outbox(s, erasure, cutoff, actor)
                else:
                    done, job_id = await _purge_conversations(s, erasure, name, cutoff, actor)
                await s.commit()
            counts[name] += done
            if job_id:
                jobs.append(job_id)
            if done < BATCH:
                break
            await asyncio.sleep(0)  # let the message path in between batches
    if any(counts.values()) or always_audit:
        async with sessions() as s:
            s.add(AuditEntry(actor=actor, action="retention_purge", detail=dict(counts)))
            await s.commit()
    log.info("retention run %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    for job_id in jobs:  # tracker events, Twilio, Telegram; what fails is retried later
        await erasure.run_job(job_id)
    return counts


async def _purge_conversations(
    s: AsyncSession, erasure: ErasureService, name: str, cutoff: datetime, actor: str
) -> tuple[int, str | None]:
    ids = list(await s.scalars(_candidates(name, cutoff).order_by(Conversation.id).limit(BATCH)))
    if not ids:
        return 0, None
    collected = await delete_rows(s, contact_ids=[], conversation_ids=ids)
    collected.counts["class"] = name  # type: ignore[assignment]
    job = await erasure.record_done_app_part(
        s, collected, reason=ErasureReason.RETENTION, actor=actor
    )
    return len(ids), job.id


async def _purge_outbox(
    s: AsyncSession, erasure: ErasureService, cutoff: datetime, actor: str
) -> tuple[int, str | None]:
    rows = list(
        await s.execute(
            select(Delivery.id, Delivery.channel, Delivery.provider_id).where(
                Delivery.id.in_(_outbox_rows(cutoff).order_by(Delivery.id).limit(BATCH))
            )
        )
    )
    if not rows:
        return 0, None
    # The bodies at Twilio go with our copies; Telegram's are past the 48 hours it allows.
    sids = sorted({pid for _, channel, pid in rows if channel in TWILIO_CHANNELS and pid})
    await s.execute(delete(Delivery).where(Delivery.id.in_([r[0] for r in rows])))
    job_id = None
    if sids:
        counts: dict = {"class": "outbox", "outbox_rows": len(rows)}
        collected = Collected([], [], counts, sids, [])
        job = await erasure.record_done_app_part(
            s, collected, reason=ErasureReason.RETENTION, actor=actor
        )
        job_id = job.id
    return len(rows), job_id


async def run(
    sessions: async_sessionmaker[AsyncSession],
    erasure: ErasureService,
    policy: Policy,
    interval_seconds: float,
) -> None:
    """The scheduled job (a task of the app's lifespan): a run at start-up, then every
    ``interval_seconds``."""
    while True:
        try:
            await purge(sessions, erasure, policy)
        except Exception as exc:  # a failed run (database busy...) must not stop the schedule
            log.error("retention run failed error=%s", type(exc).__name__)
        await asyncio.sleep(interval_seconds)
