"""Answer claims in the shared record: one seat of a ring-all hotline answers a call.

`AnswerClaims.claim` is the call path's one synchronous question to the database, so it
never runs on the caller's thread: it queues the claim for this seat's one claim thread
(not one per call) and returns a `ClaimTicket` at once. The thread exists only while there
are claims to settle: it is started by the first claim of a burst and ends `IDLE_SECONDS`
after the last, so a line costs no thread for its claims while its calls are up (issue 14:
12 threads at 100 calls). It is a lane of its own rather than the dispatcher's blocking
pool: a REFER there waits seconds for its NOTIFY, and four of them would hold a claim past
its bound (two seats answering); one lane also keeps the claims in order on the one
bounded PostgreSQL connection. The thread settles a claim with one
INSERT … ON CONFLICT DO NOTHING on `answer_claims` (primary key: line and the caller's
dialog) and, for a seat that lost, one SELECT of the winner. The caller waits for the
ticket only as long as it chooses (the flow: `FlowSettings.claim_timeout`), and a claim it
could not wait for counts as won (`AnswerClaim.undecided`, duty rules §1).

PostgreSQL: the claims' own engine (one connection) connects within 2 s, gives up on a
statement after 2 s and on a silent server (cut cable) after 2 s of unacknowledged data,
so one dead server cannot hold the thread for minutes; claims queued behind it for more
than `STALE_SECONDS` are dropped (their seat has long answered). SQLite: one seat per file,
so a claim is trivially won; it is still written (the same statement), under the record's
own lock order (`BEGIN IMMEDIATE`).

The table stays small: after a claim, at most once an hour, the claim thread deletes claims
older than `KEEP_FOR` (a claim matters only while its call rings).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from console.domain.answer_claim import AnswerClaim
from console.store.engine import make_engine
from console.store.models import ClaimRow

if TYPE_CHECKING:
    from console.store.record import DutyRecord

log = logging.getLogger("console.store.claims")

KEEP_FOR = timedelta(days=1)
"""Claims older than this are deleted (at most hourly, by the claim thread)."""
PRUNE_EVERY = 3600.0
"""Seconds between two prunes."""
STALE_SECONDS = 5.0
"""A claim that waited this long in the queue is dropped: its call has been answered."""
_WARM = object()
"""Queued by `warm`: the claim thread connects and goes idle."""
IDLE_SECONDS = 1.0
"""The claim thread ends after this long with no claim to settle (the next claim starts
it again, in well under a millisecond: nothing against a 0.4 s claim bound)."""
_PG_BOUNDS = {"connect_timeout": 2, "tcp_user_timeout": 2000}
"""libpq: connect within 2 s; drop a connection whose sent data goes unacknowledged 2 s."""
_PG_STATEMENT_TIMEOUT = "SET statement_timeout = 2000"
_TABLE: Table = ClaimRow.__table__  # type: ignore[assignment]


def dialog_key(call_id: str, from_tag: str) -> str:
    """The caller's dialog as the claims key: the same on every branch the PBX forked
    (Call-ID and From tag, RFC 3261 §16.6), hashed so that any length fits the column."""
    return hashlib.sha256(f"{call_id}\n{from_tag}".encode()).hexdigest()


def _bound_statements(dbapi_conn: Any, _record: Any) -> None:
    """Every statement of the claims' connection gives up after 2 s (server side)."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute(_PG_STATEMENT_TIMEOUT)
    finally:
        dbapi_conn.autocommit = autocommit


class ClaimTicket:
    """A claim on its way; `result` is None until the claim thread has settled it."""

    __slots__ = ("_result", "_wake", "agent_id", "dialog", "queued")

    def __init__(self, dialog: str, agent_id: str | None, wake: Callable[[], None]) -> None:
        self.dialog = dialog
        self.agent_id = agent_id
        self.queued = time.monotonic()
        self._wake = wake
        self._result: AnswerClaim | None = None

    @property
    def result(self) -> AnswerClaim | None:
        return self._result

    def settle(self, result: AnswerClaim) -> None:
        self._result = result
        try:
            self._wake()
        except Exception:
            log.exception("claim %s: waking its call failed", self.dialog[:12])


