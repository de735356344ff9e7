"""Accounts, passwords, sessions, CSRF tokens, lock-out and API tokens.

Sessions live in the database: the cookie holds a random 256-bit value and the table its SHA-256,
so no signing key is needed and logging out or locking an account ends sessions at once. Each
session has its own CSRF token, sent back in a hidden field of every form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store.caseworkers import ApiToken, Role, User, UserSession
from bot.store.models import utcnow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))

USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")
MIN_PASSWORD = 12
API_SCOPES = frozenset({"referrals:read"})


class AccountError(ValueError):
    """A user or token could not be created; ``code`` is a UI message key."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes (stored in UTC).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- accounts ------------------------------------------------------------------------------


async def create_user(
    s: AsyncSession,
    username: str,
    password: str,
    role: str = Role.CASEWORKER,
    display_name: str = "",
    ui_language: str = "en",
) -> User:
    if not USERNAME.match(username):
        raise AccountError("bad_username")
    if len(password) < MIN_PASSWORD:
        raise AccountError("bad_password")
    if role not in {r.value for r in Role}:
        raise AccountError("bad_role")
    if await s.scalar(select(User).where(User.username == username)):
        raise AccountError("user_exists")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        password_hash=_hasher.hash(password),
        ui_language=ui_language if ui_language in ("en", "fr") else "en",
    )
    s.add(user)
    await s.flush()
    return user


def has_role(user: User, needed: Role) -> bool:
    return Role(user.role).rank >= needed.rank


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None  # "login_failed" or "locked"


async def authenticate(
    s: AsyncSession, username: str, password: str, settings: Settings
) -> LoginResult:
    """Checks a password; counts consecutive failures and locks the account after too many.

    The caller commits (the failure count must be saved even when the login fails)."""
    user = await s.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None, "login_failed")
    if user.locked_until is not None and aware(user.locked_until) > now:
        return LoginResult(user, "locked")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.max_failed_logins:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            await end_sessions(s, user.id)
            return LoginResult(user, "locked")
        return LoginResult(user, "login_failed")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user, None)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("bad_password")
    user.password_hash = _hasher.hash(password)


# -- sessions ------------------------------------------------------------------------------


async def start_session(s: AsyncSession, user: User) -> str:
    """Returns the cookie value; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    s.add(UserSession(id=digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32)))
    return token


async def current_session(
    s: AsyncSession, token: str | None, settings: Settings, *, touch: bool = True
) -> tuple[UserSession, User] | None:
    """The live session for a cookie value, or None (unknown, expired, or account locked).

    ``touch=False`` (a page's background poll) does not restart the idle timer: an open tab
    left alone still times out."""
    if not token:
        return None
    session = await s.get(UserSession, digest(token))
    if session is None:
        return None
    now = utcnow()
    idle = now - aware(session.last_seen_at) > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - aware(session.created_at) > timedelta(hours=settings.session_max_hours)
    user = await s.get(User, session.user_id)
    if idle or too_old or user is None or not user.active:
        await s.delete(session)
        await s.commit()
        return None
    if touch:
        session.last_seen_at = now
    return session, user


async def end_sessions(s: AsyncSession, user_id: str, keep: str | None = None) -> None:
    """Signs the account out everywhere (but in the session ``keep``, if given)."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        query = query.where(UserSession.id != keep)
    await s.execute(query)


async def change_password(
    s: AsyncSession, user: User, current: str, new: str, confirm: str, session_id: str
) -> None:
    """A person's own password change: the current password is required, and every other
    signed-in browser of the account is signed out (a stolen session does not survive it)."""
    if not _verify(user.password_hash, current):
        raise AccountError("wrong_password")
    if new != confirm:
        raise AccountError("passwords_differ")
    set_password(user, new)
    await end_sessions(s, user.id, keep=session_id)


def csrf_ok(expected: str | None, submitted: str | None) -> bool:
    """A form's CSRF token against the one it must carry (constant-time)."""
    return (
        bool(expected) and bool(submitted) and hmac.compare_digest(expected or "", submitted or "")
    )


# -- API tokens ----------------------------------------------------------------------------


async def create_token(s: AsyncSession, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, shown once (only its digest is kept)."""
    unknown = set(scopes) - API_SCOPES
    if unknown or not name.strip():
        raise AccountError("bad_scope" if unknown else "bad_name")
    token = "ik_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), token_hash=digest(token), scopes=sorted(set(scopes)))
    s.add(row)
    await s.flush()
    return row, token


async def find_token(s: AsyncSession, token: str) -> ApiToken | None:
    row = await s.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row
