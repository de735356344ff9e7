"""Supervisor pages: the audit log, the CSV export, the numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from bot.caseworker import audit, i18n, service
from bot.caseworker.routes.common import Forbidden, Signed, require
from bot.store.caseworkers import Role
from bot.store.models import utcnow

router = APIRouter()


# -- supervisor pages ----------------------------------------------------------------------


def _day(raw: str | None) -> datetime | None:
    try:
        return datetime.strptime(raw or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


@router.get("/supervisor/audit")
async def audit_page(ctx: Signed) -> Response:
    require(ctx, Role.SUPERVISOR)
    q = ctx.request.query_params
    until = _day(q.get("until"))
    before = q.get("before", "")
    f = service.AuditFilter(
        actor=q.get("actor", ""),
        action=q.get("action", ""),
        referral_id=q.get("referral", ""),
        since=_day(q.get("since")),
        until=until + timedelta(days=1) if until else None,
        before_id=int(before) if before.isdigit() else None,
    )
    entries = await service.audit_entries(ctx.s, f)
    base = {k: v for k, v in q.items() if k != "before" and v}
    next_query = urlencode({**base, "before": entries[-1].id}) if len(entries) == 100 else None
    return ctx.page("audit.html", entries=entries, q=q, next_query=next_query)


@router.get("/supervisor/export")
async def export_page(ctx: Signed) -> Response:
    require(ctx, Role.SUPERVISOR)
    return ctx.page("export.html")


@router.post("/supervisor/export")
async def export(ctx: Signed) -> Response:
    require(ctx, Role.SUPERVISOR)
    form = ctx.form
    language = i18n.person_language(form.get("language") or ctx.lang)
    catalogue = service.flag_catalogue(ctx.settings.screening_rules_path)
    body, rows = await service.export_csv(ctx.s, catalogue, language)
    audit.record(ctx.s, ctx.user, "export_csv", rows=rows)
    await ctx.s.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="referrals-{stamp}.csv"'},
    )


@router.get("/supervisor/numbers")
async def numbers_page(ctx: Signed) -> Response:
    require(ctx, Role.SUPERVISOR)
    return ctx.page("numbers.html", n=await service.numbers(ctx.s))


# -- erasure at a person's request (by phone or in person) -------------------------------


@router.post("/referrals/{referral_id}/erase")
async def erase(referral_id: str, ctx: Signed) -> Response:
    """First POST: the confirmation page; second (``confirm=yes``): the erasure job (the same as
    the person's DELETE: ``bot/erasure.py``), then its reference. Supervisors only."""
    require(ctx, Role.SUPERVISOR)
    try:
        referral = await service.load(ctx.s, referral_id)
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc
    if ctx.form.get("confirm") != "yes":
        return ctx.page("erase.html", r=referral, reference=None)
    contact_id = referral.contact_id
    await ctx.s.commit()  # no read transaction left open while the job deletes
    job = await ctx.request.app.state.conversations.erase_contact(
        contact_id, reason="supervisor", actor=ctx.user.username, actor_user_id=ctx.user.id
    )
    if job is None:  # erased meanwhile (by the person, or another supervisor)
        raise Forbidden(ctx.lang, "not_found", 404)
    return ctx.page("erase.html", r=None, reference=job.reference)
