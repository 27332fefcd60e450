"""Calls by seat: the figures know in two seeks whether the record is a team's (issue 13).

A record whose calls name two seats or more is a ring-all team's: the figures, exports and
call log group a caller's legs (one probe of `ix_calls_sip_call_id` per leg, 0006). A record
of one seat has no caller with two legs, and its reads skip the probe. Which it is comes
from the calls themselves — the first and the last seat name (`statements.TEAM_SEATS`),
two seeks of this index — so nothing outside the chain decides how the figures count (each
leg's seat is in its hash and its open binding). An index only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_calls_seat", "calls", ["seat"])


def downgrade() -> None:
    op.drop_index("ix_calls_seat", table_name="calls")
