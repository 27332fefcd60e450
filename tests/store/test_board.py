"""The team board across seats: a state change at seat A reaches a board listening at seat B.

PostgreSQL (a real server, `tests.store.pg`): LISTEN/NOTIFY, no polling; the listener
survives the server's restart (alarm while away, the board re-read when it is back).
SQLite: the loopback datagram notice between two seats of one machine on one file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.domain.board import (
    Board,
    BoardState,
    GateWord,
    LineWord,
    SeatPresence,
    WaitingCall,
)
from console.store import DutyRecord
from console.store.board import BoardFeed, announce_local, local_dir, read_board
from tests.store.pg import PgServer, restart

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Boards:
    """A board sink that remembers what it heard (the listener's thread calls it)."""

    def __init__(self) -> None:
        self.boards: list[Board] = []
        self.alarms: list[tuple[str, str]] = []
        self._heard = threading.Condition()

    def board(self, board: Board) -> None:
        with self._heard:
            self.boards.append(board)
            self._heard.notify_all()

    def alarm(self, kind: str, message: str) -> None:
        with self._heard:
            self.alarms.append((kind, message))
            self._heard.notify_all()

    def wait(self, holds: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._heard:
            while not holds():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._heard.wait(left)
        return True

    def state_of(self, seat: str) -> BoardState | None:
        if not self.boards:
            return None
        found = [s.state for s in self.boards[-1].seats if s.seat == seat]
        return found[0] if found else None


@pytest.fixture(autouse=True)
def _notice_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLite's notice sockets in a directory of this test's own (short enough for a
    socket path), removed afterwards."""
    import shutil
    import tempfile

    where = tempfile.mkdtemp(prefix="board-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", where)
    yield
    shutil.rmtree(where, ignore_errors=True)


def seat_record(url: str) -> DutyRecord:
    return DutyRecord(url, tz=UTC)


@pytest.fixture
def two_seats(db_url: str) -> Iterator[tuple[DutyRecord, DutyRecord]]:
    a, b = seat_record(db_url), seat_record(db_url)
    a.claim_seat("seat-a")
    b.claim_seat("seat-b")
    yield a, b
    a.close()
    b.close()


def on_call(seat: str, since: datetime, waiting: tuple[WaitingCall, ...] = ()) -> SeatPresence:
    return SeatPresence(seat, BoardState.ON_CALL, since, agent_id="1024",
                        line=LineWord.REGISTERED, gate_post=GateWord.OK, waiting=waiting)


def test_a_state_change_at_seat_a_reaches_the_board_of_seat_b(
    two_seats: tuple[DutyRecord, DutyRecord],
) -> None:
    a, b = two_seats
    heard = Boards()
    feed_a, feed_b = BoardFeed(a, "seat-a"), BoardFeed(b, "seat-b")
    feed_a.start(lambda _b: None)
    feed_b.start(heard.board, heard.alarm)
    try:
        # Before anything is published the board reads both seats, logged out.
        assert heard.wait(lambda: heard.state_of("seat-a") is BoardState.LOGGED_OUT)
        since = datetime.now(UTC)
        waiting = (WaitingCall("dlg-1", since - timedelta(seconds=12)),)
        started = time.monotonic()
        assert feed_a.publish(on_call("seat-a", since, waiting))
        assert heard.wait(lambda: heard.state_of("seat-a") is BoardState.ON_CALL)
        took = time.monotonic() - started
        last = heard.boards[-1]
        seat_a = next(s for s in last.seats if s.seat == "seat-a")
        assert seat_a.agent_id == "1024" and seat_a.gate_post is GateWord.OK
        assert [w.dialog for w in last.waiting()] == ["dlg-1"]
        assert took < 2.0, f"seat B heard seat A after {took:.2f} s"
        assert heard.alarms == []
    finally:
        feed_a.stop()
        feed_b.stop()
    # Stopping publishes the seat offline for whoever still reads the board.
    board = read_board(b)
    assert {s.seat: s.state for s in board.seats}["seat-a"] is BoardState.OFFLINE


def test_the_listener_reads_only_when_told(two_seats: tuple[DutyRecord, DutyRecord]) -> None:
    """No polling: with nothing published the board is read once (at the start), and a
    presence that is the same as the last is not written again (no notice, no read)."""
    a, b = two_seats
    heard = Boards()
    feed_a, feed_b = BoardFeed(a, "seat-a"), BoardFeed(b, "seat-b")
    feed_a.start(lambda _b: None)
    feed_b.start(heard.board, heard.alarm)
    try:
        assert heard.wait(lambda: len(heard.boards) == 1)
        time.sleep(1.5)  # a polling listener would have read again meanwhile
        assert feed_b.listener is not None and feed_b.listener.reads == 1
        since = datetime.now(UTC)
        assert feed_a.publish(on_call("seat-a", since))
        assert heard.wait(lambda: heard.state_of("seat-a") is BoardState.ON_CALL)
        assert not feed_a.publish(on_call("seat-a", since))  # nothing new to tell
        time.sleep(0.5)
        assert feed_b.listener.reads == 2
    finally:
        feed_a.stop()
        feed_b.stop()


@pytest.mark.postgres
def test_publishing_never_waits_for_the_database(tmp_path: Path, postgres: PgServer) -> None:
    """The call path's publish returns at once even with the server gone."""
    from tests.store.pg import pg_server

    with pg_server() as server:
        record = seat_record(server.create_database())
        record.claim_seat("seat-a")
        feed = BoardFeed(record, "seat-a")
        feed.start(lambda _b: None)
        server.kill()
        took = []
        for i in range(20):
            started = time.perf_counter()
            feed.publish(on_call("seat-a", NOW + timedelta(seconds=i)))
            took.append(time.perf_counter() - started)
        assert max(took) < 0.01, f"publish took up to {max(took) * 1000:.1f} ms"
        stopping = time.monotonic()
        feed.stop()  # the last presence cannot be written: stop is bounded
        assert time.monotonic() - stopping < 5.0
        record.engine.dispose()


@pytest.mark.postgres
def test_the_board_survives_a_postgresql_restart(postgres: PgServer) -> None:
    """Server killed while listening: one `board_down` alarm (no exception out of the
    thread), then `board_back` and a fresh read when it is back; seat A's change made
    during the outage (published when the server answered again) reaches seat B."""
    from tests.store.pg import pg_server

    with pg_server() as server:
        url = server.create_database()
        a, b = seat_record(url), seat_record(url)
        a.claim_seat("seat-a")
        b.claim_seat("seat-b")
        heard = Boards()
        feed_a, feed_b = BoardFeed(a, "seat-a"), BoardFeed(b, "seat-b")
        feed_a.start(lambda _b: None)
        feed_b.start(heard.board, heard.alarm)
        failures: list[BaseException | None] = []
        previous = threading.excepthook
        threading.excepthook = lambda args: failures.append(args.exc_value)
        try:
            assert heard.wait(lambda: len(heard.boards) >= 1)
            server.kill()
            assert heard.wait(lambda: [k for k, _ in heard.alarms] == ["board_down"], 30)
            assert "not live" in heard.alarms[0][1] and "\n" not in heard.alarms[0][1]
            feed_a.publish(on_call("seat-a", datetime.now(UTC)))  # while away
            server.pid = restart(server).pid
            assert heard.wait(lambda: [k for k, _ in heard.alarms] == ["board_down",
                                                                       "board_back"], 30)
            assert heard.wait(lambda: heard.state_of("seat-a") is BoardState.ON_CALL, 15)
            assert failures == []
        finally:
            threading.excepthook = previous
            feed_a.stop()
            feed_b.stop()
            a.close()
            b.close()


def test_sqlite_notices_reach_the_seats_of_this_machine_only_by_datagram(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'duty.db'}"
    a, b = seat_record(url), seat_record(url)
    a.claim_seat("seat-a")
    b.claim_seat("seat-b")
    heard = Boards()
    feed_b = BoardFeed(b, "seat-b")
    feed_b.start(heard.board, heard.alarm)
    try:
        assert heard.wait(lambda: len(heard.boards) == 1)
        directory = local_dir(a)
        # A socket left by a seat that crashed is removed by the next notice.
        (directory / "stale.sock").touch()
        feed_a = BoardFeed(a, "seat-a")
        feed_a.start(lambda _b: None)
        assert feed_a.publish(on_call("seat-a", datetime.now(UTC)))
        assert heard.wait(lambda: heard.state_of("seat-a") is BoardState.ON_CALL)
        assert not (directory / "stale.sock").exists()
        assert announce_local(directory, "seat-a") == 2  # both seats listen
        feed_a.stop()
    finally:
        feed_b.stop()
        a.close()
        b.close()


def test_a_failing_read_is_an_alarm_then_the_listener_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in one read (not an outage) must not end the listener's thread: its traceback
    goes to the log, the seat hears one `board_down` line, and the next read is live."""
    import console.store.board as board_mod

    real = board_mod.read_board
    calls = {"n": 0}

    def flaky(store: DutyRecord, now: datetime | None = None) -> Board:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the read")
        return real(store, now)

    monkeypatch.setattr(board_mod, "read_board", flaky)
    record = seat_record(f"sqlite:///{tmp_path / 'duty.db'}")
    record.claim_seat("seat-b")
    heard = Boards()
    feed = BoardFeed(record, "seat-b")
    feed.start(heard.board, heard.alarm)
    try:
        assert heard.wait(lambda: len(heard.alarms) == 2)
        assert [k for k, _ in heard.alarms] == ["board_down", "board_back"]
        assert len(heard.boards) == 1
        assert "a bug in the read" in heard.alarms[0][1] and "\n" not in heard.alarms[0][1]
        assert any(r.exc_info for r in caplog.records if "unexpected" in r.getMessage())
    finally:
        feed.stop()
        record.close()


@pytest.mark.postgres
def test_a_seat_that_crashed_on_another_host_is_offline_on_the_board(
    postgres: PgServer,
) -> None:
    """Seat A (on another host, so no pid to check) dies without a word: no offline
    presence, its seat never released. Its listening session is gone with it, so the
    next board read shows it offline, not in its last state forever."""
    url = postgres.create_schema()
    a, b = seat_record(url), seat_record(url)
    a.claim_seat("crash-a", host="another-host")
    b.claim_seat("crash-b")
    heard = Boards()
    feed_a, feed_b = BoardFeed(a, "crash-a"), BoardFeed(b, "crash-b")
    feed_a.start(lambda _b: None)
    feed_b.start(heard.board, heard.alarm)
    try:
        assert feed_a.listener is not None and feed_a.listener.live.wait(10)
        feed_a.publish(on_call("crash-a", datetime.now(UTC)))
        assert heard.wait(lambda: heard.state_of("crash-a") is BoardState.ON_CALL)
        # The crash: the process's sessions end, nothing else happens.
        feed_a.listener.stop()
        feed_a.publisher.stop()
        feed_b.publish(on_call("crash-b", datetime.now(UTC)))  # any change: a board read
        assert heard.wait(lambda: heard.state_of("crash-a") is BoardState.OFFLINE)
        assert heard.state_of("crash-b") is BoardState.ON_CALL
    finally:
        feed_b.stop()
        a.close()
        b.close()


@pytest.mark.postgres
def test_a_headless_line_that_only_publishes_is_running_on_the_board(
    postgres: PgServer,
) -> None:
    """A headless line reads no board but keeps its session, so it is not taken for a
    crashed seat; stopped, it is offline."""
    url = postgres.create_schema()
    line, seat = seat_record(url), seat_record(url)
    line.claim_seat("line-h", host="another-host")
    seat.claim_seat("seat-h")
    feed_line = BoardFeed(line, "line-h")
    feed_line.start_publishing()
    heard = Boards()
    feed_seat = BoardFeed(seat, "seat-h")
    feed_seat.start(heard.board, heard.alarm)
    try:
        assert feed_line.listener is not None and feed_line.listener.live.wait(10)
        feed_line.publish(SeatPresence("line-h", BoardState.LOGGED_OUT, datetime.now(UTC),
                                       line=LineWord.REGISTERED))
        assert heard.wait(lambda: heard.state_of("line-h") is BoardState.LOGGED_OUT)
        assert feed_line.listener.reads == 0  # it hears nothing and reads nothing
        feed_line.stop()
        assert heard.wait(lambda: heard.state_of("line-h") is BoardState.OFFLINE)
    finally:
        feed_seat.stop()
        line.close()
        seat.close()


def test_bad_rows_and_places_are_named_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A damaged presence in a row reads as logged out (warned, one line); a presence for a
    seat that never claimed its name is not written (warned); a notice directory open to
    others is refused (a board_down alarm saying so), never used."""
    from sqlalchemy import text

    record = seat_record(f"sqlite:///{tmp_path / 'duty.db'}")
    record.claim_seat("seat-x")
    with record.engine.begin() as conn:
        conn.execute(text("UPDATE seats SET presence = '{\"v\": 1, \"seat\"' "
                          "WHERE name = 'seat-x'"))
    board = read_board(record)
    assert [(s.seat, s.state) for s in board.seats] == [("seat-x", BoardState.LOGGED_OUT)]
    assert any("presence unreadable" in r.getMessage() for r in caplog.records)

    feed = BoardFeed(record, "seat-x")
    feed.start_publishing()
    feed.publish(on_call("nobody", datetime.now(UTC)))
    deadline = time.monotonic() + 5
    while feed.publisher.written == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any("seat nobody has no row" in r.getMessage() for r in caplog.records)
    feed.stop()

    directory = local_dir(record)
    directory.mkdir(mode=0o700, exist_ok=True)
    directory.chmod(0o777)
    heard = Boards()
    listening = BoardFeed(record, "seat-x")
    listening.start(heard.board, heard.alarm)
    try:
        assert heard.wait(lambda: bool(heard.alarms))
        kind, words = heard.alarms[0]
        assert kind == "board_down" and "open to others" in words and heard.boards == []
    finally:
        listening.stop()
        directory.chmod(0o700)
        record.close()


def test_a_runtime_dir_too_deep_for_a_socket_path_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A socket path has at most 107 bytes: under a deep XDG_RUNTIME_DIR the listener
    could not bind ("AF_UNIX path too long"), so the temp directory is used instead."""
    import tempfile

    deep = tmp_path / ("d" * 90)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    record = seat_record(f"sqlite:///{tmp_path / 'duty.db'}")
    try:
        where = local_dir(record)
        assert where.parent == Path(tempfile.gettempdir())
        assert len(str(where / ("0" * 16 + ".sock"))) <= 107
    finally:
        record.close()


def test_a_failing_write_is_retried_and_the_publisher_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in one write (not an outage) is logged with its traceback and retried; the
    presence lands once the write works, and `publish` never raised meanwhile."""
    import console.store.board as board_mod

    real = board_mod._write
    calls = {"n": 0}

    def flaky(engine: object, presence: SeatPresence, now: datetime) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the write")
        return real(engine, presence, now)  # type: ignore[arg-type]

    monkeypatch.setattr(board_mod, "_write", flaky)
    record = seat_record(f"sqlite:///{tmp_path / 'duty.db'}")
    record.claim_seat("seat-w")
    feed = BoardFeed(record, "seat-w")
    feed.start_publishing()
    try:
        assert feed.publish(on_call("seat-w", datetime.now(UTC)))
        deadline = time.monotonic() + 10
        while feed.publisher.written == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed.publisher.written == 1 and feed.publisher.failures == 1
        assert {s.seat: s.state for s in read_board(record).seats} == {
            "seat-w": BoardState.ON_CALL}
        assert any(r.exc_info for r in caplog.records if "unexpected" in r.getMessage())
    finally:
        feed.stop()
        record.close()


def test_the_board_is_published_and_heard_without_textual() -> None:
    """The headless side of the board (store, rules, the headless line's presence) imports
    without the TUI, as the import-linter contract says (checked here in a fresh process)."""
    import subprocess
    import sys

    code = ("import sys, console.store.board, console.domain.board, console.line_presence; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"
