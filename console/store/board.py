"""The team board across seats: each seat publishes its presence, every board hears of it.

A seat's presence (`console.domain.board.SeatPresence`) is written to its own `seats` row
(`seats.presence`), never to the unalterable record: the agent's state changes are chained
facts already (`agent_states`), the board needs only the latest of each seat. Every board
reads the same rows (`read_board`: the running seats, the seats stopped today, today's
figures), so what a board shows never depends on which notices it heard — only *when* it
reads depends on them:

- **PostgreSQL** (the team's record, seats on several machines): the publisher's UPDATE and
  `pg_notify('duty_board', seat)` are one transaction, so the notice is delivered at its
  commit and never before the row is readable. Each board's listener holds one
  `LISTEN duty_board` connection and sleeps in `select()` on its socket: no query runs until
  a notice arrives (no polling). A notice missed while the server was away does not matter:
  the listener re-reads the whole board when it reconnects.
- **SQLite** (one machine: `claim_seat` refuses seats of other hosts on one file) has no
  server to push. A loopback datagram is the notice: each listening seat binds a Unix
  datagram socket in a directory of its own user named after the file, and the publisher,
  after its commit, sends the seat's name to every socket there (non-blocking; a socket
  nobody holds any more is removed). The read path is the same; a seat that starts later
  reads the board at its start, so nothing depends on a datagram that was never sent.

The call path never waits for any of this: `BoardPublisher.publish` puts the presence in a
slot (the latest per seat wins) and returns; one publisher thread per process writes it.
Before writing, that thread lets this process's own outbox writes land (bounded, 1 s;
not while the database is away), so a board that hears "after-call work" also counts the
call just sealed in today's figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, text, update
from sqlalchemy import select as sql_select
from sqlalchemy.exc import SQLAlchemyError

from console.domain.board import Board, BoardError, BoardState, SeatPresence, TeamFigures
from console.store.engine import make_engine
from console.store.errors import StoreError
from console.store.models import SeatRow
from console.store.seats import pid_alive

if TYPE_CHECKING:
    from console.store.record import DutyRecord

log = logging.getLogger("console.store.board")

CHANNEL = "duty_board"
"""The PostgreSQL notification channel; the payload is the seat's name."""
SESSION_PREFIX = "duty-board:"
"""`application_name` of each running seat's listening session (PostgreSQL): a seat whose
session is gone (its process crashed, on any machine) is read as offline."""
BACKOFF_FIRST = 0.2
BACKOFF_MAX = 2.0
"""Seconds between reconnects (listener) or retries (publisher) while the database is away:
the board is live again at most this long after the server is back."""
_PG_BOUNDS = {
    "connect_timeout": 2,
    "tcp_user_timeout": 2000,
    # The listener only reads: keepalives find a server that vanished without a word
    # (a cut cable) within ~10 s, where an idle socket would wait for hours.
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
}
_PG_STATEMENT_TIMEOUT = "SET statement_timeout = 2000"
_SUN_PATH = 107
"""The longest Unix socket path Linux takes (108 bytes with its terminating NUL)."""

BoardSink = Callable[[Board], object]
AlarmSink = Callable[[str, str], object]
"""`(kind, message)`: `board_down` when the board stops being live, `board_back` after."""


# ---------------------------------------------------------------- the read path


def session_tag(seat: str) -> str:
    """The `application_name` of `seat`'s listening session (fits PostgreSQL's 63 bytes)."""
    return SESSION_PREFIX + hashlib.sha256(seat.encode()).hexdigest()[:16]


