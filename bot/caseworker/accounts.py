"""Account and token commands for the CLI (``intake user ...``, ``intake token ...``).

Each opens the database, migrates it if needed, does one thing and records it in the audit log
as the operator (``actor = "cli"``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.caseworker import security
from bot.settings import Settings
from bot.store import migrate
from bot.store.caseworkers import ApiToken, AuditEntry, User
from bot.store.db import create_engine, session_factory
from bot.store.models import utcnow


async def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    engine = create_engine(settings.database_url)
    return engine, session_factory(engine)


def _cli_audit(action: str, **detail: object) -> AuditEntry:
    return AuditEntry(actor="cli", action=action, detail=detail)


async def create_user(
    settings: Settings, username: str, password: str, role: str, name: str, language: str
) -> str:
    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as s:
            try:
                user = await security.create_user(s, username, password, role, name, language)
            except security.AccountError as exc:
                raise ValueError(_ACCOUNT_ERRORS.get(exc.code, exc.code)) from exc
            s.add(_cli_audit("create_user", subject=user.id, role=role))
            await s.commit()
            return user.id
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _named_account(
    settings: Settings, username: str
) -> AsyncIterator[tuple[AsyncSession, User]]:
    """The account called ``username``, in a session committed when the block ends."""
    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as s:
            user = await s.scalar(select(User).where(User.username == username))
            if user is None:
                raise ValueError(f"no account named {username!r}")
            yield s, user
            await s.commit()
    finally:
        await engine.dispose()


async def unlock_user(settings: Settings, username: str) -> None:
    async with _named_account(settings, username) as (s, user):
        user.locked_until = None
        user.failed_logins = 0
        s.add(_cli_audit("unlock_user", subject=user.id))


async def set_active(settings: Settings, username: str, active: bool) -> None:
    """Deactivate (signed out everywhere, no more logins) or reactivate an account."""
    async with _named_account(settings, username) as (s, user):
        user.active = active
        if not active:
            await security.end_sessions(s, user.id)
        s.add(_cli_audit("activate_user" if active else "deactivate_user", subject=user.id))


async def create_token(settings: Settings, name: str, scopes: list[str]) -> tuple[str, str]:
    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as s:
            try:
                row, token = await security.create_token(s, name, scopes)
            except security.AccountError as exc:
                known = ", ".join(security.API_SCOPES)
                raise ValueError(f"bad token name or scope (known scopes: {known})") from exc
            s.add(_cli_audit("create_token", subject=row.id, scopes=row.scopes))
            await s.commit()
            return row.id, token
    finally:
        await engine.dispose()


async def revoke_token(settings: Settings, token_id: str) -> None:
    engine, sessions = await _sessions(settings)
    try:
        async with sessions() as s:
            row = await s.get(ApiToken, token_id)
            if row is None:
                raise ValueError(f"no token with id {token_id!r}")
            row.revoked_at = utcnow()
            s.add(_cli_audit("revoke_token", subject=row.id))
            await s.commit()
    finally:
        await engine.dispose()


_ACCOUNT_ERRORS = {
    "bad_username": "the username must be 2-64 letters, digits or . _ -",
    "bad_password": f"the password must have at least {security.MIN_PASSWORD} characters",
    "bad_role": "the role must be caseworker, supervisor or admin",
    "user_exists": "this username is taken",
}