class AnswerClaims:
    """This seat's claims on `line` in `record`'s database (the flow's `AnswerClaims`)."""

    def __init__(self, record: DutyRecord, seat: str, line: str,
                 clock: Callable[[], datetime] | None = None,
                 shared: bool | None = None, idle: float = IDLE_SECONDS) -> None:
        self.seat = seat
        self.line = line
        self._now = clock or (lambda: datetime.now(UTC))
        self._dialect = record.engine.dialect.name
        self.shared = self._dialect == "postgresql" if shared is None else shared
        """Other seats may claim on this record: PostgreSQL, the record of a team. A SQLite
        file is one machine's, as a rule one seat's (default False)."""
        self._own_engine: Engine | None = None
        if self._dialect == "postgresql":
            self._own_engine = make_engine(record.url, server_args=_PG_BOUNDS,
                                           pool_size=1, max_overflow=0)
            event.listen(self._own_engine, "connect", _bound_statements)
            self._engine = self._own_engine
        else:
            self._engine = record.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._queue: queue.SimpleQueue[ClaimTicket | object | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        """The claim thread while there are claims to settle (None when idle)."""
        self._idle = idle
        self._closed = False
        self._last_prune = -PRUNE_EVERY
        self.failures = 0
        """Claims the record could not settle (counted; each is logged)."""

    def claim(self, call_id: str, from_tag: str, agent_id: str | None,
              wake: Callable[[], None]) -> ClaimTicket:
        """Queue this seat's claim on the caller's call; returns at once.

        `agent_id` None: the seat answers by itself (ring limit). `wake` is called (on the
        claim thread) once the ticket's result is there.
        """
        ticket = ClaimTicket(dialog_key(call_id, from_tag), agent_id, wake)
        with self._lock:
            if self._closed:
                ticket.settle(AnswerClaim.undecided(agent_id, "the claims are closed"))
                return ticket
            # Queued under the lock: an idle thread decides to end under it too, so a
            # ticket is either seen by the thread still running or starts a new one.
            self._queue.put(ticket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"claims-{self.seat}",
                                                daemon=True)
                self._thread.start()
        return ticket

    def warm(self) -> None:
        """Open the claims' connection now, on the claim thread (returns at once).

        A seat's first claim used to pay for the PostgreSQL connection and its session
        setup as well as the INSERT: 35-130 ms on a loaded machine, and past the 0.4 s
        bound now and then, when two agents' presses were both undecided (counted as won).
        The thread still ends `idle` seconds later; the pooled connection stays open.
        """
        if self._own_engine is None:
            return  # SQLite: the record's own engine, already open
        with self._lock:
            if self._closed:
                return
            self._queue.put(_WARM)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"claims-{self.seat}",
                                                daemon=True)
                self._thread.start()

    @property
    def working(self) -> bool:
        """The claim thread is running (claims being settled, or idle for < `idle` s)."""
        with self._lock:
            return self._thread is not None

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
        if self._own_engine is not None:
            self._own_engine.dispose()

    # ------------------------------------------------------------ the claim thread

    def _work(self) -> None:
        while True:
            try:
                ticket = self._queue.get(timeout=self._idle)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # nothing came meanwhile: end until the next claim
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                continue
            if ticket is None:
                return
            if ticket is _WARM:
                self._connect()
                continue
            assert isinstance(ticket, ClaimTicket)
            waited = time.monotonic() - ticket.queued
            if waited > STALE_SECONDS:
                self.failures += 1
                log.error("claim %s dropped after %.1f s in the queue (the record is slow)",
                          ticket.dialog[:12], waited)
                ticket.settle(AnswerClaim.undecided(ticket.agent_id,
                                                    f"queued {waited:.1f} s"))
                continue
            ticket.settle(self.decide(ticket.dialog, ticket.agent_id))
            self._prune_now_and_then()

    def _connect(self) -> None:
        try:
            with self._engine.connect():
                pass
        except (SQLAlchemyError, OSError) as exc:  # the first claim will say it, as ever
            log.warning("claims: cannot connect yet (%s)", str(exc).splitlines()[0][:200]
                        if str(exc) else type(exc).__name__)

    def decide(self, dialog: str, agent_id: str | None) -> AnswerClaim:
        """Take the claim in one statement; the seat that inserted the row holds it.

        A failure of the database is an undecided claim (won), never an exception.
        """
        insert = pg_insert if self._dialect == "postgresql" else sqlite_insert
        values: dict[str, Any] = {"line": self.line, "dialog": dialog, "seat": self.seat,
                                  "agent_id": agent_id, "claimed_at": self._now()}
        statement = insert(_TABLE).values(**values).on_conflict_do_nothing(
            index_elements=["line", "dialog"]).returning(_TABLE.c.seat)
        try:
            with self._engine.begin() as conn:
                if conn.execute(statement).first() is not None:
                    return AnswerClaim(won=True, seat=self.seat, agent_id=agent_id)
            # A new transaction: under READ COMMITTED the INSERT's snapshot may predate
            # the winner's commit that its ON CONFLICT waited for; this one sees it.
            with self._engine.begin() as conn:
                row = conn.execute(
                    select(_TABLE.c.seat, _TABLE.c.agent_id).where(
                        _TABLE.c.line == self.line, _TABLE.c.dialog == dialog)
                ).first()
        except (SQLAlchemyError, OSError) as exc:
            self.failures += 1
            problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.error("claim %s: the record did not answer (%s); counted as won",
                      dialog[:12], problem[:200])
            return AnswerClaim.undecided(agent_id, problem[:200])
        if row is None:  # deleted between the two statements (a prune): nobody holds it
            return AnswerClaim.undecided(agent_id, "the claim vanished (pruned)")
        seat = str(row[0])  # this seat again (a retried claim) still holds it
        return AnswerClaim(won=seat == self.seat, seat=seat, agent_id=row[1])

    def _prune_now_and_then(self) -> None:
        """Delete claims older than `KEEP_FOR`, at most once per `PRUNE_EVERY`."""
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            with self._engine.begin() as conn:
                gone = conn.execute(
                    delete(_TABLE).where(_TABLE.c.claimed_at < self._now() - KEEP_FOR)
                ).rowcount
            if gone:
                log.info("pruned %d answer claim(s) older than %s", gone, KEEP_FOR)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("pruning answer claims failed (next try in an hour): %s",
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
