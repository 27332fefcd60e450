"""Each call names the seat that took it, so a seat's start-up seals only its own calls.

Under 0002 every seat of a hotline wrote its calls under the one line name, and start-up
recovery sealed every open call of that line: a seat that restarted sealed another seat's
live call as interrupted, and that seat's own later writes failed (issue 13). Now:

- `calls.seat` names the seat that opened the call (nullable: rows written before this
  revision have none, and their hashes, computed without the column, still verify — the
  chain leaves a NULL `seat` out of a row's content);
- `seats` lists the seats that use this record, with the host they run on and when they
  last said so, so that a second machine opening the same SQLite file can be refused
  (SQLite over a shared file has no locking between machines; PostgreSQL is the way).

The sealed-call triggers are unchanged: a new nullable column is written at open, before
the seal, like every other column; after the seal it is as unalterable as the rest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite does not rebuild the table, so its triggers stay as they are.
    op.add_column("calls", sa.Column("seat", sa.String(length=64), nullable=True))
    op.create_index("ix_calls_open_seat", "calls", ["line", "seat", "sealed_at"])
    op.create_table(
        "seats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("seats")
    op.drop_index("ix_calls_open_seat", table_name="calls")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # DROP COLUMN (SQLite ≥ 3.35) keeps the triggers; a batch rebuild would drop them.
        op.execute("ALTER TABLE calls DROP COLUMN seat")
    else:
        op.drop_column("calls", "seat")
