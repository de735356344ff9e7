"""encryption at rest: personal columns become Fernet tokens, contacts found by a keyed hash

Every personal column listed below is rewritten as a token of the data keys (bot/crypto.py) and
``contacts.address_hash`` (HMAC-SHA256 of the address under the lookup key) replaces the unique
address. On PostgreSQL the JSON columns become TEXT (a token is not JSON). On SQLite the column
types are left as they were (SQLite stores any text in them) and the old UNIQUE (channel, address)
stays in the table: removing it needs a table rebuild, which with foreign keys on would cascade-
delete the conversations; over ciphertext it never matches anything.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot import crypto

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, type before this revision); frozen here: later models may change.
PERSONAL_COLUMNS: list[tuple[str, str, sa.types.TypeEngine]] = [
    ("contacts", "address", sa.String(length=128)),
    ("messages", "text", sa.Text()),
    ("messages", "payload", sa.JSON()),
    ("referrals", "intake", sa.JSON()),
    ("referrals", "screening_reasons", sa.JSON()),
    ("referrals", "outcome_note", sa.Text()),
    ("referral_notes", "text", sa.Text()),
    ("deliveries", "text", sa.Text()),
    ("deliveries", "extra", sa.JSON()),
    ("intake_progress", "answers", sa.JSON()),
]


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    conn = op.get_bind()
    keyring = crypto.current()
    if _is_postgresql():
        for table, column, before in PERSONAL_COLUMNS:
            if not isinstance(before, sa.Text):
                op.alter_column(
                    table,
                    column,
                    type_=sa.Text(),
                    existing_type=before,
                    postgresql_using=f"{column}::text",
                )
    op.add_column("contacts", sa.Column("address_hash", sa.String(length=64), nullable=True))
    # The hashes from the plaintext addresses, before they are encrypted.
    rows = conn.execute(sa.text("SELECT id, address FROM contacts")).fetchall()
    if rows:
        conn.execute(
            sa.text("UPDATE contacts SET address_hash = :hash WHERE id = :id"),
            [{"id": row_id, "hash": keyring.lookup_hash(address)} for row_id, address in rows],
        )
    for table, column, _before in PERSONAL_COLUMNS:
        crypto.reencrypt_column(conn, table, column, keyring, mode="encrypt")
    if _is_postgresql():
        op.alter_column("contacts", "address_hash", nullable=False, existing_type=sa.String(64))
        op.drop_constraint("uq_contacts_channel_address", "contacts", type_="unique")
    op.create_index(
        "uq_contacts_channel_address_hash", "contacts", ["channel", "address_hash"], unique=True
    )


def downgrade() -> None:
    conn = op.get_bind()
    keyring = crypto.current()
    op.drop_index("uq_contacts_channel_address_hash", table_name="contacts")
    for table, column, _before in PERSONAL_COLUMNS:
        crypto.reencrypt_column(conn, table, column, keyring, mode="decrypt")
    op.drop_column("contacts", "address_hash")
    if _is_postgresql():
        op.create_unique_constraint(
            "uq_contacts_channel_address", "contacts", ["channel", "address"]
        )
        for table, column, before in PERSONAL_COLUMNS:
            if not isinstance(before, sa.Text):
                using = f"{column}::json" if isinstance(before, sa.JSON) else None
                op.alter_column(
                    table,
                    column,
                    type_=before,
                    existing_type=sa.Text(),
                    postgresql_using=using,
                )
