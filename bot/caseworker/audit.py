"""The audit log: one call per access to personal data and per change.

``detail`` holds ids, states and counts only, never message text or contact details, so the
audit log itself is safe to show to supervisors and to export.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.caseworkers import ApiToken, AuditEntry, User


def record(
    s: AsyncSession,
    actor: User | ApiToken,
    action: str,
    referral_id: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Adds an entry to the session; it is committed with the change it records."""
    is_user = isinstance(actor, User)
    entry = AuditEntry(
        user_id=actor.id if is_user else None,
        token_id=None if is_user else actor.id,
        actor=actor.username if is_user else f"api:{actor.name}",
        action=action,
        referral_id=referral_id,
        detail=detail,
    )
    s.add(entry)
    return entry
