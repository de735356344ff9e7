"""What caseworkers do with referrals: the queue, one referral, and the actions on it.

The web routes and the API call these functions; each change records its audit entry in the same
transaction (the caller commits), so a change never exists without its record.
"""

from __future__ import annotations

import csv
import io
import logging
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.caseworker import audit
from bot.caseworker.i18n import OUTCOMES
from bot.caseworker.security import aware
from bot.intake import screening, vocabulary
from bot.store.caseworkers import Note, User
from bot.store.intake import IntakeProgress
from bot.store.models import (
    Author,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    InboundStatus,
    Message,
    OutboundStatus,
    Referral,
    ReferralStatus,
    utcnow,
)

log = logging.getLogger(__name__)


class ActionError(ValueError):
    """An action that cannot be done now; ``code`` is a UI message key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- the queue -----------------------------------------------------------------------------


PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilter:
    status: str = "active"  # active (open or claimed), open, claimed, closed, all
    language: str = ""
    channel: str = ""
    screening: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    page: int = 1

    def as_query(self, **changes: Any) -> dict[str, str]:
        values = {**self.__dict__, **changes}
        return {k: str(v) for k, v in values.items() if v and not (k == "page" and v == 1)}


@dataclass
class QueueRow:
    referral: Referral
    new_messages: int  # person messages since the referral (or its intake) and the last reply
    assignee_name: str | None


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int


@dataclass
class Counts:
    open: int = 0
    claimed: int = 0
    mine: int = 0
    unassigned: int = 0
    urgent: int = 0  # active referrals with an urgent flag (the live queue draws attention)
    urgent_ids: list[str] = field(default_factory=list)


def _filtered(query: Select[Any], f: QueueFilter, user: User) -> Select[Any]:
    if f.status == "active":
        query = query.where(Referral.status != ReferralStatus.CLOSED)
    elif f.status in {s.value for s in ReferralStatus}:
        query = query.where(Referral.status == f.status)
    if f.language:
        query = query.where(Referral.language == f.language)
    if f.channel:
        query = query.where(Referral.channel == f.channel)
    if f.screening:
        query = query.where(Referral.screening_outcome == f.screening)
    if f.assignee == "me":
        query = query.where(Referral.assigned_to == user.id)
    elif f.assignee == "none":
        query = query.where(Referral.assigned_to.is_(None))
    elif f.assignee:
        query = query.where(Referral.assigned_to == f.assignee)
    return query


def _new_messages() -> Any:
    """Person messages the caseworker has not had a chance to read on the referral: written
    after the referral was created, after the intake was sent (the form's own answers are in
    the intake) and after the last caseworker message."""
    message = aliased(Message)
    reply = aliased(Message)
    last_reply = (
        select(func.coalesce(func.max(reply.id), 0))
        .where(reply.conversation_id == Referral.conversation_id)
        .where(reply.author == Author.CASEWORKER)
        .correlate(Referral)
        .scalar_subquery()
    )
    submitted = (
        select(IntakeProgress.submitted_at)
        .where(IntakeProgress.conversation_id == Referral.conversation_id)
        .correlate(Referral)
        .scalar_subquery()
    )
    return (
        select(func.count(message.id))
        .where(
            message.conversation_id == Referral.conversation_id,
            message.author == Author.PERSON,
            message.created_at > Referral.created_at,
            message.id > last_reply,
            or_(submitted.is_(None), message.created_at > submitted),
        )
        .correlate(Referral)
        .scalar_subquery()
    )


async def queue(
    s: AsyncSession, f: QueueFilter, user: User, page_size: int | None = None
) -> QueuePage:
    """Most urgent first, then longest waiting; one page of any number of referrals."""
    page_size = page_size or PAGE_SIZE
    filtered = _filtered(select(Referral.id), f, user)
    total = await s.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(f.page, 1), pages)
    rows = await s.execute(
        _filtered(select(Referral, _new_messages()), f, user)
        .order_by(Referral.priority.desc(), Referral.created_at, Referral.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    names = await user_names(s)
    return QueuePage(
        [QueueRow(r, n or 0, names.get(r.assigned_to) if r.assigned_to else None) for r, n in rows],
        total,
        page,
        pages,
    )


async def counts(
    s: AsyncSession, user: User, catalogue: dict[str, vocabulary.FlagInfo] | None = None
) -> Counts:
    rows = await s.execute(
        select(Referral.status, Referral.assigned_to, func.count())
        .where(Referral.status != ReferralStatus.CLOSED)
        .group_by(Referral.status, Referral.assigned_to)
    )
    result = Counts()
    for status, assigned_to, n in rows:
        if status == ReferralStatus.OPEN:
            result.open += n
        else:
            result.claimed += n
        if assigned_to == user.id:
            result.mine += n
        if assigned_to is None:
            result.unassigned += n
    if catalogue is not None:
        flagged = await s.execute(
            select(Referral.id, Referral.flags).where(
                Referral.status != ReferralStatus.CLOSED, Referral.priority > 0
            )
        )
        result.urgent_ids = sorted(
            rid for rid, flags in flagged if vocabulary.urgent_flags(catalogue, flags)
        )
        result.urgent = len(result.urgent_ids)
    return result


async def user_names(s: AsyncSession) -> dict[str, str]:
    return {u.id: u.display_name for u in await s.scalars(select(User))}


async def active_users(s: AsyncSession) -> list[User]:
    return list(await s.scalars(select(User).where(User.active).order_by(User.display_name)))


# -- flags -----------------------------------------------------------------------------------


def flag_catalogue(rules_path: Path) -> dict[str, vocabulary.FlagInfo]:
    """Flag labels and urgency from the operator's rules file (read at each use, so edits apply
    without a restart), with the built-in safety flags if the file cannot be read."""
    try:
        rules = screening.load_rules(rules_path)
    except screening.RulesError:
        log.warning("screening rules file unreadable: only the built-in flag labels are shown")
        rules = None
    return vocabulary.flags(rules)


def labelled(
    referral: Referral, catalogue: dict[str, vocabulary.FlagInfo], language: str
) -> dict[str, Any]:
    """A referral's codes as words in ``language``: the API's ``labels`` block and the CSV's
    label columns (the same words as the caseworker pages)."""

    def word(table: dict[str, vocabulary.Texts], code: str | None) -> str | None:
        return vocabulary.pick(table[code], language) if code in table else code

    answers, _ = split_intake(referral.intake)
    return {
        "language": language,
        "kind": word(vocabulary.KIND_LABELS, referral.kind),
        "status": word(vocabulary.STATUS_LABELS, referral.status),
        "screening_outcome": word(vocabulary.OUTCOME_LABELS, referral.screening_outcome),
        "reasons": [vocabulary.reason_text(r, language) for r in referral.screening_reasons or []],
        "flags": {f: vocabulary.flag_label(catalogue, f, language) for f in referral.flags or []},
        "urgent": bool(vocabulary.urgent_flags(catalogue, referral.flags)),
        "intake": [
            {"field": r.key, "label": r.label, "value": r.value, "as_written": r.as_written}
            for r in vocabulary.rows(answers, language)
        ],
    }


# -- one referral --------------------------------------------------------------------------


@dataclass(frozen=True)
class Consent:
    """The person's consent to the intake, as the form recorded it (``intake_progress``)."""

    given: bool | None
    at: datetime | None
    version: str | None


