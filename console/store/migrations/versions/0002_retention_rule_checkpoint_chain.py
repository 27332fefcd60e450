"""Retention is a rule the database keeps; checkpoints are chained and guarded like calls.

Under 0001 a row could be deleted as soon as any checkpoint covered it, and a checkpoint was
a plain INSERT: one forged checkpoint row let any call, however young, be deleted, and
`verify` resumed from it and said sound. Now:

- a chained row may be deleted only when a checkpoint covers it *and* it is older than
  three years by the database's own clock (duty rules §5); a call counts from its latest
  time (sealed, else rung);
- a checkpoint must be the next link of its own chain (`~checkpoints`: `seq`, `prev_hash`,
  `row_hash`, as the calls have), must end on an existing record of the archived chain
  (its hash included), past that chain's last checkpoint, and may cover nothing younger
  than three years; it can still never be changed or deleted;
- existing checkpoints are linked into the new chain, in the order they were written.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:50:00.000000
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YEARS = 3
GENESIS = "0" * 64
CHECKPOINT_CHAIN = "~checkpoints"

# Each chained table and its time columns: a row is old enough when all of them are.
TIMES: dict[str, tuple[str, ...]] = {
    "calls": ("ring_at", "sealed_at"),
    "amendments": ("at",),
    "agent_states": ("at",),
    "handovers": ("written_at",),
    "handover_signatures": ("at",),
    "event_reports": ("at",),
    "audit_log": ("at",),
}

_REFUSE_DELETE = (
    "duty record: {table} rows are never deleted, only an archived prefix older than {years} years"
)
_REFUSE_LINK = "duty record: a checkpoint must be the next link of the checkpoint chain"
_REFUSE_END = (
    "duty record: a checkpoint must end on a record of its chain, past its last checkpoint"
)
_REFUSE_YOUNG = "duty record: a checkpoint may not cover records younger than {years} years"


# ------------------------------------------------------------------------------- SQLite

_SQLITE_CUTOFF = f"datetime('now', '-{YEARS} years')"


def _sqlite_old(table: str, ref: str) -> str:
    """SQLite: the row `ref` of `table` is older than the retention (times are UTC text)."""
    cols = TIMES[table]
    parts = [f"{ref}.{cols[0]} < {_SQLITE_CUTOFF}"]
    parts += [f"coalesce({ref}.{c}, {ref}.{cols[0]}) < {_SQLITE_CUTOFF}" for c in cols[1:]]
    return " AND ".join(parts)


def _sqlite_up() -> list[str]:
    ddl = []
    for table in TIMES:
        covered = (
            "EXISTS (SELECT 1 FROM checkpoints c WHERE c.chain = OLD.chain "
            "AND OLD.seq <= c.upto_seq)"
        )
        ddl.append(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        ddl.append(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"WHEN NOT ({covered} AND {_sqlite_old(table, 'OLD')}) BEGIN SELECT RAISE(ABORT, "
            f"'{_REFUSE_DELETE.format(table=table, years=YEARS)}'); END"
        )
    last_seq = "(SELECT max(seq) FROM checkpoints)"
    last_hash = f"coalesce((SELECT row_hash FROM checkpoints WHERE seq = {last_seq}), '{GENESIS}')"
    ends_on = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} WHERE chain = NEW.chain AND seq = NEW.upto_seq "
        "AND row_hash = NEW.upto_hash)"
        for t in TIMES
    )
    young = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} r WHERE r.chain = NEW.chain AND r.seq <= NEW.upto_seq "
        f"AND NOT ({_sqlite_old(t, 'r')}))"
        for t in TIMES
    )
    ddl.append(
        "CREATE TRIGGER checkpoints_guard_insert BEFORE INSERT ON checkpoints BEGIN "
        f"SELECT RAISE(ABORT, '{_REFUSE_LINK}') WHERE NEW.seq IS NULL OR NEW.prev_hash IS NULL "
        f"OR NEW.row_hash IS NULL OR NEW.seq IS NOT coalesce({last_seq}, 0) + 1 "
        f"OR NEW.prev_hash IS NOT {last_hash}; "
        f"SELECT RAISE(ABORT, '{_REFUSE_END}') WHERE NEW.upto_seq <= coalesce("
        "(SELECT max(upto_seq) FROM checkpoints WHERE chain = NEW.chain), 0) "
        f"OR NOT ({ends_on}); "
        f"SELECT RAISE(ABORT, '{_REFUSE_YOUNG.format(years=YEARS)}') WHERE {young}; "
        "END"
    )
    return ddl


# --------------------------------------------------------------------------- PostgreSQL


def _pg_old(table: str, ref: str) -> str:
    cols = TIMES[table]
    cutoff = f"now() - interval '{YEARS} years'"
    parts = [f"{ref}.{cols[0]} < {cutoff}"]
    parts += [f"coalesce({ref}.{c}, {ref}.{cols[0]}) < {cutoff}" for c in cols[1:]]
    return " AND ".join(parts)


def _pg_guard() -> str:
    branches = []
    for n, table in enumerate(TIMES):
        keyword = "IF" if n == 0 else "ELSIF"
        branches.append(
            f"    {keyword} TG_TABLE_NAME = '{table}' THEN\n"
            f"      old_enough := {_pg_old(table, 'OLD')};"
        )
    return (
        """
CREATE OR REPLACE FUNCTION duty_record_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_enough boolean := false;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF TG_TABLE_NAME = 'calls' THEN
      IF OLD.sealed_at IS NULL THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'duty record: a sealed call is unalterable; add an amendment';
    END IF;
    RAISE EXCEPTION 'duty record: % rows are unalterable', TG_TABLE_NAME;
  END IF;
  IF TG_TABLE_NAME NOT IN ('anchors', 'checkpoints') THEN
