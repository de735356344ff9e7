"""Integration API for case-management systems: read referrals with a bearer token.

    GET /api/v1/referrals?status=&language=&channel=&screening_outcome=&updated_since=
                         &limit=&offset=&lang=
    GET /api/v1/referrals/{id}?lang=

Codes are the intake vocabulary's (``bot/intake/vocabulary.py``, docs/intake.md "Fields");
``lang=en|fr`` adds a ``labels`` block with the same words the caseworker pages show.

Tokens are created with ``intake token create NAME --scope ...`` and need the ``referrals:read``
scope. Every call, allowed or not, writes an audit entry (a refused one only when the token is
known). Contact details (the contact address and the intake's contact fields, also as typed) are
masked, as in the web app before a caseworker reveals them, unless the token also has
``referrals:read_contact``; then each referral whose details a call returns gets its own
``api_reveal_contact`` audit entry (who saw whose contact details, like the web app's reveal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.caseworker import audit, security, service
from bot.intake import vocabulary
from bot.store.caseworkers import ApiToken
from bot.store.models import Contact, Referral, ReferralStatus, utcnow

PREFIX = "/api/v1"

# The screening outcomes, as the vocabulary spells them (documented in the OpenAPI schema).
ScreeningOutcome = StrEnum(  # type: ignore[misc]
    "ScreeningOutcome", {code: code for code in vocabulary.OUTCOMES}
)

router = APIRouter(prefix=PREFIX, tags=["integration API"])
bearer = HTTPBearer(
    auto_error=False,
    description="A token from `intake token create NAME --scope SCOPE`. Scopes: "
    + "; ".join(f"`{name}`: {text}" for name, text in security.API_SCOPES.items())
    + ". Each operation lists the scopes it requires.",
)


class ScreeningReason(BaseModel):
    rule_id: str | None = Field(None, description="the rule's id in content/screening.yml")
    outcome: str | None = Field(None, description="the outcome this rule gives")
    en: str | None = None
    fr: str | None = None
    source: str | None = Field(None, description="where in the fact sheet the rule rests")


class IntakeLine(BaseModel):
    field: str = Field(description="the intake key, e.g. citizenship")
    label: str = Field(description="the field's label in the requested language")
    value: str = Field(description="the value's label (a country name, 'Demande refusée', ...)")
    as_written: str | None = Field(
        description="what the person typed when the form could not understand it"
    )


class ReferralLabels(BaseModel):
    """The referral's codes as words, in ``lang`` (the caseworker pages' words)."""

    language: str = Field(description="en or fr")
    kind: str | None
    status: str | None
    screening_outcome: str | None
    reasons: list[str] = Field(description="screening reasons, in the order of the codes")
    flags: dict[str, str] = Field(description="flag id -> label")
    urgent: bool = Field(description="true when any flag is urgent (sorted first)")
    intake: list[IntakeLine] = Field(
        description="the intake's answers in the form's order (contact details left out)"
    )


class ReferralOut(BaseModel):
    id: str
    kind: str = Field(description="intake or contact_request")
    status: str = Field(description="open, claimed or closed")
    language: str | None
    channel: str
    contact_address_masked: str
    contact_address: str | None = Field(
        None, description="the contact address; only for a token with referrals:read_contact"
    )
    intake: dict[str, Any] = Field(
        description="intake codes by field (docs/intake.md 'Fields'); contact details masked "
        "unless the token has referrals:read_contact"
    )
    screening_outcome: str | None = Field(description="one of: " + ", ".join(vocabulary.OUTCOMES))
    screening_reasons: list[ScreeningReason]
    flags: list[str] = Field(description="flag ids (content/screening.yml flags)")
    priority: int
    assigned_to: str | None = Field(description="caseworker account id")
    outcome: str | None
    outcome_note: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    labels: ReferralLabels | None = Field(None, description="present when lang is given")


class ReferralPage(BaseModel):
    items: list[ReferralOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last")


class ApiError(BaseModel):
    detail: str


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(request.app.state.db, expire_on_commit=False)() as s:
        yield s


class Caller:
    """The token of an allowed call, its database session, and whether it sees contact details."""

    def __init__(self, token: ApiToken, s: AsyncSession) -> None:
        self.token, self.s = token, s
        self.sees_contact = security.READ_CONTACT in token.scopes


async def _token(
    request: Request,
    required: SecurityScopes,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    s: Annotated[AsyncSession, Depends(_db)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    token = await security.find_token(s, credentials.credentials)
    if token is None:
        raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
    token.last_used_at = utcnow()
    missing = [scope for scope in required.scopes if scope not in token.scopes]
    if missing:
        audit.record(s, token, "api_denied", path=request.url.path, scope=missing[0])
        await s.commit()
        raise HTTPException(403, f"this token lacks the {missing[0]} scope")
    return Caller(token, s)


Reader = Annotated[Caller, Security(_token, scopes=[security.READ])]


Lang = Annotated[
    str | None, Query(pattern="^(en|fr)$", description="add a labels block in this language")
]


def _shown_intake(intake: dict[str, Any] | None, reveal: bool) -> dict[str, Any]:
    answers, contact = service.split_intake(intake or {})
    shown = {k: v if reveal else service.mask(v) for k, v in contact.items() if v}
    return {**answers, **shown}


def _out(
    caller: Caller,
    referral: Referral,
    address: str,
    lang: str | None = None,
    catalogue: dict[str, vocabulary.FlagInfo] | None = None,
) -> ReferralOut:
    """The referral as the API shows it; a reveal of contact details is audited here."""
    if caller.sees_contact:
        audit.record(caller.s, caller.token, "api_reveal_contact", referral.id)
    labels = ReferralLabels(**service.labelled(referral, catalogue or {}, lang)) if lang else None
    reasons = [
        ScreeningReason(**{**r, "rule_id": vocabulary.reason_rule_id(r)})
        for r in referral.screening_reasons or []
        if isinstance(r, dict)
    ]
    return ReferralOut(
        id=referral.id,
        kind=referral.kind,
        status=referral.status,
        language=referral.language,
        channel=referral.channel,
        contact_address_masked=service.mask(address),
        contact_address=address if caller.sees_contact else None,
        intake=_shown_intake(referral.intake, caller.sees_contact),
        screening_outcome=referral.screening_outcome,
        screening_reasons=reasons,
        flags=referral.flags or [],
        priority=referral.priority,
        assigned_to=referral.assigned_to,
        outcome=referral.outcome,
        outcome_note=referral.outcome_note,
        created_at=security.aware(referral.created_at),
        updated_at=security.aware(referral.updated_at),
        closed_at=security.aware(referral.closed_at) if referral.closed_at else None,
        labels=labels,
    )


def _catalogue(request: Request, lang: str | None) -> dict[str, vocabulary.FlagInfo]:
    return service.flag_catalogue(request.app.state.settings.screening_rules_path) if lang else {}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "missing, unknown or revoked token"},
    403: {"model": ApiError, "description": "the token lacks the referrals:read scope"},
}
_SCOPES_NOTE = (
    "Needs the `referrals:read` scope. Contact details are masked unless the token also has "
    "`referrals:read_contact`; each referral returned unmasked is recorded in the audit log."
)


@router.get("/referrals", response_model=ReferralPage, responses=_ERRORS, description=_SCOPES_NOTE)
async def list_referrals(
    request: Request,
    caller: Reader,
    status: Annotated[ReferralStatus | None, Query()] = None,
    language: Annotated[str | None, Query(pattern="^(en|fr)$")] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    screening_outcome: Annotated[ScreeningOutcome | None, Query()] = None,
    updated_since: Annotated[datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    lang: Lang = None,
) -> ReferralPage:
    """Referrals, oldest first (stable order for paging)."""
    s = caller.s
    query = select(Referral, Contact.address).join(Contact, Contact.id == Referral.contact_id)
    if status:
        query = query.where(Referral.status == status)
    if language:
        query = query.where(Referral.language == language)
    if channel:
        query = query.where(Referral.channel == channel)
    if screening_outcome:
        query = query.where(Referral.screening_outcome == screening_outcome)
    if updated_since:
        query = query.where(Referral.updated_at >= updated_since)
    total = await s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await s.execute(
            query.order_by(Referral.created_at, Referral.id).limit(limit).offset(offset)
        )
    ).all()
    catalogue = _catalogue(request, lang)
    items = [_out(caller, r, address, lang, catalogue) for r, address in rows]
    audit.record(s, caller.token, "api_list", count=len(items), offset=offset, total=total)
    await s.commit()
    next_offset = offset + limit if offset + limit < total else None
    return ReferralPage(
        items=items, total=total, limit=limit, offset=offset, next_offset=next_offset
    )


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralOut,
    responses={**_ERRORS, 404: {"model": ApiError, "description": "no such referral"}},
    description=_SCOPES_NOTE,
)
async def get_referral(
    referral_id: str,
    request: Request,
    caller: Reader,
    lang: Lang = None,
) -> ReferralOut:
    s = caller.s
    row = (
        await s.execute(
            select(Referral, Contact.address)
            .join(Contact, Contact.id == Referral.contact_id)
            .where(Referral.id == referral_id)
        )
    ).first()
    audit.record(s, caller.token, "api_get", referral_id if row else None, found=row is not None)
    if row is None:
        await s.commit()
        raise HTTPException(404, "no such referral")
    out = _out(caller, row[0], row[1], lang, _catalogue(request, lang))
    await s.commit()
    return out
