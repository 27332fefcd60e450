"""Calls by SIP Call-ID: the figures, exports and call log count callers, not legs.

A ring-all hotline writes one row per seat that rang (a leg). The legs of one caller's call
share the SIP Call-ID (a proxy forwards it unchanged on every forked branch), so the reads
keep one row per caller — the leg that speaks for it (`console.domain.caller_call`) — by
asking of each leg whether another leg with its Call-ID outranks it: one probe of this index
per leg (issue 13). Nothing is stored differently: the Call-ID is a fact of every leg since
0001, in its hash and, since 0004, in its open binding, so the grouping reads only what
`verify` already covers. An index only: no trigger changes, no rebuild of the table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_calls_sip_call_id", "calls", ["sip_call_id"])


def downgrade() -> None:
    op.drop_index("ix_calls_sip_call_id", table_name="calls")