"""
        + "\n".join(branches)
        + f"""
    END IF;
    IF old_enough AND EXISTS (
      SELECT 1 FROM checkpoints c WHERE c.chain = OLD.chain AND OLD.seq <= c.upto_seq
    ) THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION
    'duty record: % rows are never deleted, only an archived prefix older than {YEARS} years',
    TG_TABLE_NAME;
END
$$
"""
    )


def _pg_checkpoint_guard() -> str:
    ends_on = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} WHERE chain = NEW.chain AND seq = NEW.upto_seq "
        "AND row_hash = NEW.upto_hash)"
        for t in TIMES
    )
    young = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} r WHERE r.chain = NEW.chain AND r.seq <= NEW.upto_seq "
        f"AND NOT ({_pg_old(t, 'r')}))"
        for t in TIMES
    )
    return f"""
CREATE OR REPLACE FUNCTION duty_checkpoint_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint;
  last_hash text;
BEGIN
  SELECT seq, row_hash INTO last_seq, last_hash FROM checkpoints
    WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
  IF NEW.seq IS NULL OR NEW.prev_hash IS NULL OR NEW.row_hash IS NULL
     OR NEW.seq <> coalesce(last_seq, 0) + 1
     OR NEW.prev_hash <> coalesce(last_hash, '{GENESIS}') THEN
    RAISE EXCEPTION '{_REFUSE_LINK}';
  END IF;
  IF NEW.upto_seq <= coalesce(
       (SELECT max(upto_seq) FROM checkpoints WHERE chain = NEW.chain), 0)
     OR NOT ({ends_on}) THEN
    RAISE EXCEPTION '{_REFUSE_END}';
  END IF;
  IF {young} THEN
    RAISE EXCEPTION '{_REFUSE_YOUNG.format(years=YEARS)}';
  END IF;
  RETURN NEW;
END
$$
"""


def _pg_up() -> list[str]:
    return [
        _pg_guard(),
        _pg_checkpoint_guard(),
        "CREATE TRIGGER checkpoints_guard_insert BEFORE INSERT ON checkpoints "
        "FOR EACH ROW EXECUTE FUNCTION duty_checkpoint_guard()",
    ]


# ------------------------------------------------------------------------ the migration


def _link_existing(bind: Any) -> None:
    """Link checkpoints written under 0001 into the checkpoint chain, in the order written."""
    from console.store.chain import link_hash
    from console.store.models import UtcDateTime

    cols = ("archive_digest", "archive_name", "at", "chain", "rows", "upto_hash", "upto_seq")
    table = sa.table(
        "checkpoints",
        sa.column("id", sa.Integer()),
        sa.column("chain", sa.String()),
        sa.column("upto_seq", sa.BigInteger()),
        sa.column("upto_hash", sa.String()),
        sa.column("archive_name", sa.String()),
        sa.column("archive_digest", sa.String()),
        sa.column("rows", sa.BigInteger()),
        sa.column("at", UtcDateTime()),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    rows = bind.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    prev, seq = GENESIS, 0
    for row in rows:
        seq += 1
        content = {c: row[c] for c in cols}
        content.update(seq=seq, prev_hash=prev)
        row_hash = link_hash(prev, "checkpoints", content)
        bind.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, row_hash=row_hash)
        )
        prev = row_hash
    if seq:
        heads = sa.table(
            "chain_heads",
            sa.column("chain", sa.String()),
            sa.column("seq", sa.BigInteger()),
            sa.column("row_hash", sa.String()),
        )
        bind.execute(heads.delete().where(heads.c.chain == CHECKPOINT_CHAIN))
        bind.execute(heads.insert().values(chain=CHECKPOINT_CHAIN, seq=seq, row_hash=prev))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("checkpoints", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("checkpoints", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("checkpoints", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_index("uq_checkpoints_seq", "checkpoints", ["seq"], unique=True)
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_update")
    else:
        op.execute("ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_guard")
    _link_existing(bind)
    if sqlite:
        op.execute(
            "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN "
            "SELECT RAISE(ABORT, 'duty record: checkpoints rows are unalterable'); END"
        )
    else:
        op.execute("ALTER TABLE checkpoints ENABLE TRIGGER checkpoints_guard")
    for statement in _sqlite_up() if sqlite else _pg_up():
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    initial = importlib.import_module("console.store.migrations.versions.0001_initial_duty_record")
    if sqlite:  # every trigger naming checkpoints goes first: the batch rebuilds that table
        op.execute("DROP TRIGGER IF EXISTS checkpoints_guard_insert")
        for table in (*TIMES, "checkpoints"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS checkpoints_guard_insert ON checkpoints")
        op.execute("DROP FUNCTION IF EXISTS duty_checkpoint_guard()")
        op.execute(initial._PG_FUNCTION)
    op.execute(f"DELETE FROM chain_heads WHERE chain = '{CHECKPOINT_CHAIN}'")
    op.drop_index("uq_checkpoints_seq", table_name="checkpoints")
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    if sqlite:
        restore = tuple(
            f"CREATE TRIGGER {table}_no_{what} "
            for table in (*TIMES, "checkpoints")
            for what in ("delete", "update")
            if table == "checkpoints" or what == "delete"
        )
        for statement in initial._sqlite_triggers():
            if statement.startswith(restore):
                op.execute(statement)
