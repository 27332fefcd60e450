"""Database outages: the call path hands its writes to the outbox and never waits; the
writer brings them to the database on its own, once each, when it is back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from labdisk import fill

from console.store import (
    AgentRole,
    AgentState,
    CallOutcome,
    DatabaseUnavailable,
    DutyRecord,
    Outbox,
    OutboxError,
    StoreAlarm,
)
from console.store.journal import Journal
from tests.store.helpers import tmpfs
from tests.store.pg import PgServer, restart

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def one_call(store: DutyRecord, i: int) -> str:
    at = T0 + timedelta(minutes=i)
    key = store.open_call("hotline", at, caller_number=f"1390000{i:04d}")
    store.update_open_call(key, answered_at=at + timedelta(seconds=4), answered_by="auto")
    store.seal_call(
        key, CallOutcome.ANSWERED, ended_at=at + timedelta(seconds=30), satisfaction=1 + i % 3
    )
    return key


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def seat(db: str, tmp_path: Path, alarms: list[StoreAlarm], **kw: object) -> DutyRecord:
    store = DutyRecord(db, tz=UTC, on_alarm=alarms.append, **kw)  # type: ignore[arg-type]
    store.attach_outbox(Outbox(tmp_path / "outbox", "hotline"))
    return store


def test_sqlite_locked_the_call_path_does_not_wait_and_the_writer_catches_up(
    tmp_path: Path,
) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms, busy_timeout_ms=3000)
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    before = one_call(store, 0)
    assert store.settle(5)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the file
    t0 = time.monotonic()
    keys = [one_call(store, i) for i in range(1, 4)]
    store.set_agent_state("1024", AgentState.READY)
    handed_over = time.monotonic() - t0
    # Ten writes while the file is locked returned without waiting out even one busy
    # timeout (3 s): the old path waited 3 s per write before journaling it.
    assert handed_over < 3.0
    assert wait_for(lambda: store.database_down)
    assert store.outbox_status is not None and store.outbox_status.pending == 3 * 3 + 1
    blocker.execute("ROLLBACK")
    blocker.close()
    # No further write is needed: the writer retries on its own.
    assert store.settle(10)
    assert wait_for(lambda: [a.kind for a in alarms] == ["db_down", "db_back"])
    assert not store.database_down
    calls = store.calls()
    assert [c.key for c in calls] == [before, *keys]
    assert all(c.sealed and c.outcome is CallOutcome.ANSWERED for c in calls)
    assert [c.seq for c in calls] == [1, 2, 3, 4]
    assert len(store.agent_states("1024")) == 1
    assert store.verify().ok
    store.close()


def test_lock_taken_mid_call_the_hang_up_is_not_late(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms, busy_timeout_ms=3000)
    key = store.open_call("hotline", T0)
    store.update_open_call(key, answered_at=T0 + timedelta(seconds=3), answered_by="auto")
    assert store.settle(5)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    t0 = time.monotonic()
    store.update_open_call(key, step="conversation")
    store.seal_call(key, CallOutcome.ANSWERED, ended_at=T0 + timedelta(seconds=40))
    assert time.monotonic() - t0 < 3.0  # the hang-up was handled at once
    time.sleep(0.3)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.settle(10)
    assert store.get_call(key).sealed and store.get_call(key).step == "conversation"
    store.close()


def test_outbox_survives_a_restart_and_lands_before_recovery(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms, busy_timeout_ms=100)
    assert store.settle(5)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    open_key = store.open_call("hotline", T0)
    done_key = one_call(store, 1)
    assert store.writer is not None
    store.writer.stop(timeout=0.5)  # the console stops while the database is still locked
    store.close()
    assert len((tmp_path / "outbox" / "outbox-hotline.jsonl").read_text().splitlines()) == 4
    blocker.execute("ROLLBACK")
    blocker.close()
    again = seat(str(db), tmp_path, alarms)
    # The sealed call's seal lands before start-up recovery: only the open one is sealed
    # as interrupted.
    assert again.seal_interrupted_on_start() == [open_key]
    assert again.get_call(done_key).outcome is CallOutcome.ANSWERED
    assert again.get_call(open_key).outcome is CallOutcome.INTERRUPTED
    assert again.verify().ok
    again.close()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, "x")
    outbox.append("open", {"key": "a"})
    outbox.close()
    with (tmp_path / "outbox-x.jsonl").open("a") as fh:
        fh.write('{"n": 2, "op": "se')
    again = Outbox(tmp_path, "x")
    assert [(e.n, e.op, e.replayed) for e in again.pending()] == [(1, "open", True)]
    again.close()


def test_the_outbox_belongs_to_one_process(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, "hotline")
    with pytest.raises(OutboxError, match="in use by another running console"):
        Outbox(tmp_path, "hotline")
    code = (
        "import sys\nfrom console.store import Outbox, OutboxError\n"
        "try:\n    Outbox(sys.argv[1], 'hotline')\n"
        "except OutboxError as exc:\n    print(exc); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert f"(pid {os.getpid()})" in proc.stdout and len(proc.stdout.splitlines()) == 1
    outbox.close()
    Outbox(tmp_path, "hotline").close()  # free again once its owner let go


def test_another_process_opening_the_record_leaves_the_outbox_alone(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms, busy_timeout_ms=100)
    assert store.settle(5)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    keys = [one_call(store, i) for i in range(2)]
    # A supervisor's `verify` (another DutyRecord, no outbox) opens the same file meanwhile.
    blocker.execute("ROLLBACK")
    blocker.close()
    other = DutyRecord(str(db), tz=UTC)
    other.close()
    assert store.settle(10)
    assert [c.key for c in store.calls()] == keys
    assert store.verify().chains == {"hotline": 2}
    store.close()


def test_a_refused_entry_is_set_aside_not_blocking(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms)
    store.update_open_call("never-opened", notes="x")  # unknown key: can't be checked now
    key = one_call(store, 1)
    assert store.settle(5)
    assert store.get_call(key).sealed
    rejected = (tmp_path / "outbox" / "outbox-hotline.rejected.jsonl").read_text()
    assert "never-opened" in rejected and "no call" in rejected
    assert [a.kind for a in alarms] == ["record_refused"]
    assert store.outbox_status is not None and store.outbox_status.rejected == 1
    store.close()


def test_an_old_journal_beside_the_database_is_taken_over_once(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db), tz=UTC).close()
    legacy = Journal(Path(str(db) + ".journal.jsonl"))
    legacy.append("open", {"key": "k" * 32, "line": "hotline", "ring_at": T0.isoformat(),
                           "facts": {"caller_number": "13900000000"}})
    alarms: list[StoreAlarm] = []
    store = seat(str(db), tmp_path, alarms)
    assert store.settle(5)
    assert store.get_call("k" * 32).caller_number == "13900000000"
    assert not legacy.path.exists() and legacy.path.with_suffix(".jsonl.adopted").exists()
    store.close()


def test_without_an_outbox_an_outage_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, busy_timeout_ms=100)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(DatabaseUnavailable):
        store.open_call("hotline", T0)
    blocker.execute("ROLLBACK")
    blocker.close()
    store.close()


# --------------------------------------------------------------- a full disk, for real






def test_disk_full_loses_no_call(tmp_path: Path) -> None:
    """The database's disk fills, then the outbox's too (reserve and all): every call made
    meanwhile is kept (in memory as a last resort, counted) and lands when space returns."""
    with tmpfs(tmp_path / "dbdisk", "4m") as dbdisk, tmpfs(tmp_path / "obdisk", "1m") as obdisk:
        alarms: list[StoreAlarm] = []
        store = DutyRecord(str(dbdisk / "duty.db"), tz=UTC, on_alarm=alarms.append,
                           busy_timeout_ms=100)
        outbox = Outbox(obdisk / "outbox", "hotline", reserve_bytes=64 * 1024)
        store.attach_outbox(outbox)
        first = one_call(store, 0)
        assert store.settle(5)
        db_filler = fill(dbdisk)
        during_db_full = [one_call(store, i) for i in range(1, 3)]
        assert wait_for(lambda: store.database_down)
        fill(obdisk)
        # The outbox's page fills after a few calls; then it gives up its reserve.
        on_reserve = []
        while outbox.reserve_path.exists() and len(on_reserve) < 200:
            on_reserve.append(one_call(store, 3 + len(on_reserve)))
        assert not outbox.reserve_path.exists() and outbox.status().unsaved == 0
        fill(obdisk, "filler2")  # and then the reserve's space is gone too
        in_memory = []
        while outbox.status().unsaved == 0 and len(in_memory) < 400:
            in_memory.append(one_call(store, 300 + len(in_memory)))
        in_memory += [one_call(store, 800 + i) for i in range(2)]
        status = outbox.status()
        assert status.unsaved >= 6 and status.lost == 0
        assert alarms[0].kind == "db_down"
        at_risk = [a for a in alarms if a.kind == "outbox_at_risk"]
        # Raised at the first write only in memory, again each time their count doubles.
        assert at_risk[0].unsaved == 1 and at_risk[-1].unsaved <= status.unsaved
        assert status.unsaved < 2 * at_risk[-1].unsaved
        # Space comes back on both disks.
        for filler in (*obdisk.glob("filler*"), db_filler):
            filler.unlink()
        assert store.settle(15)
        assert wait_for(lambda: outbox.status().unsaved == 0)
        keys = [first, *during_db_full, *on_reserve, *in_memory]
        assert [c.key for c in store.calls()] == keys
        assert all(c.sealed for c in store.calls())
        assert store.verify().ok
        kinds = [a.kind for a in alarms]
        assert "db_back" in kinds and "outbox_safe" in kinds and "record_lost" not in kinds
        store.close()


# --------------------------------------------------------------- PostgreSQL stops


@pytest.mark.postgres
def test_postgres_killed_and_back_the_record_completes_on_its_own(
    postgres: PgServer, tmp_path: Path
) -> None:
    # A server of its own: this test kills it.
    from tests.store.pg import pg_server

    with pg_server() as server:
        url = server.create_database()
        alarms: list[StoreAlarm] = []
        store = seat(url, tmp_path, alarms)
        first = one_call(store, 0)
        assert store.settle(5)
        server.kill()
        during = [one_call(store, i) for i in range(1, 4)]
        assert wait_for(lambda: store.database_down)
        with pytest.raises(DatabaseUnavailable):
            store.calls()
        revived = restart(server)
        server.pid = revived.pid
        back = time.monotonic()
        # No new write: the writer's own retries complete the record within seconds.
        assert store.settle(10)
        caught_up = time.monotonic() - back
        assert caught_up < 5.0
        assert [a.kind for a in alarms] == ["db_down", "db_back"]
        assert [c.key for c in store.calls()] == [first, *during]
        assert store.verify().chains == {"hotline": 4}
        store.close()


@pytest.mark.postgres
def test_postgres_restart_between_calls_is_no_outage(postgres: PgServer, tmp_path: Path) -> None:
    """Pooled connections the restarted server closed are dropped at check-out (no round
    trip): the next call and the next review go straight to the new server, no alarm."""
    from tests.store.pg import pg_server

    with pg_server() as server:
        url = server.create_database()
        alarms: list[StoreAlarm] = []
        store = seat(url, tmp_path, alarms)
        first = one_call(store, 0)
        assert [c.key for c in store.calls()] == [first]
        server.kill()
        server.pid = restart(server).pid
        second = one_call(store, 1)
        assert store.settle(10)
        assert alarms == [] and not store.database_down
        assert [c.key for c in store.calls()] == [first, second]
        assert store.kpis(T0 - timedelta(days=1), T0 + timedelta(days=1)).total == 2
        store.close()