def read_board(store: DutyRecord, now: datetime | None = None) -> Board:
    """Every seat running or stopped today, with its latest presence, and today's figures.

    A seat that never published is logged out since it started; a stopped seat is offline,
    and so is one that crashed: on this host its process is gone; on PostgreSQL, from any
    host, its listening session is (the server ends it when the process dies). Raises
    `StoreError` when the database is away.
    """
    now = now or store._now()
    since, until = store.day_bounds(now.astimezone(store.tz).date())
    here = socket.gethostname()

    def load(session: Any) -> list[SeatPresence]:
        rows = session.execute(
            sql_select(SeatRow.name, SeatRow.host, SeatRow.pid, SeatRow.started_at,
                       SeatRow.stopped_at, SeatRow.presence)
            .where((SeatRow.stopped_at.is_(None)) | (SeatRow.stopped_at >= since))
            .order_by(SeatRow.name)
        ).all()
        sessions: set[str] | None = None
        if store.engine.dialect.name == "postgresql":
            sessions = set(session.execute(text(
                "SELECT application_name FROM pg_stat_activity WHERE datname = "
                "current_database() AND application_name LIKE :prefix"),
                {"prefix": SESSION_PREFIX + "%"}).scalars())
        found = []
        for name, host, pid, started, stopped, presence in rows:
            gone = stopped is not None or (host == here and not pid_alive(pid)) or (
                sessions is not None and session_tag(name) not in sessions)
            seat = _presence(name, started, presence)
            if gone:
                seat = replace(seat, state=BoardState.OFFLINE, since=stopped or seat.since,
                               waiting=())
            found.append(seat)
        return found

    seats: list[SeatPresence] = store._run(load, write=False)
    kpis = store.kpis(since, until)
    figures = TeamFigures(kpis.total, kpis.answered, kpis.answered_within_limit)
    return Board(tuple(seats), figures, now)


def _presence(name: str, started: datetime, stored: str | None) -> SeatPresence:
    if stored:
        try:
            return SeatPresence.from_json(stored)
        except BoardError as exc:
            log.warning("seat %s: presence unreadable (%s); shown as logged out", name, exc)
    return SeatPresence(name, BoardState.LOGGED_OUT, started)


