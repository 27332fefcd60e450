"""Several seats on one record (issue 13): a seat's start seals only its own open calls.

Seat C restarting used to seal seat A's live call as interrupted (every seat wrote the line
name "hotline" and start-up sealed every open call of it); A's later writes then failed with
`SealedRecordError`. Each call now carries its seat, each seat claims its name at start, and
a SQLite file used from a second machine is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from console.store import CallOutcome, DutyRecord, InvalidFact, SeatInUse
from console.store.chain import canonical_columns, link_hash
from console.store.models import CallRow
from console.store.values import GENESIS
from tests.store.conftest import Clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _answered_open(store: DutyRecord, seat: str | None) -> str:
    key = store.open_call("hotline", T0, caller_number="13800000001", seat=seat)
    store.update_open_call(key, answered_at=T0 + timedelta(seconds=4), answered_by="1024")
    return key


def test_a_seat_start_leaves_another_seats_live_call_alone(db_url: str, clock: Clock) -> None:
    seat_a = DutyRecord(db_url, tz=UTC, clock=clock)
    seat_c = DutyRecord(db_url, tz=UTC, clock=clock)
    try:
        live = _answered_open(seat_a, "seat-a")
        left_by_c = seat_c.open_call("hotline", T0, seat="seat-c")  # C's previous run crashed
        # C restarts: only what C left open is sealed.
        assert seat_c.seal_interrupted_on_start(lines=["hotline"], seat="seat-c") == [left_by_c]
        assert seat_c.get_call(left_by_c).outcome is CallOutcome.INTERRUPTED
        assert not seat_c.get_call(live).sealed
        # A's call goes on: its later facts and its real end are recorded.
        seat_a.update_open_call(live, step="survey", satisfaction=1)
        clock.now = T0 + timedelta(minutes=3)
        seat_a.seal_call(live, CallOutcome.ANSWERED, ended_at=clock.now, end_reason="remote_bye")
        call = seat_a.get_call(live)
        assert call.outcome is CallOutcome.ANSWERED and call.end_reason == "remote_bye"
        assert call.satisfaction == 1 and call.seat == "seat-a"
        assert seat_c.get_call(left_by_c).seat == "seat-c"
        assert seat_a.verify().ok
    finally:
        seat_a.close()
        seat_c.close()


def test_calls_without_a_seat_are_sealed_by_the_first_seat_that_starts(store: DutyRecord) -> None:
    legacy = store.open_call("hotline", T0)  # written before calls named their seat
    other = _answered_open(store, "seat-a")
    assert store.seal_interrupted_on_start(lines=["hotline"], seat="seat-b") == [legacy]
    assert not store.get_call(other).sealed
    assert store.seal_interrupted_on_start(lines=["hotline"], seat="seat-a") == [other]
    assert store.verify().ok


def test_a_seatless_row_hashes_as_before_the_column_existed(store: DutyRecord) -> None:
    key = store.open_call("hotline", T0)
    store.seal_call(key, CallOutcome.MISSED, ended_at=T0 + timedelta(seconds=15))
    call = store.get_call(key)
    names = [n for n in canonical_columns(CallRow) if n != "seat"]  # the columns under 0002
    with store.engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {', '.join(names)} FROM calls WHERE key = :k"), {"k": key}
        ).mappings().one()
    content = dict(row)
    content["ring_at"], content["sealed_at"] = call.ring_at, call.sealed_at
    content["ended_at"] = call.ended_at
    assert content["prev_hash"] == GENESIS
    assert link_hash(GENESIS, "calls", content) == call.row_hash
    # A seat, once written, is covered by the hash like every other column.
    named = store.open_call("hotline", T0, seat="seat-a")
    store.seal_call(named, CallOutcome.MISSED)
    assert store.verify().ok
    with pytest.raises(InvalidFact, match="seat name"):
        store.open_call("hotline", T0, seat="seat a; drop")
    with pytest.raises(InvalidFact, match="at most 64"):
        store.open_call("hotline", T0, seat="s" * 65)


def test_a_seat_name_runs_once(db_url: str) -> None:
    first = DutyRecord(db_url, tz=UTC)
    second = DutyRecord(db_url, tz=UTC)
    try:
        # A live process of this host holds the name: refused, the first seat goes on.
        first.claim_seat("seat-1", host="desk-1", pid=os.getppid())  # live, and not us
        with pytest.raises(SeatInUse, match="already runs on this host as pid"):
            second.claim_seat("seat-1", host="desk-1")
        # The same name from another host is refused as well (each would seal the other's).
        with pytest.raises(SeatInUse, match=r"running on host desk-1.*--release seat-1"):
            second.claim_seat("seat-1", host="desk-2")
    finally:
        first.close()
        second.close()


def test_a_crashed_seat_is_taken_over_and_a_stopped_one_released(db_url: str) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    crashed = DutyRecord(db_url, tz=UTC)
    crashed.claim_seat("seat-1", host="desk-1", pid=int(gone.stdout))  # that pid has exited
    crashed.engine.dispose()  # no close(): a crash leaves the seat running in the table
    again = DutyRecord(db_url, tz=UTC)
    try:
        again.claim_seat("seat-1", host="desk-1")
        [seat] = again.seats()
        assert seat.name == "seat-1" and seat.stopped_at is None and seat.pid != int(gone.stdout)
    finally:
        again.close()
    check = DutyRecord(db_url, tz=UTC)
    try:
        [seat] = check.seats()
        assert seat.stopped_at is not None  # close() marked it stopped
        check.claim_seat("seat-1", host="desk-2")  # stopped: the name may move machines
    finally:
        check.close()


def test_a_sqlite_file_is_refused_to_a_second_machine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'duty.db'}"
    here = DutyRecord(url, tz=UTC)
    there = DutyRecord(url, tz=UTC)
    try:
        here.claim_seat("seat-1", host="desk-1")
        with pytest.raises(SeatInUse) as refused:
            there.claim_seat("seat-2", host="desk-2")
        message = str(refused.value)
        assert "\n" not in message and "seat 'seat-1' on host desk-1" in message
        assert "PostgreSQL" in message and "postgresql+psycopg://" in message
        there.claim_seat("seat-2", host="desk-1")  # a second seat of the same machine is fine
        # Released (the seat on desk-1 is gone): the file may be used from desk-2.
        assert there.release_seat("seat-1") is True
        there.release_seat()
        there.claim_seat("seat-3", host="desk-2")
    finally:
        here.close()
        there.close()


@pytest.mark.postgres
def test_postgresql_takes_seats_of_several_machines(postgres: object) -> None:
    url = postgres.create_schema()  # type: ignore[attr-defined]
    desk1, desk2 = DutyRecord(url, tz=UTC), DutyRecord(url, tz=UTC)
    try:
        desk1.claim_seat("seat-1", host="desk-1")
        desk2.claim_seat("seat-2", host="desk-2")
        assert [(s.name, s.host) for s in desk1.seats()] == [
            ("seat-1", "desk-1"), ("seat-2", "desk-2"),
        ]
    finally:
        desk1.close()
        desk2.close()


def test_the_seats_command_lists_and_releases_a_seat_that_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from console.cli import main

    db = tmp_path / "duty.db"
    crashed = DutyRecord(f"sqlite:///{db}", tz=UTC)
    crashed.claim_seat("seat-1", host="desk-1")
    crashed.engine.dispose()  # desk-1 died: its seat never stopped
    args = ["db", "seats", "--db", str(db)]
    here = DutyRecord(f"sqlite:///{db}", tz=UTC)
    try:
        with pytest.raises(SeatInUse, match=f"--release seat-1 --db {db}"):
            here.claim_seat("seat-2", host="desk-2")
    finally:
        here.close()
    assert main(args) == 0
    assert "seat-1\tdesk-1\t" in capsys.readouterr().out
    assert main([*args, "--release", "seat-1", "--who", "9001"]) == 0
    assert main([*args, "--release", "seat-1"]) == 2  # not running any more: one line, exit 2
    assert capsys.readouterr().err.strip().endswith("no running seat 'seat-1' in the record")
    with DutyRecord(f"sqlite:///{db}", tz=UTC) as again:
        again.claim_seat("seat-2", host="desk-2")
        assert [e.detail for e in again.audit_log() if e.action == "seat_release"] == [
            "seat seat-1 marked stopped"
        ]
