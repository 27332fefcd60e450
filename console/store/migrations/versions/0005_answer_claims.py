"""Answer claims: the seats of one hotline agree which of them answers a forked call.

Kamailio forks the caller's INVITE to every seat registered for the hotline. Each seat ran
its own ring clock, and a seat whose 200 OK was on the wire before the PBX's CANCEL answered
too: the caller got two or three 200 OKs (issue 13). A seat now answers only after it has
won the claim for the caller's dialog — the Call-ID and From tag, the same on every forked
branch (RFC 3261 §16.6: a proxy forwards them unchanged) — taken in one statement, an
INSERT … ON CONFLICT DO NOTHING on the primary key below. The row that is there names the
winner: its seat, and its agent ID when an agent pressed answer (NULL: the seat answered by
itself at the ring limit).

Not part of the unalterable record (coordination, like `seats`): no chain, no triggers.
Rows are small; the seat's claim thread deletes those older than a day (a claim matters only
while its call rings), so the table stays bounded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:25:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answer_claims",
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("dialog", sa.String(length=64), nullable=False),
        sa.Column("seat", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("line", "dialog"),
    )
    op.create_index("ix_answer_claims_claimed_at", "answer_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_answer_claims_claimed_at", table_name="answer_claims")
    op.drop_table("answer_claims")
