"""A call says its kind, and a callback names the follow-up it calls back (回访, issue 13).

Until now every row of `calls` was an incoming call. The hotline places one kind of call
itself: a callback from a follow-up, to the caller's number (duty rules §2). It is a record
of its own, chained and sealed like every call, so it lives in `calls` too:

- `calls.kind`: NULL for an incoming call (every row written before this revision is one),
  `callback` for a call the seat placed;
- `calls.follow_up_key`: the follow-up a callback calls back (the link; NULL otherwise).

Both are nullable and NULL stays out of a row's hash (`chain.LATER_COLUMNS`), so rows
hashed before this revision still verify; once set, each is covered like any other column,
and by the open call's binding (`chain.open_binding`), and after the seal the triggers keep
it as unalterable as the rest. Plain ADD COLUMNs: SQLite keeps its triggers as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:00:00.000000
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
    op.add_column("calls", sa.Column("kind", sa.String(length=16), nullable=True))
    op.add_column("calls", sa.Column("follow_up_key", sa.String(length=32), nullable=True))
    op.create_index("ix_calls_follow_up_key", "calls", ["follow_up_key"])


def downgrade() -> None:
    op.drop_index("ix_calls_follow_up_key", table_name="calls")
    bind = op.get_bind()
    for column in ("follow_up_key", "kind"):
        if bind.dialect.name == "sqlite":
            # DROP COLUMN (SQLite ≥ 3.35) keeps the triggers; a batch rebuild would drop them.
            op.execute(f"ALTER TABLE calls DROP COLUMN {column}")
        else:
            op.drop_column("calls", column)
