"""Referrals: the service the actions (and later the caseworker queue) call.

Synchronous on purpose: the action server calls it from a worker thread with its own session.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def request_contact(
    session: Session, conversation_id: str, language: str | None = None
) -> Referral | None:
    """ "Talk to a person": the conversation waits for a caseworker, and the contact has an open
    referral in the queue (a new contact request, or the referral they already have).

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
        referral = Referral(
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            kind=ReferralKind.CONTACT_REQUEST,
            status=ReferralStatus.OPEN,
            language=language or conversation.language,
            channel=conversation.channel,
            intake={},
            screening_reasons=[],
            flags=[],
        )
        session.add(referral)
    session.commit()
    return referral
