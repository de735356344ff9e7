"""What every caseworker page shares: templates and rendering, the request context (database
session, signed-in user, the posted form after its CSRF check), roles, redirects."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.caseworker import i18n, security, service
from bot.intake import vocabulary
from bot.settings import Settings
from bot.store.caseworkers import Role, User, UserSession

log = logging.getLogger(__name__)

PREFIX = "/caseworker"
COOKIE = "cw_session"
LOGIN_CSRF_COOKIE = "cw_login_csrf"
POLL_HEADER = "X-Live-Poll"  # sent by static/app.js on its background polls
HERE = Path(__file__).resolve().parent.parent  # bot/caseworker: templates/, static/
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),  # everything a person wrote is text
    trim_blocks=True,
    lstrip_blocks=True,
)


def zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("DISPLAY_TIMEZONE %r is unknown; showing times in UTC", name)
        return UTC


def local_time(moment: datetime | None) -> str:
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
    local_time=local_time,
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
    form: dict[str, str] = field(default_factory=dict)  # a POST's fields, CSRF-checked

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
    ctx = Ctx(request, s, found[1], found[0], settings)
    if request.method in STATE_CHANGING:  # every signed-in form: no route can forget it
        ctx.form = await posted_form(request, found[0].csrf_token, ctx.lang)
    return ctx


Signed = Annotated[Ctx, Depends(signed_in)]


async def posted_form(request: Request, expected: str | None, language: str) -> dict[str, str]:
    """The posted form, once its CSRF token matches ``expected`` (the session's token, or the
    login page's cookie before anyone is signed in). The one CSRF check of this app."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    if not security.csrf_ok(expected, data.get("csrf")):
        raise Forbidden(language, "csrf_failed")
    return data


def require(ctx: Ctx, role: Role) -> None:
    if not security.has_role(ctx.user, role):
        raise Forbidden(ctx.lang)


def redirect(path: str, **flash: str) -> RedirectResponse:
    """303 to a page of this app; ``done`` / ``error`` name one of our own messages (``flash``)."""
    query = f"?{urlencode(flash)}" if flash else ""
    return RedirectResponse(f"{PREFIX}{path}{query}", status_code=303)


def back_to(referral_id: str, **flash: str) -> RedirectResponse:
    return redirect(f"/referrals/{referral_id}", **flash)


def flash(request: Request, name: str) -> str | None:
    key = request.query_params.get(name)
    return key if key in i18n.UI else None  # only our own messages, never reflected text
