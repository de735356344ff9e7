"""Join the channels, intake and caseworker-queue migrations, written in parallel.

Revision ID: 0004
Revises: 0003_channels, 0003_intake, 0003_queue
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | Sequence[str] | None = ("0003_channels", "0003_intake", "0003_queue")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # nothing to change: the three branches touch different tables


def downgrade() -> None:
    pass
