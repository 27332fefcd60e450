"""Each call is bound when it is opened, so a row INSERTed by hand can't be sealed as a call.

Under 0003 an open call was an unchained row until its seal: an insider could INSERT one
(backdated, an invented agent and score) and the next start sealed it into the chain as
*interrupted*, after which `verify` called it sound. Now `calls.open_mac` holds an HMAC,
under the anchor key (a file outside the database), of the facts known at the first ring
(key, line, ring time, caller, SIP Call-ID). Start-up refuses to seal a row without a valid
one and `verify` names it.

The column is nullable: rows written before this revision have none, and their hashes,
computed without the column, still verify (the chain leaves a NULL `open_mac` out of a row's
content, as it does `seat`). A plain ADD COLUMN keeps SQLite's triggers as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 02:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("open_mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # DROP COLUMN (SQLite ≥ 3.35) keeps the triggers; a batch rebuild would drop them.
        op.execute("ALTER TABLE calls DROP COLUMN open_mac")
    else:
        op.drop_column("calls", "open_mac")
