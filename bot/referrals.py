"""Referrals: the service the actions (and the caseworker queue) call.

Synchronous on purpose: the action server calls it from a worker thread with its own session.
A contact has at most one open referral (a partial unique index): a new request or a second
intake submission updates it instead of adding another.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.intake import progress
from bot.store.models import (
    Conversation,
    ConversationStatus,
    Referral,
    ReferralKind,
    ReferralStatus,
    utcnow,
)


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


def request_contact(
    session: Session,
    conversation_id: str,
    language: str | None = None,
    *,
    flags: list[str] | None = None,
    priority: int | None = None,
) -> Referral | None:
    """ "Talk to a person": the conversation waits for a caseworker, and the contact has an open
    referral in the queue (a new contact request, or the referral they already have) with
    whatever intake answers exist so far.

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
        if flags is not None:
            referral.flags = flags
            referral.priority = priority or 0
    if language:
        referral.language = language
    session.commit()
    return referral


def submit_intake(
    session: Session,
    conversation_id: str,
    *,
    intake: dict[str, Any],
    language: str,
    outcome: str,
    reasons: list[dict[str, Any]],
    flags: list[str],
    priority: int,
) -> Referral | None:
    """A submitted intake: creates the contact's open referral, or updates the one they have
    (a contact request becomes an intake referral; a second submission replaces the answers)."""
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
    referral.screening_outcome = outcome
    referral.screening_reasons = list(reasons)
    referral.flags = list(flags)
    referral.priority = priority
    session.flush()
    progress.mark_submitted(session, conversation_id, referral.id)
    session.commit()
    return referral
