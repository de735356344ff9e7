"""Saved intake progress: the service the form's actions call after every answer.

Synchronous, like ``bot.referrals``: the action server calls it from a worker thread.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.intake import IntakeProgress, IntakeStatus
from bot.store.models import Conversation, utcnow


def get(session: Session, conversation_id: str) -> IntakeProgress | None:
    return session.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation_id)
    )


def _get_or_create(session: Session, conversation_id: str) -> IntakeProgress | None:
    progress = get(session, conversation_id)
    if progress is not None:
        return progress
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    progress = IntakeProgress(
        conversation_id=conversation_id, contact_id=conversation.contact_id, answers={}
    )
    session.add(progress)
    return progress


def record_consent(
    session: Session, conversation_id: str, given: bool, version: str, language: str
) -> IntakeProgress | None:
    progress = _get_or_create(session, conversation_id)
    if progress is None:
        return None
    progress.consent_given = given
    progress.consent_at = utcnow()
    progress.consent_version = version
    progress.language = language
    progress.status = IntakeStatus.IN_PROGRESS if given else IntakeStatus.DECLINED
    if not given:
        progress.answers = {}  # nothing is kept from a person who said no
    session.commit()
    return progress


def save_answers(
    session: Session, conversation_id: str, values: dict[str, Any], language: str
) -> IntakeProgress | None:
    """Merge normalised answers; only after consent (never store data without it)."""
    progress = get(session, conversation_id)
    if progress is None or not progress.consent_given:
        return None
    progress.answers = {**(progress.answers or {}), **values}
    progress.language = language
    if progress.status == IntakeStatus.SUBMITTED:
        progress.status = IntakeStatus.IN_PROGRESS  # changing answers after sending them
    session.commit()
    return progress


def clear_answers(session: Session, conversation_id: str) -> IntakeProgress | None:
    """Start over: the answers go, the consent record stays."""
    progress = get(session, conversation_id)
    if progress is None:
        return None
    progress.answers = {}
    progress.status = IntakeStatus.IN_PROGRESS if progress.consent_given else progress.status
    session.commit()
    return progress


def mark_submitted(session: Session, conversation_id: str, referral_id: str) -> None:
    progress = get(session, conversation_id)
    if progress is not None:
        progress.status = IntakeStatus.SUBMITTED
        progress.referral_id = referral_id
        progress.submitted_at = utcnow()
        session.commit()
