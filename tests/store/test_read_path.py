"""The review's read path (compiled statements on the driver's cursor) against the ORM.

Every record the fast path builds must equal the one the ORM builds from the same row
(times aware UTC, enums, amendments applied), on SQLite and PostgreSQL; a row the console
cannot read names its call and column; the statements still pass SQLAlchemy's cursor
events, so what a listener captures is what the raw driver can re-run.
"""

from __future__ import annotations

import dataclasses
import pickle
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from console.store import (
    CallFilter,
    CallOutcome,
    CallRecord,
    CorruptDatabase,
    DutyRecord,
    InvalidFact,
)
from console.store.amendments import amendments_by_key, apply_amendments, call_record
from console.store.models import CallRow
from console.store.review import ReviewFilter, SortKey, call_page, count_calls
from tests.store.helpers import raw
from tests.store.test_review import T0, fill


def orm_records(store: DutyRecord, amended: bool = True) -> dict[str, Any]:
    """Every call as the ORM builds it (the dataclass's own __init__), amendments applied."""
    with store._read() as session:
        rows = list(session.scalars(select(CallRow).order_by(CallRow.ring_at, CallRow.id)))
        records = [call_record(r) for r in rows]
        if not amended:
            return {r.key: r for r in records}
        found = amendments_by_key(session.connection(), [r.key for r in records])
    return {r.key: apply_amendments(r, found.get(r.key, [])) for r in records}


def test_records_equal_the_orm_ones_amendments_included(store: DutyRecord) -> None:
    keys = fill(store, 9)
    gate_key = store.open_call("hotline", T0 + timedelta(minutes=30), caller_number="1")
    store.seal_call(
        gate_key,
        CallOutcome.FORWARDED,
        answered_by="gate_post",
        forwarded_to="gate-south",
        forwarded_at=T0 + timedelta(minutes=30, seconds=20),
    )
    store.amend(gate_key, "notes", "门岗已处理", who="9001", why="follow-up")
    store.open_call("hotline", T0 + timedelta(hours=1), caller_number="13900000000")  # open
    store.amend(keys[0], "category", "complaint", who="9001", why="misfiled")
    store.amend(keys[0], "outcome", "forwarded", who="9001", why="went to the gate")
    later = T0 + timedelta(minutes=1, seconds=44)  # keys[1] rang at T0 + 1 min
    store.amend(keys[1], "answered_at", later.isoformat(), who="9001", why="clock skew")
    expected = orm_records(store)
    got = store.calls()
    assert [r.key for r in got] == list(expected)
    for record in got:
        assert record == expected[record.key]
        for name in ("ring_at", "answered_at", "ended_at", "sealed_at"):
            value = getattr(record, name)
            assert value is None or value.tzinfo is UTC, (name, value)
        assert record.outcome is None or isinstance(record.outcome, CallOutcome)
    assert got[0].amended_fields == ("category", "outcome")
    assert got[0].outcome is CallOutcome.FORWARDED
    assert got[1].seconds_to_answer == 44.0
    assert store.get_call(keys[1]) == expected[keys[1]]
    plain = orm_records(store, amended=False)
    assert store.get_call(keys[0], amended=False) == plain[keys[0]]
    assert {r.key: r for r in store.calls(amended=False)} == plain
    limited = store.calls(CallFilter(limit=2))
    assert limited == got[:2]
    gate = store.gate_post_calls(T0, T0 + timedelta(days=1))
    at_gate = [k for k, r in plain.items() if r.answered_by == "gate_post"]
    assert at_gate and [r.key for r in gate] == at_gate  # selected on values as sealed
    assert gate == [expected[k] for k in at_gate]


def test_fast_built_records_are_ordinary_frozen_call_records(store: DutyRecord) -> None:
    """The read path builds records by their slotted twin and a class switch: the result
    must be a CallRecord in every way — frozen, hashable, picklable, `replace`-able."""
    fill(store, 3)
    fast = store.calls()
    also = store.calls(amended=False)
    built = orm_records(store)
    for record in fast + also:
        assert type(record) is CallRecord
        assert record == built[record.key] and hash(record) == hash(built[record.key])
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.notes = "changed"  # type: ignore[misc]
        assert pickle.loads(pickle.dumps(record)) == record
        assert dataclasses.replace(record, notes="x").notes == "x" and record.notes != "x"
        assert not hasattr(record, "__dict__")


def test_filters_select_what_a_scan_selects(store: DutyRecord) -> None:
    fill(store, 24)
    everything = store.calls()
    day = CallFilter(since=T0, until=T0 + timedelta(minutes=15), outcome="answered")
    assert store.calls(day) == [
        r
        for r in everything
        if T0 <= r.ring_at < T0 + timedelta(minutes=15) and r.outcome is CallOutcome.ANSWERED
    ]
    agent = CallFilter(agent="1024", category="repair", hours=(0, 1))
    assert store.calls(agent) == [
        r for r in everything if r.answered_by == "1024" and r.category == "repair"
    ]
    assert (
        store.calls(CallFilter(satisfaction=2, limit=3))
        == [r for r in everything if r.satisfaction == 2][:3]
    )


@pytest.mark.parametrize(
    "bad",
    [
        CallFilter(since=datetime(2026, 3, 2)),  # naive
        CallFilter(limit=-1),
        CallFilter(outcome="vanished"),  # type: ignore[arg-type]
        CallFilter(hours=(3, 25)),
    ],
)
def test_bad_filters_are_clear_errors(store: DutyRecord, bad: CallFilter) -> None:
    fill(store, 2)
    with pytest.raises(InvalidFact):
        store.calls(bad)


