"""The caseworker web app under ``/caseworker``: server-rendered pages and plain HTML forms.

Every page that shows a person's record writes an audit entry; every form carries the session's
CSRF token; roles are checked per route (``require``). Live updates are small JSON polls that
return server-rendered, escaped HTML fragments (``static/queue.js``).
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.caseworker import audit, i18n, security, service
from bot.caseworker.replies import OptedOut, send_reply
from bot.intake import vocabulary
from bot.settings import Settings
from bot.store.caseworkers import Role, User, UserSession
from bot.store.models import Author, utcnow

log = logging.getLogger(__name__)

PREFIX = "/caseworker"
COOKIE = "cw_session"
LOGIN_CSRF_COOKIE = "cw_login_csrf"
POLL_HEADER = "X-Live-Poll"  # sent by static/app.js on its background polls
HERE = Path(__file__).resolve().parent

router = APIRouter(prefix=PREFIX, include_in_schema=False)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),  # everything a person wrote is text
    trim_blocks=True,
    lstrip_blocks=True,
)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("DISPLAY_TIMEZONE %r is unknown; showing times in UTC", name)
        return UTC


def _local_time(moment: datetime | None) -> str:
    """A stored (UTC) time in the program's time zone, e.g. '2026-11-27 01:48 EST'."""
    if moment is None:
        return ""
    zone = templates.globals.get("display_zone", UTC)
    return security.aware(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _waited(moment: datetime | None, language: str) -> str:
    """'3 h 05 min' since ``moment``."""
    if moment is None:
        return ""
    minutes = int((datetime.now(UTC) - security.aware(moment)).total_seconds() // 60)
    days, rest = divmod(max(minutes, 0), 1440)
    hours, mins = divmod(rest, 60)
    day = "d" if language == "en" else "j"
    if days:
        return f"{days} {day} {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def _duration(delta: timedelta | None, language: str) -> str:
    if delta is None:
        return i18n.ui("not_yet", language)
    minutes = int(delta.total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


templates.globals.update(
    value=i18n.value,
    field_label=vocabulary.label,
    value_label=vocabulary.value_label,
    reason_text=vocabulary.reason_text,
    reason_rule_id=vocabulary.reason_rule_id,
    flag_label=vocabulary.flag_label,
    urgent_flags=vocabulary.urgent_flags,
    local_time=_local_time,
    waited=_waited,
    duration=_duration,
    mask=service.mask,
    OUTCOMES=i18n.OUTCOMES,
    CANNED=i18n.CANNED,
    CANNED_LABELS=i18n.CANNED_LABELS,
    PREFIX=PREFIX,
    Role=Role,
    has_role=security.has_role,
)


def render(name: str, language: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    def t(key: str) -> str:
        return i18n.ui(key, language)

    html = templates.get_template(name).render(lang=language, t=t, **context)
    return HTMLResponse(html, status_code=status_code)


# -- request context: settings, database session, signed-in user --------------------------


class LoginRequired(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


class Forbidden(Exception):
    def __init__(self, language: str, key: str = "forbidden", status: int = 403) -> None:
        self.language, self.key, self.status = language, key, status


@dataclass
class Ctx:
    request: Request
    s: AsyncSession
    user: User
    session: UserSession
    settings: Settings

    @property
    def lang(self) -> str:
        return i18n.person_language(self.user.ui_language)

    def page(self, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        path = self.request.url.path.removesuffix("/reveal")  # back to the page, not the POST
        return render(
            name,
            self.lang,
            status_code,
            user=self.user,
            csrf=self.session.csrf_token,
            request_path=path,
            **context,
        )


def sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(request.app.state.db, expire_on_commit=False)


async def db(request: Request) -> AsyncIterator[AsyncSession]:
    async with sessions(request)() as s:
        yield s


DB = Annotated[AsyncSession, Depends(db)]


async def signed_in(request: Request, s: DB) -> Ctx:
    settings: Settings = request.app.state.settings
    token = request.cookies.get(COOKIE)
    polling = request.headers.get(POLL_HEADER) == "1"
    found = await security.current_session(s, token, settings, touch=not polling)
    if found is None:
        raise LoginRequired(expired=bool(token))
    await s.commit()  # last_seen_at: the idle timer restarts (not for background polls)
    return Ctx(request, s, found[1], found[0], settings)


Signed = Annotated[Ctx, Depends(signed_in)]


async def form_of(ctx: Ctx) -> dict[str, str]:
    """The posted form, after checking its CSRF token."""
    form = await ctx.request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    if not security.csrf_ok(ctx.session, data.get("csrf")):
        raise Forbidden(ctx.lang, "csrf_failed")
    return data


def require(ctx: Ctx, role: Role) -> None:
    if not security.has_role(ctx.user, role):
        raise Forbidden(ctx.lang)


def redirect(path: str, **flash: str) -> RedirectResponse:
    """303 to a page of this app; ``done`` / ``error`` name one of our own messages (``_flash``)."""
    query = f"?{urlencode(flash)}" if flash else ""
    return RedirectResponse(f"{PREFIX}{path}{query}", status_code=303)


def back_to(referral_id: str, **flash: str) -> RedirectResponse:
    return redirect(f"/referrals/{referral_id}", **flash)


def _flash(request: Request, name: str) -> str | None:
    key = request.query_params.get(name)
    return key if key in i18n.UI else None  # only our own messages, never reflected text


# -- login and language --------------------------------------------------------------------


def _login_language(request: Request) -> str:
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "")
    return "fr" if accept.lower().startswith("fr") else "en"


def _login_page(request: Request, language: str, error: str | None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        "login.html",
        language,
        status,
        csrf=token,
        error=error,
        expired=request.query_params.get("expired") == "1",
    )
    settings: Settings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path=PREFIX,
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request, _login_language(request), None)


@router.post("/login")
async def login(request: Request, s: DB) -> Response:
    settings: Settings = request.app.state.settings
    form = await request.form()
    language = str(form.get("lang") or "en")
    language = language if language in i18n.LANGUAGES else "en"
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token, str(form.get("csrf") or "")):
        return _login_page(request, language, "csrf_failed", 403)
    username = str(form.get("username") or "").strip()
    result = await security.authenticate(s, username, str(form.get("password") or ""), settings)
    if result.user is not None:
        action = {None: "login", "login_failed": "login_failed"}.get(result.error, "login_locked")
        audit.record(s, result.user, action)
    await s.commit()
    if result.error or result.user is None:
        return _login_page(request, language, result.error, 401 if result.error else 200)
    token = await security.start_session(s, result.user)
    await s.commit()
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
        max_age=settings.session_max_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(ctx: Signed) -> Response:
    await form_of(ctx)
    await ctx.s.delete(ctx.session)
    audit.record(ctx.s, ctx.user, "logout")
    await ctx.s.commit()
    response = RedirectResponse(f"{PREFIX}/login?lang={ctx.lang}", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/language")
async def set_language(ctx: Signed) -> Response:
    form = await form_of(ctx)
    if form.get("language") in i18n.LANGUAGES:
        ctx.user.ui_language = form["language"]
        await ctx.s.commit()
    target = form.get("next", "")
    # Only our own paths: never an open redirect.
    if not target.startswith(PREFIX + "/") or "//" in target[1:]:
        target = f"{PREFIX}/"
    return RedirectResponse(target, status_code=303)


# -- the queue -----------------------------------------------------------------------------


def _queue_filter(request: Request) -> service.QueueFilter:
    q = request.query_params
    page = q.get("page", "1")
    return service.QueueFilter(
        status=q.get("status", "active"),
        language=q.get("language", ""),
        channel=q.get("channel", ""),
        screening=q.get("screening", ""),
        assignee=q.get("assignee", ""),
        page=int(page) if page.isdigit() else 1,
    )


async def _queue_parts(ctx: Ctx, f: service.QueueFilter) -> dict[str, Any]:
    result = await service.queue(ctx.s, f, ctx.user)
    return {
        "rows": result.rows,
        "result": result,
        "counts": await service.counts(ctx.s, ctx.user),
        "filter": f,
        "users": await service.active_users(ctx.s),
        "catalogue": service.flag_catalogue(ctx.settings.screening_rules_path),
        "OUTCOMES": vocabulary.OUTCOMES,
        "pager": {
            "prev": urlencode(f.as_query(page=result.page - 1)) if result.page > 1 else None,
            "next": urlencode(f.as_query(page=result.page + 1))
            if result.page < result.pages
            else None,
        },
    }


@router.get("/")
async def queue_page(ctx: Signed) -> Response:
    f = _queue_filter(ctx.request)
    return ctx.page("queue.html", query=urlencode(f.as_query()), **await _queue_parts(ctx, f))


@router.get("/queue/live")
async def queue_live(ctx: Signed) -> JSONResponse:
    """The rows and counts, rendered, for the page's poll."""
    parts = await _queue_parts(ctx, _queue_filter(ctx.request))
    context = {"t": lambda k: i18n.ui(k, ctx.lang), "lang": ctx.lang, "user": ctx.user, **parts}
    return JSONResponse(
        {
            "rows": templates.get_template("_queue_rows.html").render(**context),
            "counts": templates.get_template("_counts.html").render(**context),
            "total": parts["result"].total,
        }
    )


# -- one referral --------------------------------------------------------------------------


async def _referral_page(ctx: Ctx, referral_id: str, revealed: bool = False) -> Response:
    try:
        v = await service.view(ctx.s, referral_id)
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc
    audit.record(ctx.s, ctx.user, "reveal_contact" if revealed else "view", referral_id)
    await ctx.s.commit()
    catalogue = service.flag_catalogue(ctx.settings.screening_rules_path)
    return ctx.page(
        "referral.html",
        v=v,
        rows=vocabulary.rows(v.intake, ctx.lang),
        catalogue=catalogue,
        urgent=vocabulary.urgent_flags(catalogue, v.referral.flags),
        revealed=revealed,
        users=await service.active_users(ctx.s),
        names=await service.user_names(ctx.s),
        person_lang=i18n.person_language(v.referral.language or v.conversation.language),
        done=_flash(ctx.request, "done"),
        error=_flash(ctx.request, "error"),
        last_id=v.messages[-1].id if v.messages else 0,
        max_reply=ctx.settings.max_text_chars,
    )


@router.get("/referrals/{referral_id}")
async def referral_page(referral_id: str, ctx: Signed) -> Response:
    return await _referral_page(ctx, referral_id)


@router.post("/referrals/{referral_id}/reveal")
async def reveal(referral_id: str, ctx: Signed) -> Response:
    await form_of(ctx)
    return await _referral_page(ctx, referral_id, revealed=True)


@router.get("/referrals/{referral_id}/messages")
async def referral_messages(referral_id: str, ctx: Signed, after: int = 0) -> JSONResponse:
    """New messages of the conversation for the page's poll (the page view was audited)."""
    try:
        referral = await service.load(ctx.s, referral_id)
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc
    rows = await service.messages_after(ctx.s, referral, after)
    html = templates.get_template("_messages.html").render(
        messages=rows, t=lambda k: i18n.ui(k, ctx.lang), lang=ctx.lang
    )
    return JSONResponse({"html": html, "last_id": rows[-1].id if rows else after})


async def _act(ctx: Ctx, referral_id: str) -> tuple[service.Referral, dict[str, str]]:
    form = await form_of(ctx)
    try:
        return await service.load(ctx.s, referral_id), form
    except service.ActionError as exc:
        raise Forbidden(ctx.lang, "not_found", 404) from exc


async def _status_message(ctx: Ctx, referral: service.Referral, key: str) -> None:
    conversation = await ctx.s.get(service.Conversation, referral.conversation_id)
    assert conversation is not None
    text = i18n.STATUS[key][i18n.person_language(conversation.language or referral.language)]
    audit.record(ctx.s, ctx.user, "status_message", referral.id, message=key)
    await send_reply(
        ctx.s,
        ctx.request.app.state.conversations.delivery_hooks,
        conversation,
        text,
        author=Author.SYSTEM,
    )


async def _apply(
    ctx: Ctx,
    referral: service.Referral,
    action: Callable[[], Awaitable[object] | object],
    notify: str | None = None,
) -> Response:
    """One action on a referral, then (if asked) a status message to the person, then commit.

    A refused action goes back to the page with its reason. If the person opted out, the action
    stands and only the message to them is not sent.
    """
    try:
        result = action()
        if inspect.isawaitable(result):
            await result
        if notify:
            await _status_message(ctx, referral, notify)
    except service.ActionError as exc:
        return back_to(referral.id, error=exc.code)
    except OptedOut:
        await ctx.s.commit()
        return back_to(referral.id, error="opted_out")
    await ctx.s.commit()
    return back_to(referral.id, done="done")


@router.post("/referrals/{referral_id}/claim")
async def claim(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    notify = "claimed" if form.get("notify") else None
    return await _apply(ctx, referral, lambda: service.claim(ctx.s, ctx.user, referral), notify)


@router.post("/referrals/{referral_id}/assign")
async def assign(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    assignee = form.get("assignee")
    if assignee:
        return await _apply(
            ctx, referral, lambda: service.assign(ctx.s, ctx.user, referral, assignee)
        )
    return await _apply(ctx, referral, lambda: service.unassign(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/take-over")
async def take_over(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.take_over(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/hand-back")
async def hand_back(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.hand_back(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/reply")
async def reply(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    text = form.get("text", "").strip()
    canned = i18n.CANNED.get(form.get("canned", ""))
    if not text and canned:
        text = canned[i18n.person_language(referral.language)]
    if not text:
        return back_to(referral_id, error="empty_reply")
    if len(text) > ctx.settings.max_text_chars:  # the form's maxlength stops this in a browser
        return back_to(referral_id, error="reply_too_long")
    try:
        conversation = await service.take_over(ctx.s, ctx.user, referral)
        audit.record(ctx.s, ctx.user, "reply", referral.id, chars=len(text))
        await send_reply(
            ctx.s, ctx.request.app.state.conversations.delivery_hooks, conversation, text
        )
    except service.ActionError as exc:
        return back_to(referral_id, error=exc.code)
    except OptedOut:
        await ctx.s.rollback()
        return back_to(referral_id, error="opted_out")
    return back_to(referral_id, done="sent")


@router.post("/referrals/{referral_id}/close")
async def close(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    outcome, note = form.get("outcome", ""), form.get("note", "")
    return await _apply(
        ctx,
        referral,
        lambda: service.close(ctx.s, ctx.user, referral, outcome, note),
        "closed" if form.get("notify") else None,
    )


@router.post("/referrals/{referral_id}/reopen")
async def reopen(referral_id: str, ctx: Signed) -> Response:
    referral, _ = await _act(ctx, referral_id)
    return await _apply(ctx, referral, lambda: service.reopen(ctx.s, ctx.user, referral))


@router.post("/referrals/{referral_id}/notes")
async def add_note(referral_id: str, ctx: Signed) -> Response:
    referral, form = await _act(ctx, referral_id)
    if form.get("text", "").strip():
        service.add_note(ctx.s, ctx.user, referral, form["text"][:5000])
        await ctx.s.commit()
    return back_to(referral_id, done="done")


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
    form = await form_of(ctx)
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


# -- accounts (admin) ----------------------------------------------------------------------


@router.get("/admin/users")
async def users_page(ctx: Signed) -> Response:
    require(ctx, Role.ADMIN)
    from sqlalchemy import select

    users = list(await ctx.s.scalars(select(User).order_by(User.username)))
    return ctx.page(
        "users.html",
        users=users,
        error=_flash(ctx.request, "error"),
        done=_flash(ctx.request, "done"),
        now=utcnow(),
    )


@router.post("/admin/users")
async def create_user(ctx: Signed) -> Response:
    require(ctx, Role.ADMIN)
    form = await form_of(ctx)
    try:
        user = await security.create_user(
            ctx.s,
            form.get("username", "").strip(),
            form.get("password", ""),
            form.get("role", Role.CASEWORKER),
            form.get("display_name", ""),
            form.get("ui_language", "en"),
        )
    except security.AccountError as exc:
        return redirect("/admin/users", error=exc.code)
    audit.record(ctx.s, ctx.user, "create_user", subject=user.id, role=user.role)
    await ctx.s.commit()
    return redirect("/admin/users")


async def _account(ctx: Ctx, user_id: str) -> tuple[User, dict[str, str]]:
    require(ctx, Role.ADMIN)
    form = await form_of(ctx)
    user = await ctx.s.get(User, user_id)
    if user is None:
        raise Forbidden(ctx.lang, "not_found", 404)
    return user, form


@router.post("/admin/users/{user_id}/unlock")
async def unlock_user(user_id: str, ctx: Signed) -> Response:
    user, _ = await _account(ctx, user_id)
    user.locked_until = None
    user.failed_logins = 0
    audit.record(ctx.s, ctx.user, "unlock_user", subject=user.id)
    await ctx.s.commit()
    return redirect("/admin/users", done="done")


@router.post("/admin/users/{user_id}/active")
async def set_active(user_id: str, ctx: Signed) -> Response:
    """Deactivate (someone left: signed out everywhere, cannot log in) or reactivate."""
    user, form = await _account(ctx, user_id)
    active = form.get("active") == "1"
    if user.id == ctx.user.id and not active:  # an admin must not lock everyone out
        return redirect("/admin/users", error="cannot_deactivate_self")
    user.active = active
    if not active:
        await security.end_sessions(ctx.s, user.id)
    audit.record(ctx.s, ctx.user, "activate_user" if active else "deactivate_user", subject=user.id)
    await ctx.s.commit()
    return redirect("/admin/users", done="done")


@router.post("/admin/users/{user_id}/password")
async def reset_password(user_id: str, ctx: Signed) -> Response:
    """An admin sets a new password (forgotten password): the account is signed out everywhere."""
    user, form = await _account(ctx, user_id)
    try:
        security.set_password(user, form.get("password", ""))
    except security.AccountError as exc:
        return redirect("/admin/users", error=exc.code)
    await security.end_sessions(ctx.s, user.id, keep=ctx.session.id)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(ctx.s, ctx.user, "reset_password", subject=user.id)
    await ctx.s.commit()
    return redirect("/admin/users", done="password_changed")


# -- one's own account ---------------------------------------------------------------------


@router.get("/account/password")
async def password_page(ctx: Signed) -> Response:
    return ctx.page(
        "password.html", error=_flash(ctx.request, "error"), done=_flash(ctx.request, "done")
    )


@router.post("/account/password")
async def change_password(ctx: Signed) -> Response:
    form = await form_of(ctx)
    try:
        await security.change_password(
            ctx.s,
            ctx.user,
            form.get("current", ""),
            form.get("new", ""),
            form.get("confirm", ""),
            ctx.session.id,
        )
    except security.AccountError as exc:
        await ctx.s.rollback()
        return redirect("/account/password", error=exc.code)
    audit.record(ctx.s, ctx.user, "change_password", subject=ctx.user.id)
    await ctx.s.commit()
    return redirect("/account/password", done="password_changed")


# -- wiring --------------------------------------------------------------------------------

SECURITY_HEADERS = {
    # No inline script or style: an injected <script> could not run even if it escaped.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # personal data must not stay in shared browser caches
}


def install(app: FastAPI) -> None:
    """Adds the caseworker app and the integration API to the ASGI app."""
    from bot.caseworker import api

    settings: Settings = app.state.settings
    templates.globals["display_zone"] = _zone(settings.display_timezone)
    app.include_router(router)
    app.include_router(api.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="caseworker-static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        path = request.url.path
        if path.startswith(PREFIX) or path.startswith(api.PREFIX):
            for name, header in SECURITY_HEADERS.items():
                if path.startswith(f"{PREFIX}/static") and name == "Cache-Control":
                    continue
                response.headers.setdefault(name, header)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        query = "?expired=1" if exc.expired else ""
        response = RedirectResponse(f"{PREFIX}/login{query}", status_code=303)
        if exc.expired:
            response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> Response:
        return render(
            "error.html", exc.language, exc.status, message=i18n.ui(exc.key, exc.language)
        )
