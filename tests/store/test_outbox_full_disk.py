"""The outbox on a disk that fills, for real (a tmpfs): what the lab's full-disk test found.

1. A write the full disk took only part of (a short write: the file's last page had room
   for the first bytes of the line) left those bytes in the file. The entry, kept in memory,
   was appended after them once space returned, on the same line: the next start read that
   line as unreadable and set the entry aside — a call's write lost from the record after a
   crash or a restart.
2. Writes kept in memory were written back only by the next append or when the writer was
   idle; while the database was away the writer is never idle, so with the outbox's disk
   free again and no new call (a quiet night) they stayed in memory — at risk, alarmed —
   for as long as the database stayed away.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.store import CallOutcome, DutyRecord, Outbox, StoreAlarm
from tests.store.test_outage import fill, tmpfs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_short_write_on_a_full_disk_leaves_no_torn_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        outbox = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        page = os.statvfs(disk).f_bsize
        # One entry that ends 100 bytes short of a page: the disk has no free page left,
        # but the file's last page has room for the first 100 bytes of the next line.
        base = len(outbox.append("open", {"pad": ""}).line())
        outbox.applied(outbox.pending()[0])
        outbox.close()
        (disk / "outbox" / "outbox-hotline.jsonl").write_bytes(b"")
        outbox = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        first = outbox.append("open", {"pad": "x" * (page - 100 - base)})
        assert outbox.path.stat().st_size == page - 100
        filler = fill(disk)
        second = outbox.append("update", {"key": "k", "facts": {"notes": "y" * 300}})
        assert outbox.status().unsaved == 1  # the disk refused it: kept in memory
        assert outbox.path.stat().st_size == page - 100  # and nothing of it in the file
        filler.unlink()
        third = outbox.append("seal", {"key": "k"})
        assert outbox.status().unsaved == 0
        outbox.close()
        again = Outbox(disk / "outbox", "hotline", reserve_bytes=0)
        # The next start reads every entry back; none is set aside as unreadable.
        assert [e.n for e in again.pending()] == [first.n, second.n, third.n]
        assert not again.rejected_path.exists()
        again.close()


def test_writes_in_memory_go_to_disk_when_space_returns_without_a_new_write(
    tmp_path: Path,
) -> None:
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    with tmpfs(tmp_path / "obdisk", "1m") as obdisk:
        store = DutyRecord(str(db), tz=UTC, on_alarm=alarms.append, busy_timeout_ms=100)
        outbox = Outbox(obdisk / "outbox", "hotline", reserve_bytes=0)
        store.attach_outbox(outbox)
        assert store.settle(5)
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # the database away the whole time
        try:
            filler = fill(obdisk)
            keys = []
            while outbox.status().unsaved == 0 and len(keys) < 200:
                key = store.open_call("hotline", T0 + timedelta(minutes=len(keys)))
                store.seal_call(key, CallOutcome.MISSED, ended_at=T0)
                keys.append(key)
            assert outbox.status().unsaved > 0
            assert "outbox_at_risk" in [a.kind for a in alarms]
            filler.unlink()
            # No further write: the writer, retrying the database, writes them to disk. The
            # outbox tells the record (its alarm) after it releases its lock, so a reader can
            # see the writes on disk a moment before outbox_safe: wait for both.
            deadline = time.monotonic() + 3.0
            while (outbox.status().unsaved or "outbox_safe" not in [a.kind for a in alarms]) \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
            assert outbox.status().unsaved == 0
            assert store.database_down and "outbox_safe" in [a.kind for a in alarms]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.settle(10)
        assert [c.key for c in store.calls()] == keys
        assert store.verify().ok
        store.close()


def test_the_at_risk_alarm_says_how_many_writes_are_at_risk_as_they_grow(
    tmp_path: Path,
) -> None:
    """3. `outbox_at_risk` was raised once, at the first write kept in memory ("1 write(s)
    only in memory"), and never again however many followed (the lab: 14 at risk, the log
    and the seat still said 1). It is raised again each time the count doubles."""
    db = tmp_path / "duty.db"
    alarms: list[StoreAlarm] = []
    with tmpfs(tmp_path / "obdisk", "1m") as obdisk:
        store = DutyRecord(str(db), tz=UTC, on_alarm=alarms.append, busy_timeout_ms=100)
        outbox = Outbox(obdisk / "outbox", "hotline", reserve_bytes=0)
        store.attach_outbox(outbox)
        assert store.settle(5)
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            filler = fill(obdisk)
            opened = 0
            while outbox.status().unsaved < 40 and opened < 400:
                store.open_call("hotline", T0 + timedelta(minutes=opened))
                opened += 1
            told = [a for a in alarms if a.kind == "outbox_at_risk"]
            assert [a.unsaved for a in told] == [1, 2, 4, 8, 16, 32]
            assert "32 write(s) only in memory" in told[-1].message
            filler.unlink()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.settle(10)
        assert [a.kind for a in alarms].count("outbox_safe") == 1
        store.close()