def _write(engine: Engine, presence: SeatPresence, now: datetime) -> bool:
    """The seat's row and, on PostgreSQL, its notice, in one transaction; False: no row
    (the seat did not claim its name in this record)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(SeatRow).where(SeatRow.name == presence.seat)
            .values(presence=presence.to_json(), seen_at=now)
        )
        if not done.rowcount:
            return False
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_notify(:channel, :seat)"),
                         {"channel": CHANNEL, "seat": presence.seat})
    return True


def _bound_statements(dbapi_conn: Any, _record: Any) -> None:
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute(_PG_STATEMENT_TIMEOUT)
    finally:
        dbapi_conn.autocommit = autocommit


# ---------------------------------------------------------------- SQLite: loopback notices


def local_dir(store: DutyRecord) -> Path:
    """Where the seats of one SQLite file meet: a directory of this user, named after it."""
    db = str(Path(store.engine.url.database or "duty.db").expanduser().resolve())
    digest = hashlib.sha256(db.encode()).hexdigest()[:16]
    name = f"duty-board-{os.getuid()}-{digest}"
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    if len(str(base / name)) + 22 > _SUN_PATH:  # "/<16 hex>.sock" must fit a socket path
        base = Path(tempfile.gettempdir())
    return base / name


def _own_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise StoreError(f"{path} belongs to another user or is open to others; remove it",
                         "Team board")
    return path


def announce_local(directory: Path, seat: str) -> int:
    """Send `seat` to every board listening beside this SQLite file; returns how many."""
    sent = 0
    if not directory.is_dir():
        return 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in directory.glob("*.sock"):
            try:
                sock.sendto(seat.encode(), str(path))
                sent += 1
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    path.unlink()  # nobody holds it: a seat that crashed
            except BlockingIOError:
                sent += 1  # its queue is full of notices already: it will read the board
            except OSError as exc:
                log.warning("board notice to %s: %s", path.name, exc)
    return sent


# ---------------------------------------------------------------- the publisher


class BoardPublisher:
    """One thread per process that writes the seats' presences; `publish` never blocks."""

    def __init__(self, store: DutyRecord, notify_local: Path | None = None) -> None:
        self.store = store
        self._local = notify_local
        self._own_engine: Engine | None = None
        if store.engine.dialect.name == "postgresql":
            self._own_engine = make_engine(store.url, server_args=_PG_BOUNDS,
                                           pool_size=1, max_overflow=0)
            event.listen(self._own_engine, "connect", _bound_statements)
            self._engine = self._own_engine
        else:
            self._engine = store.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._pending: dict[str, SeatPresence] = {}
        self._last: dict[str, SeatPresence] = {}
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failures = 0
        self._told_down = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="board-publisher",
                                            daemon=True)
            self._thread.start()

    def publish(self, presence: SeatPresence) -> bool:
        """Hand the seat's latest presence over; returns at once (False: nothing new)."""
        with self._wake:
            known = self._pending.get(presence.seat) or self._last.get(presence.seat)
            if presence.same_as(known):
                return False
            self._pending[presence.seat] = replace(presence, at=self.store._now())
            self._wake.notify()
        return True

    def stop(self, last: SeatPresence | None = None, timeout: float = 2.0) -> None:
        """Write `last` (the seat going offline) if the database answers in `timeout`, then
        end the thread."""
        if last is not None:
            self.publish(last)
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._pending and self._thread is not None and not self._told_down:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(left, 0.05))
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
            self._thread = None
        if self._own_engine is not None:
            self._own_engine.dispose()

    def _loop(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            with self._wake:
                while not self._pending and not self._stop.is_set():
                    self._wake.wait()
                batch = dict(self._pending)
            if self._stop.is_set() and not batch:
                return
            # This seat's own facts first (a sealed call is in the figures a board reads).
            self.store.settle(1.0, through_outage=False)
            try:
                for presence in batch.values():
                    if not _write(self._engine, presence, self.store._now()):
                        log.warning("seat %s has no row in the record (not claimed): its "
                                    "presence is not published", presence.seat)
                    if self._local is not None:
                        announce_local(self._local, presence.seat)
            except Exception as exc:  # the publisher must outlive any one failure
                if not isinstance(exc, SQLAlchemyError | OSError):
                    log.error("board publisher: unexpected failure", exc_info=exc)
                self.failures += 1
                if not self._told_down:
                    self._told_down = True
                    log.warning("board: presence not published, retrying (%s)",
                                str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if self._told_down:
                self._told_down = False
                log.warning("board: presence published again")
            backoff = BACKOFF_FIRST
            with self._wake:
                for seat, presence in batch.items():
                    self._last[seat] = presence
                    if self._pending.get(seat) is presence:
                        del self._pending[seat]
                self.written += len(batch)
                self._wake.notify_all()


# ---------------------------------------------------------------- the listener


class BoardListener:
    """One thread that re-reads the board when told, and hands it to `on_board`.

    PostgreSQL: `LISTEN duty_board` on a connection of its own, reconnecting with backoff
    while the server is away (`board_down` once, `board_back` when live again, the board
    re-read then). SQLite: a Unix datagram socket in `local_dir`. Either way the thread
    sleeps in `select()` until a notice or `stop` arrives.
    """

    def __init__(self, store: DutyRecord, seat: str, on_board: BoardSink | None,
                 on_alarm: AlarmSink | None = None, local: Path | None = None) -> None:
        self.store = store
        self.seat = seat
        self._on_board = on_board
        self._on_alarm = on_alarm
        self._local = local
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.live = threading.Event()
        """Set while the listener hears notices (after its first read of the board)."""
        self.down = False
        self.reads = 0

    def start(self) -> None:
        if self._thread is None:
            target = self._pg_loop if self._local is None else self._local_loop
            self._thread = threading.Thread(target=target, name="board-listener", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # the one read, whatever told us
    def _deliver(self) -> None:
        if self._on_board is None:
            return  # a headless line: its session says it runs, it reads no board
        board = read_board(self.store)
        self.reads += 1
        try:
            self._on_board(board)
        except Exception:
            log.exception("board: its receiver failed")

    def _alarm(self, kind: str, message: str) -> None:
        down = kind == "board_down"
        if down == self.down:
            return
        self.down = down
        (log.error if down else log.warning)("%s: %s", kind, message)
        if self._on_alarm is not None:
            try:
                self._on_alarm(kind, message)
            except Exception:
                log.exception("board: its alarm receiver failed")

    @staticmethod
    def _unexpected(exc: Exception, expected: tuple[type[BaseException], ...]) -> None:
        """An outage is expected (alarmed in one line); anything else is a bug: its
        traceback goes to the log, and the listener goes on as after an outage."""
        if not isinstance(exc, expected):
            log.error("board listener: unexpected failure", exc_info=exc)

    def _wait(self, fd: int) -> bool:
        """Sleep until `fd` is readable (True) or stop (False); no timeout, no polling."""
        readable, _, _ = select.select([fd, self._wake_r], [], [])
        return not self._stop.is_set() and fd in readable

    def _pg_loop(self) -> None:
        import psycopg
        from psycopg.conninfo import make_conninfo

        url = self.store.engine.url.set(drivername="postgresql")
        conninfo = make_conninfo(url.render_as_string(hide_password=False),
                                 application_name=session_tag(self.seat),
                                 **{k: str(v) for k, v in _PG_BOUNDS.items()})
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    if self._on_board is not None:
                        conn.execute(f"LISTEN {CHANNEL}")
                    self._deliver()  # what was missed before (or while away)
                    self.live.set()
                    self._alarm("board_back", "the team board is live again")
                    backoff = BACKOFF_FIRST
                    while self._wait(conn.fileno()):
                        if not list(conn.notifies(timeout=0)) and conn.closed:
                            break
                        self._deliver()
            except Exception as exc:  # the listener must outlive any one failure
                self._unexpected(exc, (psycopg.Error, SQLAlchemyError, StoreError, OSError))
                self.live.clear()
                if self._stop.is_set():
                    return
                words = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                self._alarm("board_down", f"the team board is not live: the database "
                            f"does not answer ({words or type(exc).__name__}); reconnecting")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.live.clear()

    def _local_loop(self) -> None:
        assert self._local is not None
        name = hashlib.sha256(self.seat.encode()).hexdigest()[:16] + ".sock"
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                path = _own_dir(self._local) / name
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()  # this seat's own socket from a run that crashed
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                    sock.bind(str(path))
                    sock.setblocking(False)
                    try:
                        self._deliver()
                        self.live.set()
                        self._alarm("board_back", "the team board is live again")
                        backoff = BACKOFF_FIRST
                        while self._wait(sock.fileno()):
                            with contextlib.suppress(BlockingIOError):
                                while sock.recv(256):
                                    pass
                            self._deliver()
                    finally:
                        with contextlib.suppress(OSError):
                            path.unlink()
            except Exception as exc:  # the listener must outlive any one failure
                self._unexpected(exc, (StoreError, OSError))
                self.live.clear()
                if self._stop.is_set():
                    return
                self._alarm("board_down", f"the team board is not live ({exc})")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.live.clear()


# ---------------------------------------------------------------- one seat's board


class BoardFeed:
    """A seat's part in the team board: publish its presence, hear the team's.

    `start` after the store is live (the listener reads it at once); `stop` at shutdown
    publishes the seat offline (bounded) and ends both threads.
    """

    def __init__(self, store: DutyRecord, seat: str) -> None:
        self.store = store
        self.seat = seat
        self._local = local_dir(store) if store.engine.dialect.name == "sqlite" else None
        self.publisher = BoardPublisher(store, self._local)
        self.listener: BoardListener | None = None

    def start(self, on_board: BoardSink, on_alarm: AlarmSink | None = None) -> None:
        self.publisher.start()
        if self.listener is None:
            self.listener = BoardListener(self.store, self.seat, on_board, on_alarm,
                                          self._local)
            self.listener.start()

    def start_publishing(self) -> None:
        """Publish only (a headless line: nobody reads a board there). On PostgreSQL its
        session still says the seat runs (`session_tag`), so boards see it crash."""
        self.publisher.start()
        if self.listener is None and self._local is None:
            self.listener = BoardListener(self.store, self.seat, None)
            self.listener.start()

    def publish(self, presence: SeatPresence) -> bool:
        return self.publisher.publish(presence)

    def stop(self, at: datetime | None = None) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        last = SeatPresence(self.seat, BoardState.OFFLINE, at or self.store._now())
        self.publisher.stop(last)


def open_board(store: object, seat: str | None = None) -> BoardFeed | None:
    """The feed of a seat whose record claimed its name (`claim_seat`), else None (a
    record without seats: tools, or a test's fake store)."""
    claimed = getattr(store, "_seat", None)
    name = seat or (claimed[0] if claimed else None)
    if name is None or not hasattr(store, "engine"):
        return None
    return BoardFeed(store, name)  # type: ignore[arg-type]


__all__ = [
    "CHANNEL",
    "BoardFeed",
    "BoardListener",
    "BoardPublisher",
    "announce_local",
    "local_dir",
    "open_board",
    "read_board",
]
