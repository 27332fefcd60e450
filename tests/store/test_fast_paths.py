"""The speed work must not change what is stored: fast paths against the slow, plain ones.

Review rows are built without the dataclass `__init__`, call writes are Core statements,
and the schema check reads the head from the migration files instead of importing Alembic;
each is checked here against the general path it replaced.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields, replace
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from console.store import CallFilter, CallOutcome, DutyRecord, SchemaError, SealedRecordError
from console.store import engine as store_engine
from tests.store.conftest import Clock
from tests.store.helpers import raw

ROOT = Path(__file__).resolve().parents[2]


def _full_call(store: DutyRecord, clock: Clock, outcome: CallOutcome, n: int) -> str:
    ring = clock.now + timedelta(minutes=n)
    key = store.open_call("hotline", ring, caller_number=f"1380000{n:04d}", sip_call_id=f"c{n}")
    store.update_open_call(
        key, answered_at=ring + timedelta(seconds=3.25), answered_by="1024", rings=1, step="x"
    )
    store.seal_call(
        key,
        outcome,
        ended_at=ring + timedelta(seconds=70),
        category="投诉",
        satisfaction=2,
        content="电梯故障",
        forwarded_to=None,
    )
    return key


def test_review_records_equal_single_lookups(store: DutyRecord, clock: Clock) -> None:
    keys = [_full_call(store, clock, CallOutcome.ANSWERED, n) for n in range(3)]
    open_key = store.open_call("hotline", clock.now + timedelta(minutes=9), caller_number="1")
    listed = {r.key: r for r in store.calls()}
    assert set(listed) == {*keys, open_key}
    for key in [*keys, open_key]:
        one = store.get_call(key)  # built by the dataclass __init__ from an ORM row
        assert listed[key] == one
        for f in fields(one):
            assert getattr(listed[key], f.name) == getattr(one, f.name), f.name
    record = listed[keys[0]]
    assert record.ring_at.tzinfo is UTC and record.sealed_at is not None
    assert record.sealed_at.tzinfo is UTC
    assert record.outcome is CallOutcome.ANSWERED and record.category == "complaint"
    assert record.seconds_to_answer == 3.25 and record.amended_fields == ()
    with pytest.raises(AttributeError):  # still frozen
        record.category = "other"  # type: ignore[misc]
    assert replace(record, category="other").category == "other"
    assert hash(record) == hash(store.get_call(keys[0]))


def test_review_applies_amendments_from_one_query(store: DutyRecord, clock: Clock) -> None:
    keys = [_full_call(store, clock, CallOutcome.ANSWERED, n) for n in range(4)]
    store.amend(keys[1], "category", "repair", who="2001", why="misfiled")
    store.amend(keys[1], "category", "other", who="2001", why="second thought")
    store.amend(keys[3], "outcome", "abandoned", who="2001", why="caller hung up first")
    listed = {r.key: r for r in store.calls(CallFilter(limit=10))}
    assert listed[keys[1]].category == "other" and listed[keys[1]].amended_fields == ("category",)
    assert listed[keys[3]].outcome is CallOutcome.ABANDONED
    assert listed[keys[0]].amended_fields == () and listed[keys[2]].category == "complaint"
    plain = {r.key: r for r in store.calls(amended=False)}
    assert plain[keys[1]].category == "complaint"  # the original as sealed
    assert store.verify().ok


def test_core_seal_writes_a_verifiable_link(store: DutyRecord, clock: Clock) -> None:
    keys = [_full_call(store, clock, CallOutcome.ANSWERED, n) for n in range(5)]
    calls = [store.get_call(k, amended=False) for k in keys]
    assert [c.seq for c in calls] == [1, 2, 3, 4, 5]
    assert calls[0].handling_seconds == round(70 - 3.25, 3)
    heads = {a.chain: a for a in store.chain_heads()}
    assert heads["hotline"].seq == 5 and heads["hotline"].row_hash == calls[-1].row_hash
    assert store.verify().ok
    # A changed byte in the middle is still found (the Core seal hashed what it stored).
    raw(
        store,
        f"UPDATE calls SET content = 'x' WHERE key = '{keys[2]}'",
        bypass_triggers=True,
    )
    report = store.verify()
    assert not report.ok and report.problem is not None and "hotline" in report.problem


def test_update_and_seal_of_sealed_or_unknown_calls(store: DutyRecord, clock: Clock) -> None:
    key = _full_call(store, clock, CallOutcome.ANSWERED, 1)
    before = store.get_call(key)
    with pytest.raises(SealedRecordError):
        store.update_open_call(key, notes="late note")
    with pytest.raises(SealedRecordError):
        store.update_open_call(key)  # nothing to set: still told it's sealed
    with pytest.raises(SealedRecordError):
        store.seal_call(key, CallOutcome.MISSED)
    assert store.get_call(key) == before
    with pytest.raises(Exception, match="no call with key"):
        store.update_open_call("f" * 32, notes="x")
    with pytest.raises(Exception, match="no call with key"):
        store.seal_call("f" * 32, CallOutcome.MISSED)


def test_import_does_not_load_alembic() -> None:
    code = (
        "import sys, console.store; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic' "
        "or m.startswith('sqlalchemy.dialects.postgresql')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_declared_head_matches_alembic() -> None:
    declared = store_engine._declared_revisions()
    assert declared is not None
    assert declared == store_engine._script_revisions()
    assert store_engine.head_revision() in declared


def test_unreadable_migration_falls_back_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "0001_x.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0002_y.py").write_text('revision = make_id()\ndown_revision = "0001"\n')
    monkeypatch.setattr(store_engine, "MIGRATIONS", tmp_path / "migrations")
    assert store_engine._declared_revisions() is None  # not literal: Alembic must read it
    (versions / "0002_y.py").write_text('revision: str = "0002"\ndown_revision = "0001"\n')
    assert store_engine._declared_revisions() == {"0001": (), "0002": ("0001",)}


def test_two_heads_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_engine, "_revisions", lambda: {"a": (), "b": ("a",), "c": ("a",)})
    with pytest.raises(SchemaError, match="2 heads"):
        store_engine.head_revision()


def test_unknown_and_multiple_stamps_refused_without_alembic(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db), tz=UTC).close()
    eng = store_engine.make_engine(str(db))
    with eng.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="does not know"):
        DutyRecord(str(db), tz=UTC)
    with eng.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0002')"))
    with pytest.raises(SchemaError, match="several revisions"):
        DutyRecord(str(db), tz=UTC)
    eng.dispose()


def test_limited_page_counts_calls_not_amendments(store: DutyRecord, clock: Clock) -> None:
    keys = [_full_call(store, clock, CallOutcome.ANSWERED, n) for n in range(3)]
    store.amend(keys[0], "category", "repair", who="2001", why="misfiled")
    store.amend(keys[0], "content", "电梯困人", who="2001", why="more precise")
    page = store.calls(CallFilter(limit=2))
    assert [r.key for r in page] == keys[:2]
    assert page[0].category == "repair" and page[0].content == "电梯困人"
    assert page[0].amended_fields == ("category", "content") and page[1].amended_fields == ()
    assert [r.key for r in store.calls()] == keys  # the joined page: one record per call
