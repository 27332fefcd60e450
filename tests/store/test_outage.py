"""Database outages: calls keep being recorded into the journal and reach the database once."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.store import (
    AgentRole,
    AgentState,
    CallOutcome,
    DatabaseUnavailable,
    DutyRecord,
    StoreAlarm,
)
from console.store.journal import Journal
from tests.store.pg import PgServer, restart

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def one_call(store: DutyRecord, i: int) -> str:
    at = T0 + timedelta(minutes=i)
    key = store.open_call("hotline", at, caller_number=f"1390000{i:04d}")
    store.update_open_call(key, answered_at=at + timedelta(seconds=4), answered_by="auto")
    store.seal_call(
        key, CallOutcome.ANSWERED, ended_at=at + timedelta(seconds=30), satisfaction=1 + i % 3
    )
    return key


def test_sqlite_locked_past_busy_timeout_goes_to_journal(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = DutyRecord(
        str(db),
        tz=UTC,
        busy_timeout_ms=100,
        on_alarm=alarms.append,
        journal_path=tmp_path / "j.jsonl",
    )
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    before = one_call(store, 0)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the file
    keys = [one_call(store, i) for i in range(1, 4)]
    store.set_agent_state("1024", AgentState.READY)
    assert store.database_down and [a.kind for a in alarms] == ["db_down"]
    assert store.journal.pending() == 3 * 3 + 1
    blocker.execute("ROLLBACK")
    blocker.close()
    after = one_call(store, 4)  # the next write replays the journal first, in order
    assert not store.database_down and [a.kind for a in alarms] == ["db_down", "db_back"]
    assert store.journal.pending() == 0
    calls = store.calls()
    assert [c.key for c in calls] == [before, *keys, after]
    assert all(c.sealed and c.outcome is CallOutcome.ANSWERED for c in calls)
    assert [c.seq for c in calls] == [1, 2, 3, 4, 5]
    assert len(store.agent_states("1024")) == 1
    assert store.verify().ok
    store.close()


def test_replay_twice_writes_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, busy_timeout_ms=100, journal_path=tmp_path / "j.jsonl")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    keys = [one_call(store, i) for i in range(3)]
    saved = (tmp_path / "j.jsonl").read_bytes()
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.replay_journal() == 9
    # A crash after the database commit but before the journal was cleared: same entries again.
    (tmp_path / "j.jsonl").write_bytes(saved + b'{"n": 10, "op": "seal", "args": {"ke')
    assert store.replay_journal() == 9
    assert [c.key for c in store.calls()] == keys
    assert store.verify().chains == {"hotline": 3}
    store.close()


def test_journal_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, busy_timeout_ms=100, journal_path=tmp_path / "j.jsonl")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    key = store.open_call("hotline", T0)
    store.close()  # the console stops while the database is still locked
    blocker.execute("ROLLBACK")
    blocker.close()
    again = DutyRecord(str(db), tz=UTC, journal_path=tmp_path / "j.jsonl")  # replays on open
    assert again.journal.pending() == 0
    assert again.seal_interrupted_on_start() == [key]
    again.close()


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append("open", {"key": "a"})
    with (tmp_path / "j.jsonl").open("a") as fh:
        fh.write('{"n": 2, "op": "se')
    assert [e.op for e in journal.entries()] == ["open"]


@pytest.mark.postgres
def test_postgres_down_and_back(postgres: PgServer, tmp_path: Path) -> None:
    # A server of its own: this test kills it.
    from tests.store.pg import pg_server

    with pg_server() as server:
        url = server.create_database()
        alarms: list[StoreAlarm] = []
        store = DutyRecord(url, tz=UTC, on_alarm=alarms.append, journal_path=tmp_path / "j.jsonl")
        first = one_call(store, 0)
        server.kill()
        during = [one_call(store, i) for i in range(1, 4)]
        assert store.database_down and store.journal.pending() == 9
        with pytest.raises(DatabaseUnavailable):
            store.calls()
        revived = restart(server)
        server.pid = revived.pid
        last = one_call(store, 4)
        assert [a.kind for a in alarms] == ["db_down", "db_back"]
        assert [c.key for c in store.calls()] == [first, *during, last]
        assert store.verify().chains == {"hotline": 5}
        store.close()


@pytest.mark.postgres
def test_postgres_restart_between_calls_is_no_outage(postgres: PgServer, tmp_path: Path) -> None:
    """Pooled connections the restarted server closed are dropped at check-out (no round
    trip): the next call and the next review go straight to the new server, no alarm."""
    from tests.store.pg import pg_server

    with pg_server() as server:
        url = server.create_database()
        alarms: list[StoreAlarm] = []
        store = DutyRecord(url, tz=UTC, on_alarm=alarms.append, journal_path=tmp_path / "j.jsonl")
        first = one_call(store, 0)
        assert [c.key for c in store.calls()] == [first]
        server.kill()
        server.pid = restart(server).pid
        second = one_call(store, 1)
        assert alarms == [] and store.journal.pending() == 0 and not store.database_down
        assert [c.key for c in store.calls()] == [first, second]
        assert store.kpis(T0 - timedelta(days=1), T0 + timedelta(days=1)).total == 2
        store.close()


def test_a_bad_journal_entry_is_set_aside_not_blocking(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, busy_timeout_ms=100, journal_path=tmp_path / "j.jsonl")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    store.update_open_call("never-opened", notes="x")  # unknown key: can't be checked now
    key = one_call(store, 1)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.replay_journal() == 3
    assert store.get_call(key).sealed
    rejected = (tmp_path / "j.jsonl.rejected").read_text()
    assert "never-opened" in rejected and "no call" in rejected
    assert store.journal.pending() == 0
    store.close()
