"""Accounts (admin): create, unlock, deactivate or reactivate, reset a password."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from bot.caseworker import audit, security
from bot.caseworker.routes.common import Ctx, Forbidden, Signed, flash, redirect, require
from bot.store.caseworkers import Role, User
from bot.store.models import utcnow

router = APIRouter()


# -- accounts (admin) ----------------------------------------------------------------------


@router.get("/admin/users")
async def users_page(ctx: Signed) -> Response:
    require(ctx, Role.ADMIN)
    users = list(await ctx.s.scalars(select(User).order_by(User.username)))
    return ctx.page(
        "users.html",
        users=users,
        error=flash(ctx.request, "error"),
        done=flash(ctx.request, "done"),
        now=utcnow(),
    )


@router.post("/admin/users")
async def create_user(ctx: Signed) -> Response:
    require(ctx, Role.ADMIN)
    form = ctx.form
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
    form = ctx.form
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
        await security.set_password(user, form.get("password", ""))
    except security.AccountError as exc:
        return redirect("/admin/users", error=exc.code)
    await security.end_sessions(ctx.s, user.id, keep=ctx.session.id)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(ctx.s, ctx.user, "reset_password", subject=user.id)
    await ctx.s.commit()
    return redirect("/admin/users", done="password_changed")
