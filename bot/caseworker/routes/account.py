"""Signing in and out, the UI language, and one's own password."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.caseworker import audit, i18n, security
from bot.caseworker.routes.common import (
    COOKIE,
    DB,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    Forbidden,
    Signed,
    flash,
    posted_form,
    redirect,
    render,
)
from bot.channels.base import storable
from bot.http_guard import client_address
from bot.ratelimit import RateLimits
from bot.settings import Settings

router = APIRouter()


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
    language = str((await request.form()).get("lang") or "en")
    language = language if language in i18n.LANGUAGES else "en"
    # Every attempt from one address counts, whatever the account (bot/ratelimit.py): it caps
    # the argon2 work one address causes and slows guessing spread over many usernames.
    limits: RateLimits = request.app.state.rate_limits
    decision = await limits.hit("login_address", client_address(request))
    if not decision.allowed:
        response = _login_page(request, language, "login_throttled", 429)
        response.headers["Retry-After"] = str(decision.retry_after)
        return response
    try:  # nobody is signed in yet: the token is the login page's cookie
        form = await posted_form(request, request.cookies.get(LOGIN_CSRF_COOKIE), language)
    except Forbidden:
        return _login_page(request, language, "csrf_failed", 403)
    # A NUL or a lone surrogate cannot reach PostgreSQL (found by the fuzz test): replaced, so
    # such a name is simply unknown, answered like every other failure.
    username = storable(str(form.get("username") or "").strip())
    result = await security.authenticate(s, username, str(form.get("password") or ""), settings)
    if result.user is not None:
        audit.record(s, result.user, result.outcome.value)
    await s.commit()
    if not result.ok or result.user is None:
        # One answer for every failure (unknown, deactivated, locked, wrong password).
        return _login_page(request, language, "login_failed", 401)
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
        # A browser-session cookie (no Max-Age): closing the browser of a shared computer ends
        # it; the server still ends the session after SESSION_MAX_HOURS or when idle.
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
async def logout(ctx: Signed) -> Response:
    await ctx.s.delete(ctx.session)
    audit.record(ctx.s, ctx.user, "logout")
    await ctx.s.commit()
    response = RedirectResponse(f"{PREFIX}/login?lang={ctx.lang}", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/language")
async def set_language(ctx: Signed) -> Response:
    form = ctx.form
    if form.get("language") in i18n.LANGUAGES:
        ctx.user.ui_language = form["language"]
        await ctx.s.commit()
    target = form.get("next", "")
    # Only our own paths: never an open redirect.
    if not target.startswith(PREFIX + "/") or "//" in target[1:]:
        target = f"{PREFIX}/"
    return RedirectResponse(target, status_code=303)


# -- one's own account ---------------------------------------------------------------------


@router.get("/account/password")
async def password_page(ctx: Signed) -> Response:
    return ctx.page(
        "password.html", error=flash(ctx.request, "error"), done=flash(ctx.request, "done")
    )


@router.post("/account/password")
async def change_password(ctx: Signed) -> Response:
    form = ctx.form
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