@dataclass
class ReferralView:
    referral: Referral
    conversation: Conversation
    contact: Contact
    messages: list[Message]
    notes: list[tuple[Note, str]]
    intake: dict[str, Any] = field(default_factory=dict)  # without contact details
    consent: Consent | None = None  # None: the person never reached the consent question
    contact_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def undelivered(self) -> int:
        """Replies the outbox gave up on (bot/channels/outbox.py): the person never got them."""
        return sum(
            1
            for m in self.messages
            if m.direction == Direction.OUT and m.status == OutboundStatus.FAILED
        )


async def consent_of(s: AsyncSession, conversation_id: str) -> Consent | None:
    saved = await s.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation_id)
    )
    if saved is None or saved.consent_at is None:
        return None
    return Consent(saved.consent_given, saved.consent_at, saved.consent_version)


def split_intake(intake: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers, contact details) from the intake the assistant collected."""
    answers, contact = {}, {}
    for key, raw in (intake or {}).items():
        (contact if vocabulary.is_contact(key) else answers)[key] = raw
    return answers, contact


async def load(s: AsyncSession, referral_id: str) -> Referral:
    referral = await s.get(Referral, referral_id)
    if referral is None:
        raise ActionError("not_found")
    return referral


async def view(s: AsyncSession, referral_id: str) -> ReferralView:
    referral = await load(s, referral_id)
    conversation = await s.get(Conversation, referral.conversation_id)
    contact = await s.get(Contact, referral.contact_id)
    assert conversation is not None and contact is not None
    messages = list(
        await s.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
    )
    names = await user_names(s)
    notes = [
        (n, names.get(n.user_id, "?"))
        for n in await s.scalars(
            select(Note).where(Note.referral_id == referral.id).order_by(Note.id)
        )
    ]
    answers, contact_fields = split_intake(referral.intake)
    consent = await consent_of(s, referral.conversation_id)
    return ReferralView(
        referral, conversation, contact, messages, notes, answers, consent, contact_fields
    )


async def messages_after(s: AsyncSession, referral: Referral, after_id: int) -> list[Message]:
    return list(
        await s.scalars(
            select(Message)
            .where(Message.conversation_id == referral.conversation_id, Message.id > after_id)
            .order_by(Message.id)
        )
    )


# At most this many dots: a mask need not tell the length, and a long value (a web chat
# person's address is a 64-character hash) must not push the page wider than a phone.
MASK_DOTS = 8


def mask(value: Any) -> str:
    """'+14165550123' -> '••••••••0123'; short values are fully masked."""
    text = str(value)
    visible = 4 if len(text) >= 8 else 0
    return "•" * min(len(text) - visible, MASK_DOTS) + text[len(text) - visible :]


# -- actions -------------------------------------------------------------------------------


def _require_active(referral: Referral) -> None:
    if referral.status == ReferralStatus.CLOSED:
        raise ActionError("not_found")


def claim(s: AsyncSession, user: User, referral: Referral) -> None:
    _require_active(referral)
    before = referral.assigned_to
    referral.status = ReferralStatus.CLAIMED
    referral.assigned_to = user.id
    audit.record(s, user, "claim", referral.id, previous_assignee=before)


async def assign(s: AsyncSession, user: User, referral: Referral, assignee_id: str) -> None:
    _require_active(referral)
    target = await s.get(User, assignee_id)
    if target is None or not target.active:
        raise ActionError("not_found")
    before = referral.assigned_to
    referral.status = ReferralStatus.CLAIMED
    referral.assigned_to = target.id
    audit.record(s, user, "assign", referral.id, assignee=target.id, previous_assignee=before)


def unassign(s: AsyncSession, user: User, referral: Referral) -> None:
    _require_active(referral)
    before = referral.assigned_to
    referral.status = ReferralStatus.OPEN
    referral.assigned_to = None
    audit.record(s, user, "unassign", referral.id, previous_assignee=before)


async def take_over(s: AsyncSession, user: User, referral: Referral) -> Conversation:
    """The assistant goes silent: the app leaves a ``human`` conversation to caseworkers."""
    _require_active(referral)
    conversation = await s.get(Conversation, referral.conversation_id)
    assert conversation is not None
    if conversation.status != ConversationStatus.HUMAN:
        before = conversation.status
        conversation.status = ConversationStatus.HUMAN
        audit.record(s, user, "take_over", referral.id, previous_status=before)
    if referral.assigned_to is None:
        claim(s, user, referral)
    return conversation


async def _settle_inbound(s: AsyncSession, conversation_id: str) -> int:
    """Marks what the person wrote while a caseworker had the conversation as handled, so the
    assistant, once it is back, does not answer messages that were meant for the caseworker."""
    result = await s.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.IN,
            Message.status.in_([InboundStatus.RECEIVED, InboundStatus.PENDING]),
        )
        .values(status=InboundStatus.HANDLED)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def hand_back(s: AsyncSession, user: User, referral: Referral) -> None:
    conversation = await s.get(Conversation, referral.conversation_id)
    assert conversation is not None
    before = conversation.status
    settled = await _settle_inbound(s, conversation.id) if before == ConversationStatus.HUMAN else 0
    conversation.status = ConversationStatus.BOT
    audit.record(s, user, "hand_back", referral.id, previous_status=before, settled=settled)


async def close(s: AsyncSession, user: User, referral: Referral, outcome: str, note: str) -> None:
    _require_active(referral)
    if outcome not in OUTCOMES:
        raise ActionError("bad_outcome")
    referral.status = ReferralStatus.CLOSED
    referral.outcome = outcome
    referral.outcome_note = note.strip() or None
    referral.closed_at = utcnow()
    conversation = await s.get(Conversation, referral.conversation_id)
    if conversation is not None and conversation.status in (
        ConversationStatus.HUMAN,
        ConversationStatus.HANDOFF_REQUESTED,
    ):
        if conversation.status == ConversationStatus.HUMAN:
            await _settle_inbound(s, conversation.id)
        conversation.status = ConversationStatus.BOT  # the assistant answers again
    audit.record(s, user, "close", referral.id, outcome=outcome, note_chars=len(note.strip()))


async def reopen(s: AsyncSession, user: User, referral: Referral) -> None:
    if referral.status != ReferralStatus.CLOSED:
        return
    other = await s.scalar(
        select(Referral.id).where(
            Referral.contact_id == referral.contact_id,
            Referral.status != ReferralStatus.CLOSED,
            Referral.id != referral.id,
        )
    )
    if other is not None:
        raise ActionError("already_open")
    before = referral.outcome
    referral.status = ReferralStatus.CLAIMED if referral.assigned_to else ReferralStatus.OPEN
    referral.outcome = None
    referral.closed_at = None
    audit.record(s, user, "reopen", referral.id, previous_outcome=before)


def add_note(s: AsyncSession, user: User, referral: Referral, text: str) -> Note:
    note = Note(referral_id=referral.id, user_id=user.id, text=text.strip())
    s.add(note)
    audit.record(s, user, "add_note", referral.id, chars=len(note.text))
    return note


# -- supervisor numbers and export ---------------------------------------------------------


@dataclass
class Numbers:
    per_week: list[tuple[str, int]]
    by_outcome: list[tuple[str | None, int]]
    by_language: list[tuple[str | None, int]]
    median_first_reply: timedelta | None
    replied: int  # referrals with a caseworker reply (the median's sample)
    # Replies the outbox finally failed to deliver, and the conversations they belong to.
    undelivered: int = 0
    undelivered_conversations: int = 0


async def numbers(s: AsyncSession) -> Numbers:
    first_reply = (
        select(func.min(Message.created_at))
        .where(
            Message.conversation_id == Referral.conversation_id,
            Message.author == Author.CASEWORKER,
            Message.created_at >= Referral.created_at,
        )
        .correlate(Referral)
        .scalar_subquery()
    )
    rows = (
        await s.execute(
            select(Referral.created_at, Referral.outcome, Referral.language, first_reply)
        )
    ).all()
    undelivered = (
        await s.execute(
            select(func.count(), func.count(func.distinct(Message.conversation_id))).where(
                Message.direction == Direction.OUT, Message.status == OutboundStatus.FAILED
            )
        )
    ).one()
    weeks: Counter[str] = Counter()
    outcomes: Counter[str | None] = Counter()
    languages: Counter[str | None] = Counter()
    waits: list[float] = []
    for created_at, outcome, language, replied_at in rows:
        year, week, _ = aware(created_at).isocalendar()
        weeks[f"{year}-W{week:02d}"] += 1
        outcomes[outcome] += 1
        languages[language] += 1
        if replied_at is not None:
            waits.append((aware(replied_at) - aware(created_at)).total_seconds())
    return Numbers(
        per_week=sorted(weeks.items(), reverse=True),
        by_outcome=outcomes.most_common(),
        by_language=languages.most_common(),
        median_first_reply=timedelta(seconds=statistics.median(waits)) if waits else None,
        replied=len(waits),
        undelivered=undelivered[0],
        undelivered_conversations=undelivered[1],
    )


EXPORT_COLUMNS = [
    "id",
    "created_at",
    "status",
    "kind",
    "language",
    "channel",
    "contact_address",
    "screening_outcome",
    "screening_reasons",
    "flags",
    "priority",
    "assigned_to",
    "outcome",
    "outcome_note",
    "closed_at",
    "intake",
]
# The same referral in words, in the language the supervisor chose (one vocabulary).
LABEL_COLUMNS = [
    "kind_label",
    "status_label",
    "screening_outcome_label",
    "screening_reasons_text",
    "flag_labels",
    "urgent",
    "intake_labelled",
]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula in spreadsheets (CSV injection): make it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_csv(
    s: AsyncSession, catalogue: dict[str, vocabulary.FlagInfo], language: str
) -> tuple[str, int]:
    import json

    names = await user_names(s)
    rows = await s.execute(
        select(Referral, Contact.address)
        .join(Contact, Contact.id == Referral.contact_id)
        .order_by(Referral.created_at)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS + LABEL_COLUMNS)
    n = 0
    for r, address in rows:
        n += 1
        words = labelled(r, catalogue, language)
        intake_words = "; ".join(
            f"{row['label']}: {row['value']}"
            + (f" ({row['as_written']})" if row["as_written"] is not None else "")
            for row in words["intake"]
        )
        writer.writerow(
            [
                _cell(v)
                for v in (
                    r.id,
                    aware(r.created_at).isoformat(),
                    r.status,
                    r.kind,
                    r.language,
                    r.channel,
                    address,
                    r.screening_outcome,
                    json.dumps(r.screening_reasons, ensure_ascii=False),
                    " ".join(r.flags or []),
                    r.priority,
                    names.get(r.assigned_to) if r.assigned_to else "",
                    r.outcome,
                    r.outcome_note,
                    aware(r.closed_at).isoformat() if r.closed_at else "",
                    json.dumps(r.intake, ensure_ascii=False),
                    words["kind"],
                    words["status"],
                    words["screening_outcome"],
                    " | ".join(words["reasons"]),
                    "; ".join(words["flags"].values()),
                    "yes" if words["urgent"] else "no",
                    intake_words,
                )
            ]
        )
    return out.getvalue(), n


# -- audit log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    referral_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # page: entries older than this id


async def audit_entries(s: AsyncSession, f: AuditFilter, limit: int = 100) -> list[Any]:
    from bot.store.caseworkers import AuditEntry

    query = select(AuditEntry)
    conditions = []
    if f.actor:
        conditions.append(AuditEntry.actor == f.actor)
    if f.action:
        conditions.append(AuditEntry.action == f.action)
    if f.referral_id:
        conditions.append(AuditEntry.referral_id == f.referral_id)
    if f.since:
        conditions.append(AuditEntry.at >= f.since)
    if f.until:
        conditions.append(AuditEntry.at < f.until)
    if f.before_id:
        conditions.append(AuditEntry.id < f.before_id)
    if conditions:
        query = query.where(and_(*conditions))
    return list(await s.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