def test_an_unknown_call_is_named(store: DutyRecord) -> None:
    from console.store import UnknownRecord

    with pytest.raises(UnknownRecord, match="nope"):
        store.get_call("nope")


# SQLite only: PostgreSQL's timestamptz column cannot hold a value that is not a time.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("column", "value"),
    [("ring_at", "yesterday"), ("sealed_at", "2026-13-45 99:00:00"), ("answered_at", "12")],
)
def test_an_unreadable_time_names_the_call_and_column(
    store: DutyRecord, column: str, value: str
) -> None:
    assert store.engine.dialect.name == "sqlite"
    keys = fill(store, 3)
    raw(
        store,
        f"UPDATE calls SET {column} = '{value}' WHERE key = '{keys[1]}'",
        bypass_triggers=True,
    )
    readers = [
        lambda: store.calls(),
        lambda: store.get_call(keys[1]),
        lambda: store.gate_post_calls(T0, T0 + timedelta(days=1)) or store.calls(),
    ]
    if column == "ring_at":
        readers.append(lambda: call_page(store, ReviewFilter(sort=SortKey.OLDEST)))
    for read in readers:
        with pytest.raises(CorruptDatabase, match=f"{keys[1]}.*{column}"):
            read()


def test_an_unknown_outcome_names_the_call(store: DutyRecord) -> None:
    keys = fill(store, 3)
    raw(
        store,
        f"UPDATE calls SET outcome = 'vanished' WHERE key = '{keys[2]}'",
        bypass_triggers=True,
    )
    for read in (lambda: store.calls(), lambda: store.get_call(keys[2])):
        with pytest.raises(CorruptDatabase, match=f"{keys[2]}.*'vanished'"):
            read()


def test_stored_times_keep_their_format_and_verify_passes(store: DutyRecord) -> None:
    """The read path changed nothing stored: times stay SQLAlchemy's naive-UTC text."""
    keys = fill(store, 4)
    store.calls()
    call_page(store, ReviewFilter())
    assert store.verify().ok
    if store.engine.dialect.name == "sqlite":
        db = store.engine.url.database
        assert db is not None
        with sqlite3.connect(db) as conn:
            stored = conn.execute(
                "SELECT ring_at, sealed_at FROM calls WHERE key = ?", (keys[0],)
            ).fetchone()
        assert stored[0] == "2026-03-02 00:00:00.000000"
        assert datetime.fromisoformat(stored[1] + "+00:00") == store.get_call(keys[0]).sealed_at


def test_old_database_file_reads_and_verifies(tmp_path: Path) -> None:
    """A file written before this read path (times stored by SQLAlchemy's own DateTime
    layout, the same text) reads with equal values and verifies."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with DutyRecord(url, tz=UTC) as store:
        keys = fill(store, 3)
    with sqlite3.connect(tmp_path / "old.db") as conn:
        texts = dict(conn.execute("SELECT key, ring_at FROM calls").fetchall())
    assert all(len(t) == 26 and t[10] == " " for t in texts.values())  # YYYY-MM-DD HH:MM:SS.ffffff
    with DutyRecord(url, tz=UTC) as store:
        assert store.verify().ok
        for key in keys:
            got = store.get_call(key).ring_at
            assert got == datetime.strptime(texts[key], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def test_cursor_events_see_the_statement_and_the_driver_reruns_it(store: DutyRecord) -> None:
    fill(store, 6)
    store.amend(store.calls()[1].key, "notes", "补记", who="9001", why="late")
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        sent.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        records = store.calls(CallFilter(since=T0, until=T0 + timedelta(hours=1)))
        page = call_page(store, ReviewFilter(CallFilter(agent="2048")), size=1)
        count = count_calls(store, ReviewFilter(text="咨询"))
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    selects = [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")]
    # calls: the records with their flag, then the flagged call's amendments; page; count
    assert len(selects) == 4, [s for s, _ in selects]
    with store.engine.connect() as conn:
        cursor = conn.connection.cursor()
        cursor.execute(*selects[0])
        assert len(cursor.fetchall()) == len(records) == 6
        cursor.execute(*selects[2])
        assert len(cursor.fetchall()) == len(page.calls) + 1  # one more: there is a next page
        cursor.execute(*selects[3])
        assert cursor.fetchall()[0][0] == count > 0
        cursor.close()
    assert sum(1 for r in records if r.amended_fields) == 1


def test_a_statement_is_compiled_once_per_filter_shape(store: DutyRecord) -> None:
    from console.store import statements as store_statements

    fill(store, 3)
    store.calls(CallFilter(agent="1024"))
    call_page(store, ReviewFilter(text="a b"))
    count_calls(store, ReviewFilter(text="a b"))
    known = set(store_statements._COMPILED)
    store.calls(CallFilter(agent="2048"))  # same shapes, other values: nothing new
    call_page(store, ReviewFilter(text="c d"))
    count_calls(store, ReviewFilter(text="e f"))
    assert set(store_statements._COMPILED) == known
    dialect = store.engine.dialect.name
    assert any(k[0] == dialect and k[2] == "calls" for k in known)
    assert any(k[0] == dialect and k[2] == "page" for k in known)
