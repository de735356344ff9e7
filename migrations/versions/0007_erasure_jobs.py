"""erasure jobs (retention and complete erasure)

Revision ID: 0007
Revises: 0009 (re-chained after rebasing on main, which has 0009_channel_windows on 0005)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("actor_user_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("contact_ids", sa.JSON(), nullable=False),
        sa.Column("conversation_ids", sa.JSON(), nullable=False),
        sa.Column("referral_ids", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("twilio_sids", sa.JSON(), nullable=False),
        sa.Column("telegram_messages", sa.Text(), nullable=False),  # encrypted (bot/crypto.py)
        sa.Column("receipt_channel", sa.String(length=16), nullable=True),
        sa.Column("receipt_address", sa.Text(), nullable=True),  # encrypted (bot/crypto.py)
        sa.Column("receipt_language", sa.String(length=2), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_erasure_jobs_reference", "erasure_jobs", ["reference"], unique=True)
    op.create_index("ix_erasure_jobs_due", "erasure_jobs", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_erasure_jobs_due", table_name="erasure_jobs")
    op.drop_index("uq_erasure_jobs_reference", table_name="erasure_jobs")
    op.drop_table("erasure_jobs")
