"""Seat presence: the team board's latest state of each seat (issue 13).

`seats.presence` holds the seat's `SeatPresence` as JSON: its state (ready, ringing, on
call, after-call work, away, logged out), its line's registration, its gate-post check and
the callers waiting on it. Each seat overwrites its own row and, on PostgreSQL, sends
`NOTIFY duty_board` in the same transaction; every board re-reads the rows when told.

Not part of the unalterable record (coordination, like `seats` and `answer_claims`): the
agent state changes are chained facts already (`agent_states`); this is only the latest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("seats", sa.Column("presence", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("seats") as batch:
        batch.drop_column("presence")
