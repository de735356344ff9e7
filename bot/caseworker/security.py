"""Accounts, passwords, sessions, CSRF tokens, lock-out and API tokens.

Sessions live in the database: the cookie holds a random 256-bit value and the table its SHA-256,
so no signing key is needed and logging out or locking an account ends sessions at once. Each
session has its own CSRF token, sent back in a hidden field of every form.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.store.caseworkers import ApiToken, Role, User, UserSession
from bot.store.models import utcnow

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))

USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")
MIN_PASSWORD = 12
# The integration API's scopes, with the description its OpenAPI schema shows.
READ = "referrals:read"
READ_CONTACT = "referrals:read_contact"
API_SCOPES: dict[str, str] = {
    READ: "read referrals (contact details masked); needed for every call",
    READ_CONTACT: "with referrals:read, see contact details unmasked (each reveal is audited)",
}


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
        password_hash=await hash_password(password),
        ui_language=ui_language if ui_language in ("en", "fr") else "en",
    )
    s.add(user)
    await s.flush()
    return user


def has_role(user: User, needed: Role) -> bool:
    return Role(user.role).rank >= needed.rank


class Outcome(StrEnum):
    """What happened to a login attempt (for the audit log only: the person sees one message)."""

    OK = "login"
    FAILED = "login_failed"  # wrong password (the attempt counted)
    LOCKED = "login_locked"  # the account is locked out; the password was not checked
    REFUSED = "login_refused"  # unknown or deactivated account


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # the account named, when it exists (even if the login failed)
    outcome: Outcome

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


async def authenticate(
    s: AsyncSession, username: str, password: str, settings: Settings
) -> LoginResult:
    """Checks a password with a lock-out after ``max_failed_logins`` wrong guesses.

    Every path runs exactly one argon2 verification, in a worker thread (against a dummy hash when
    the account is unknown, deactivated or locked), so neither the answer nor its timing tells
    whether an account exists. Before a password is checked, the attempt takes one of the
    account's ``max_failed_logins`` slots in a single atomic ``UPDATE ... RETURNING``: parallel
    guesses cannot all read the same count, and at most ``max_failed_logins`` passwords are ever
    checked before the lock. The guess that uses the last slot and fails locks the account; a
    right password frees every slot. A lock-out signs nobody out (an attacker who knows a username
    must not be able to end its owner's sessions): only a deactivation or a password change does.

    The attempt's slot is committed at once; the caller commits the rest. Every attempt runs the
    same statements up to the verification (the slot ``UPDATE`` matches no row for an unknown
    account), so only the small work after it differs."""
    now = utcnow()
    slot = (
        await s.execute(
            update(User)
            .where(
                User.username == username,
                User.active.is_(True),
                or_(User.locked_until.is_(None), User.locked_until <= now),
                User.failed_logins < settings.max_failed_logins,
            )
            .values(failed_logins=User.failed_logins + 1)
            .returning(User.id, User.failed_logins, User.password_hash)
            .execution_options(synchronize_session=False)
        )
    ).first()
    # Spent whatever happens next; committed now so that no row lock is held during argon2.
    await s.commit()
    right = await verify(slot.password_hash if slot else _DUMMY_HASH, password)
    user = await s.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        return LoginResult(user, Outcome.REFUSED)
    if slot is None:
        await _lock_if_out_of_slots(s, user.id, settings)
        return LoginResult(user, Outcome.LOCKED)
    if not right:
        if slot.failed_logins >= settings.max_failed_logins:
            await _lock(s, user.id, settings)
        return LoginResult(user, Outcome.FAILED)
    await s.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None, last_login_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await s.refresh(user)
    if _hasher.check_needs_rehash(slot.password_hash):
        user.password_hash = await hash_password(password)
    return LoginResult(user, Outcome.OK)


async def _lock_if_out_of_slots(s: AsyncSession, user_id: str, settings: Settings) -> None:
    """Out of slots but not locked: the guess holding the last slot is still being checked, or
    died before it could lock. Lock now, so that an account can never stay stuck without a lock
    (a lock that is already running is left alone)."""
    now = utcnow()
    await s.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.locked_until.is_(None), User.locked_until <= now),
            User.failed_logins >= settings.max_failed_logins,
        )
        .values(locked_until=now + timedelta(minutes=settings.lockout_minutes), failed_logins=0)
        .execution_options(synchronize_session=False)
    )


async def _lock(s: AsyncSession, user_id: str, settings: Settings) -> None:
    await s.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            locked_until=utcnow() + timedelta(minutes=settings.lockout_minutes), failed_logins=0
        )
        .execution_options(synchronize_session=False)
    )


async def verify(password_hash: str, password: str) -> bool:
    """argon2 verification in a worker thread (it takes tens of milliseconds of CPU: on the
    event loop, a flood of logins would stall every other request)."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("bad_password")
    user.password_hash = await hash_password(password)


# -- sessions ------------------------------------------------------------------------------


async def start_session(s: AsyncSession, user: User) -> str:
    """Returns the cookie value; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    s.add(UserSession(id=digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32)))
    return token


async def current_session(
    s: AsyncSession, token: str | None, settings: Settings, *, touch: bool = True
) -> tuple[UserSession, User] | None:
    """The live session for a cookie value, or None (unknown, expired, or account deactivated).

    A lock-out after failed logins does not end sessions (see ``authenticate``).

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
    if not await verify(user.password_hash, current):
        raise AccountError("wrong_password")
    if new != confirm:
        raise AccountError("passwords_differ")
    await set_password(user, new)
    await end_sessions(s, user.id, keep=session_id)


def csrf_ok(expected: str | None, submitted: str | None) -> bool:
    """A form's CSRF token against the one it must carry (constant-time)."""
    return (
        bool(expected) and bool(submitted) and hmac.compare_digest(expected or "", submitted or "")
    )


# -- API tokens ----------------------------------------------------------------------------


async def create_token(s: AsyncSession, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, shown once (only its digest is kept)."""
    unknown = set(scopes) - API_SCOPES.keys()
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
