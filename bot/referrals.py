"""Referrals: the service the actions, the safety layer (and the caseworker queue) call.

Synchronous on purpose: the action server calls it from a worker thread with its own session,
the app through ``AsyncSession.run_sync``. A contact has at most one open referral (a partial
unique index): a new request or a second intake submission updates it instead of adding another.

Flags and priority always come from one place, ``_rescreen``: the operator's screening rules
applied to the referral's intake (if any) plus the safety flags raised in the conversation, so a
flag raised once (a crisis, a close removal date, a fear of detention) stays on every later
referral from that conversation, contact requests included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.intake import progress, screening
from bot.intake.vocabulary import UNVERIFIED_WEB
from bot.store.intake import IntakeProgress
from bot.store.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Referral,
    ReferralKind,
    ReferralStatus,
    utcnow,
)
from bot.store.safety import ConversationFlag, FlagSource

# ``UNVERIFIED_WEB`` (labelled in the vocabulary): a contact request from the web chat by
# someone who has not started an intake (no consented answers): anyone on the internet can make
# one with a script, so caseworkers see it marked. Such requests are also rate-limited per client
# address (``RATE_LIMIT_WEB_CONTACT_ADDRESS``, bot/channels/web.py). Not a safety flag: it never
# changes priority, it goes away when the person submits an intake, and a referral carrying a
# safety flag (a crisis...) is never marked: nothing may make a caseworker discount it.


def open_referral(session: Session, contact_id: str) -> Referral | None:
    return session.scalar(
        select(Referral).where(
            Referral.contact_id == contact_id, Referral.status != ReferralStatus.CLOSED
        )
    )


def _new_referral(conversation: Conversation, kind: str, language: str | None) -> Referral:
    return Referral(
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        kind=kind,
        status=ReferralStatus.OPEN,
        language=language or conversation.language,
        channel=conversation.channel,
        intake={},
        screening_reasons=[],
        flags=[],
    )


def raised_flags(session: Session, conversation_id: str) -> frozenset[str]:
    """The safety flags raised so far in a conversation."""
    return frozenset(
        session.scalars(
            select(ConversationFlag.flag).where(ConversationFlag.conversation_id == conversation_id)
        )
    )


def has_intake(session: Session, contact_id: str) -> bool:
    """The contact consented to the intake and gave at least one answer (or submitted it)."""
    return any(
        p.consent_given and (p.answers or p.submitted_at is not None)
        for p in session.scalars(
            select(IntakeProgress).where(IntakeProgress.contact_id == contact_id)
        )
    )


def _unverified_web(session: Session, referral: Referral, flags: list[str]) -> bool:
    return (
        referral.channel == "web"
        and not set(flags) & set(screening.SAFETY_FLAG_PRIORITY)
        and referral.kind == ReferralKind.CONTACT_REQUEST
        and not has_intake(session, referral.contact_id)
    )


@dataclass(frozen=True)
class ContactRequestQuota:
    """What the web chat needs to know before a contact request: does it count against the
    per-address quota (it would create a referral without an intake), and the language to
    answer a refusal in."""

    counts: bool
    language: str | None


def contact_request_quota(session: Session, channel: str, address: str) -> ContactRequestQuota:
    contact = session.scalar(select(Contact).where(Contact.matches(channel, address)))
    if contact is None:
        return ContactRequestQuota(True, None)
    if open_referral(session, contact.id) is not None:
        return ContactRequestQuota(False, contact.language)  # nothing new would be created
    return ContactRequestQuota(not has_intake(session, contact.id), contact.language)


def _rescreen(
    session: Session, referral: Referral, rules: screening.RuleSet, today: date | None = None
) -> screening.Result:
    """Flags and priority of a referral from its intake and its conversation's raised flags
    (and ``UNVERIFIED_WEB`` on a web contact request without an intake)."""
    result = screening.evaluate(
        rules, referral.intake or {}, today, raised_flags(session, referral.conversation_id)
    )
    unverified = _unverified_web(session, referral, result.flags)
    referral.flags = result.flags + ([UNVERIFIED_WEB] if unverified else [])
    referral.priority = result.priority
    return result


def raise_flags(
    session: Session,
    conversation_id: str,
    flags: Iterable[str],
    *,
    source: FlagSource,
    rules: screening.RuleSet,
) -> Referral | None:
    """Record safety flags on a conversation and carry them onto its open referral at once
    (a caseworker's queue re-sorts). Returns the open referral, if any. A crisis flag is
    recorded as not yet synced with Rasa (the caller stops Rasa's form, then marks it)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    now = utcnow()
    for flag in flags:
        row = session.get(ConversationFlag, (conversation_id, flag))
        if row is None:
            row = ConversationFlag(conversation_id=conversation_id, flag=flag, source=source)
            session.add(row)
        row.last_seen_at = now
        if flag == "crisis":
            row.engine_synced = False
    session.flush()
    referral = open_referral(session, conversation.contact_id)
    if referral is not None:
        _rescreen(session, referral, rules)
    session.commit()
    return referral


def mark_engine_synced(session: Session, conversation_id: str) -> None:
    for row in session.scalars(
        select(ConversationFlag).where(
            ConversationFlag.conversation_id == conversation_id,
            ConversationFlag.engine_synced.is_(False),
        )
    ):
        row.engine_synced = True
    session.commit()


def request_contact(
    session: Session,
    conversation_id: str,
    language: str | None = None,
    *,
    rules: screening.RuleSet,
) -> Referral | None:
    """ "Talk to a person" (or a crisis): the conversation waits for a caseworker, and the
    contact has an open referral in the queue (a new contact request, or the referral they
    already have) with whatever intake answers exist so far (only after consent), its flags and
    priority (``_rescreen``).

    ``language`` is the conversation language as the assistant knows it at this turn (the app
    stores it on the conversation only once the turn is answered)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    if conversation.status == ConversationStatus.BOT:
        conversation.status = ConversationStatus.HANDOFF_REQUESTED
        conversation.handoff_requested_at = utcnow()
    referral = open_referral(session, conversation.contact_id)
    if referral is None:
        referral = _new_referral(conversation, ReferralKind.CONTACT_REQUEST, language)
        session.add(referral)
    saved = progress.get(session, conversation_id)
    if saved is not None and saved.consent_given and referral.kind != ReferralKind.INTAKE:
        referral.intake = dict(saved.answers or {})  # a submitted intake is never overwritten
    if referral.kind != ReferralKind.INTAKE:
        referral.conversation_id = conversation.id
    if language:
        referral.language = language
    session.flush()
    _rescreen(session, referral, rules)
    session.commit()
    return referral


def submit_intake(
    session: Session,
    conversation_id: str,
    *,
    intake: dict[str, Any],
    language: str,
    rules: screening.RuleSet,
    today: date | None = None,
) -> tuple[Referral, screening.Result] | None:
    """A submitted intake: creates the contact's open referral, or updates the one they have
    (a contact request becomes an intake referral; a second submission replaces the answers),
    screened with the conversation's raised flags."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    referral = open_referral(session, conversation.contact_id)
    if referral is None:
        referral = _new_referral(conversation, ReferralKind.INTAKE, language)
        session.add(referral)
    referral.kind = ReferralKind.INTAKE
    referral.conversation_id = conversation.id
    referral.channel = conversation.channel
    referral.language = language
    referral.intake = dict(intake)
    session.flush()
    result = _rescreen(session, referral, rules, today)
    referral.screening_outcome = result.outcome
    referral.screening_reasons = list(result.reasons)
    progress.mark_submitted(session, conversation_id, referral.id)
    session.commit()
    return referral, result
