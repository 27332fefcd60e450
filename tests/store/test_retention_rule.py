"""Retention is a rule (issue 10, point 6): nothing younger than three years goes, whatever
the flags; checkpoints are chained links that only the archive writes, guarded by the
database on SQLite and PostgreSQL, and `verify` names a forged or deleted one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from console.cli import main
from console.store import ArchiveRefused, CallOutcome, DutyRecord
from console.store.archive import archive
from console.store.engine import alembic_config
from console.store.models import CHECKPOINT_CHAIN
from console.store.values import GENESIS
from tests.store.conftest import Clock


def years_ago(years: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=round(365.25 * years))


def record_calls(store: DutyRecord, clock: Clock, start: datetime, n: int) -> list[str]:
    """`n` calls a day apart from `start`, each sealed (by the clock) a minute after it rang."""
    keys = []
    for i in range(n):
        at = start + timedelta(days=i)
        clock.now = at + timedelta(minutes=1)
        key = store.open_call("hotline", at, caller_number=f"1380000{i:04d}")
        store.seal_call(key, CallOutcome.MISSED)
        keys.append(key)
    clock.now = datetime.now(UTC)
    return keys


def sql(store: DutyRecord, statement: str, **params: Any) -> Any:
    with store.engine.connect() as conn:
        result = conn.execute(text(statement), params)
        rows = result.all() if result.returns_rows else None
        conn.commit()
    return rows


def drop_checkpoint_insert_guard(store: DutyRecord) -> None:
    """An insider who removes the new INSERT guard of checkpoints (but not the others)."""
    if store.engine.dialect.name == "sqlite":
        sql(store, "DROP TRIGGER checkpoints_guard_insert")
    else:
        sql(store, "ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_guard_insert")


def forge_checkpoint(store: DutyRecord, upto_seq: int, linked: bool = True) -> None:
    """INSERT a checkpoint by hand: the next link of the checkpoint chain, with a made-up hash."""
    rows = sql(
        store,
        "SELECT row_hash FROM calls WHERE chain = 'hotline' AND seq = :s",
        s=upto_seq,
    )
    last = sql(store, "SELECT seq, row_hash FROM checkpoints ORDER BY seq DESC LIMIT 1")
    seq, prev = (int(last[0][0]) + 1, last[0][1]) if last else (1, GENESIS)
    columns = "chain, upto_seq, upto_hash, archive_name, archive_digest, rows, at"
    values = "'hotline', :u, :h, 'forged.jsonl', :d, :u, :at"
    if linked:
        columns += ", seq, prev_hash, row_hash"
        values += ", :seq, :prev, :fake"
    sql(
        store,
        f"INSERT INTO checkpoints ({columns}) VALUES ({values})",
        u=upto_seq,
        h=rows[0][0],
        d="0" * 64,
        at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        seq=seq,
        prev=prev,
        fake="f" * 64,
    )


@pytest.mark.parametrize("years", [0, -1, 2])
def test_a_retention_shorter_than_three_years_is_refused(
    store: DutyRecord, clock: Clock, tmp_path: Path, years: int
) -> None:
    keys = record_calls(store, clock, years_ago(0.3), 5)
    with pytest.raises(ArchiveRefused, match="shorter than the 3 years"):
        archive(store, tmp_path, who="2001", retention_years=years)
    assert [c.key for c in store.calls()] == keys
    assert store.audit_log()[-1].action == "archive_refused"
    assert list(tmp_path.glob("duty-archive-*")) == []


@pytest.mark.parametrize("years", ["0", "-1"])
def test_cli_retention_years_zero_purges_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], years: str
) -> None:
    db = str(tmp_path / "duty.db")
    clock = Clock(datetime.now(UTC))
    store = DutyRecord(db, tz=UTC, clock=clock)
    keys = record_calls(store, clock, years_ago(0.5), 4)
    store.close()
    argv = ["archive", "--db", db, "--tz", "UTC", "--out", str(tmp_path)]
    assert main([*argv, "--retention-years", years]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "never shorter" in err
    with DutyRecord(db, tz=UTC) as again:
        assert [c.key for c in again.calls()] == keys
        assert again.verify().ok


def test_a_longer_retention_keeps_more(store: DutyRecord, clock: Clock, tmp_path: Path) -> None:
    old = record_calls(store, clock, years_ago(6), 3)
    middle = record_calls(store, clock, years_ago(4), 3)
    result = archive(store, tmp_path, who="2001", retention_years=5)
    assert result.purged == {"hotline": 3}
    assert [c.key for c in store.calls()] == middle
    assert old  # archived, in the file
    assert store.verify().ok


def test_archive_writes_a_chained_checkpoint(
    store: DutyRecord, clock: Clock, tmp_path: Path
) -> None:
    record_calls(store, clock, years_ago(5), 4)
    record_calls(store, clock, years_ago(1), 2)
    result = archive(store, tmp_path, who="2001")
    assert result.purged == {"hotline": 4}
    report = store.verify()
    assert report.ok, report.problem
    assert report.chains == {CHECKPOINT_CHAIN: 1, "hotline": 2, "~admin": 1}
    assert [a.chain for a in store.chain_heads()].count(CHECKPOINT_CHAIN) == 1


def test_a_hand_made_checkpoint_is_refused_by_the_database(store: DutyRecord, clock: Clock) -> None:
    record_calls(store, clock, years_ago(0.5), 4)
    # Not a link of the checkpoint chain (the 0001 columns only): refused.
    with pytest.raises(DBAPIError, match="next link of the checkpoint chain"):
        forge_checkpoint(store, 3, linked=False)
    # A link, but over records younger than three years: refused.
    with pytest.raises(DBAPIError, match="younger than 3 years"):
        forge_checkpoint(store, 3)
    assert sql(store, "SELECT count(*) FROM checkpoints")[0][0] == 0


def test_a_forged_checkpoint_lets_no_young_record_be_deleted(
    store: DutyRecord, clock: Clock
) -> None:
    keys = record_calls(store, clock, years_ago(0.5), 4)
    drop_checkpoint_insert_guard(store)
    forge_checkpoint(store, 3)  # got in: but the rows it covers are young
    with pytest.raises(DBAPIError, match="older than 3 years"):
        sql(store, "DELETE FROM calls WHERE chain = 'hotline' AND seq <= 3")
    assert [c.key for c in store.calls()] == keys
    report = store.verify()
    assert not report.ok and "checkpoint not made by the archive" in (report.problem or "")


def test_verify_names_a_forged_checkpoint_and_the_records_deleted_under_it(
    store: DutyRecord, clock: Clock
) -> None:
    keys = record_calls(store, clock, years_ago(5), 5)
    forge_checkpoint(store, 3)  # old enough for the database: it lets rows 1–3 go
    sql(store, "DELETE FROM calls WHERE chain = 'hotline' AND seq <= 3")
    assert [c.key for c in store.calls()] == keys[3:]
    report = store.verify()
    assert not report.ok
    problem = report.problem or ""
    assert "checkpoint not made by the archive" in problem
    assert "content does not match its hash" in problem
    assert f"calls key={keys[3]} seq=4" in problem and "missing (seq 1–3)" in problem


def test_verify_names_a_checkpoint_outside_the_chain(store: DutyRecord, clock: Clock) -> None:
    keys = record_calls(store, clock, years_ago(5), 4)
    drop_checkpoint_insert_guard(store)
    forge_checkpoint(store, 2, linked=False)
    sql(store, "DELETE FROM calls WHERE chain = 'hotline' AND seq <= 2")
    problem = store.verify().problem or ""
    assert "outside the chain of checkpoints" in problem
    assert f"calls key={keys[2]} seq=3" in problem and "missing (seq 1–2)" in problem


def test_verify_notices_a_deleted_checkpoint(
    store: DutyRecord, clock: Clock, tmp_path: Path
) -> None:
    # Two archives, two checkpoints of the same chain; the first is removed by an insider
    # who also dropped the guards. Before, verify resumed from the second and said sound.
    record_calls(store, clock, years_ago(5), 3)
    record_calls(store, clock, years_ago(4.5), 3)
    record_calls(store, clock, years_ago(1), 2)
    clock.now = years_ago(4.5 - 3) - timedelta(days=40)
    first = archive(store, tmp_path, who="2001")
    clock.now = datetime.now(UTC)
    second = archive(store, tmp_path, who="2001")
    assert first.purged and second.purged
    assert store.verify().ok
    if store.engine.dialect.name == "sqlite":
        sql(store, "DROP TRIGGER checkpoints_no_delete")
    else:
        sql(store, "ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_guard")
    sql(store, "DELETE FROM checkpoints WHERE seq = 1")
    problem = store.verify().problem or ""
    assert "checkpoint not made by the archive" in problem and "missing (seq 1)" in problem


def test_migration_links_checkpoints_written_before_it(
    store: DutyRecord, clock: Clock, tmp_path: Path
) -> None:
    from alembic import command

    record_calls(store, clock, years_ago(5), 3)
    record_calls(store, clock, years_ago(1), 1)
    archive(store, tmp_path, who="2001")
    before = store.verify()
    assert before.ok and before.chains[CHECKPOINT_CHAIN] == 1
    heads = store.chain_heads()
    cfg = alembic_config(store.engine)
    command.downgrade(cfg, "0001")  # a record as 0001 left it: an unlinked checkpoint
    assert sql(store, "SELECT count(*) FROM checkpoints")[0][0] == 1
    command.upgrade(cfg, "head")
    after = store.verify(heads)
    assert after.ok, after.problem
    assert after.chains == before.chains
