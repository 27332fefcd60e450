"""The record's plumbing: engines and sessions, one transaction per write, the outbox hand-off
and the alarms. Every rule module writes through a `RecordCore`; `DutyRecord` is one.

Every method opens its own short session (session per call, so per thread). Call-path
writes (open, update, seal, agent state, event report, alarms, security events) go to the
seat's `Outbox` when one is attached (`attach_outbox`): they return at once and
`RecordWriter` applies them, retrying while the database is away. Without an outbox (tools,
tests) they are applied at once; everything else raises `DatabaseUnavailable` when the
database is away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from console.store.engine import check_schema, classify, make_engine, probe_writable
from console.store.errors import DatabaseUnavailable, StoreError
from console.store.journal import Journal
from console.store.outbox import Outbox, OutboxStatus
from console.store.writer import RecordWriter

log = logging.getLogger("console.store")


@dataclass(frozen=True)
class StoreAlarm:
    """Raised to `on_alarm` when the database goes away or comes back."""

    kind: str
    """`db_down` or `db_back`."""
    message: str
    pending: int
    """Writes waiting in the outbox."""
    unsaved: int = 0
    """Of those, writes kept only in memory (the outbox's disk refused them): at risk."""


def unused_session(_session: Session) -> None:
    """The session function of a `_run` whose work is a Core statement (`core=`)."""
    raise AssertionError("a Core statement runs on its bare connection, not in a session")


class RecordCore:
    """Connections, transactions, the outbox and the alarms of one duty record.

    `url` is a SQLAlchemy URL or a plain file path (SQLite). `tz` is the duty line's local
    time zone (calls per hour, day boundaries). `on_alarm` hears of outages.
    """

    anchor_key: bytes | None = None
    """The anchor key (`console.store.anchor_log`), set by the line that keeps the anchor log:
    each open call is then bound under it (`calls.open_mac`), and start-up seals only open
    calls whose binding holds. None (tools, tests): opens are unbound, start-up seals all."""

    def __init__(
        self,
        url: str,
        *,
        tz: tzinfo | None = None,
        on_alarm: Callable[[StoreAlarm], None] | None = None,
        hmac_key: bytes | None = None,
        create: bool = True,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], datetime] | None = None,
        ring_limit_seconds: float = 15.0,
        lockout_failures: int = 5,
        lockout_minutes: float = 15.0,
        engine: Engine | None = None,
    ) -> None:
        self.url = url
        self.tz: tzinfo = tz or datetime.now().astimezone().tzinfo or UTC
        self.hmac_key = hmac_key
        self.ring_limit_seconds = ring_limit_seconds
        self.lockout_failures = lockout_failures
        self.lockout = timedelta(minutes=lockout_minutes)
        self._now = clock or (lambda: datetime.now(UTC))
        self._on_alarm = on_alarm
        self._write_lock = threading.RLock()
        self._down = False
        try:
            self.engine = engine or make_engine(url, busy_timeout_ms=busy_timeout_ms)
            check_schema(self.engine, url, create)
            probe_writable(self.engine)
        except StoreError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise classify(exc, url) from exc
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._write_engine = write_engine
        # Figures read on a bare connection: on PostgreSQL in autocommit (READ COMMITTED
        # gives each statement its own snapshot anyway, so BEGIN and ROLLBACK were two
        # round trips that bought nothing); SQLite keeps its read transaction, one
        # snapshot for the three queries.
        self._figures_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self.engine
        )
        self._writer = sessionmaker(write_engine, expire_on_commit=False)
        # A call's open and update are one statement each: on PostgreSQL in autocommit, the
        # statement is its own transaction (BEGIN and COMMIT were two more round trips).
        # SQLite keeps BEGIN IMMEDIATE, whose lock order the busy timeout relies on.
        self._single_engine = (
            self._figures_engine if self.engine.dialect.name == "postgresql" else write_engine
        )
        self.outbox: Outbox | None = None
        self.writer: RecordWriter | None = None
        self._seat: tuple[str, str, int] | None = None
        """The seat this record claimed (`claim_seat`): name, host, pid; released at close."""

    # ---------------------------------------------------------------- the outbox

    def attach_outbox(self, outbox: Outbox, *, start: bool = True) -> RecordWriter:
        """From now on call-path writes go to `outbox` and return at once; a writer applies.

        Entries a previous run left in the outbox are applied first, in order; a journal
        an older version left beside the database is taken over once (kept as `.adopted`).
        """
        if self.outbox is not None:
            raise StoreError("an outbox is already attached", "Outbox")
        self._adopt_legacy_journal(outbox)
        self.outbox = outbox
        self._at_risk = (0, 0)
        self._told_at_risk = 0
        """The count of writes at risk the last `outbox_at_risk` said (0: none raised)."""
        outbox.listen(self._outbox_changed)
        self.writer = RecordWriter(self, outbox)
        if start:
            self.writer.start()
        return self.writer

    def _adopt_legacy_journal(self, outbox: Outbox) -> None:
        path = self._legacy_journal()
        if path is None or not path.exists():
            return
        entries = Journal(path).entries()
        for entry in entries:
            outbox.append(entry.op, entry.args)
        path.rename(path.with_suffix(path.suffix + ".adopted"))
        if entries:
            log.warning("took over %d writes from the old journal %s", len(entries), path)

    def _legacy_journal(self) -> Path | None:
        """Where versions before the outbox kept their journal (SQLite only: beside it)."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            db = self.engine.url.database
            if not db.startswith("file:"):
                return Path(db + ".journal.jsonl")
        return None

    def _outbox_changed(self, status: OutboxStatus) -> None:
        """Alarm when writes are only in memory (at risk) or lost, and when that is over.

        `outbox_at_risk` is raised at the first write kept in memory and again each time
        their count doubles, so the log and the seat say how many are at risk (not "1"
        for hours while they grow), in a few lines however many there are.
        """
        unsaved, lost = self._at_risk
        self._at_risk = (status.unsaved, status.lost)
        if status.lost > lost:
            self._alarm(
                "record_lost",
                f"{status.lost} write(s) lost: the outbox's disk and memory are both full",
            )
        if status.unsaved and (not unsaved or status.unsaved >= 2 * self._told_at_risk):
            self._told_at_risk = status.unsaved
            self._alarm(
                "outbox_at_risk",
                f"the outbox's disk is full: {status.unsaved} "
                "write(s) only in memory until space returns",
            )
        elif unsaved and not status.unsaved:
            self._told_at_risk = 0
            self._alarm("outbox_safe", "every write is on disk again")

    def apply_entry(self, op: str, args: dict[str, Any], live: bool = False) -> None:
        """Apply one outbox entry in its own transaction (`DutyRecord` knows the rules)."""
        raise NotImplementedError

    def outage(self, kind: str, message: str) -> None:
        """The writer's news: `db_down`, `db_back` or `record_refused`."""
        self._alarm(kind, message)

    def settle(self, timeout: float = 5.0, through_outage: bool = True) -> bool:
        """Wait until every write handed over so far is in the database (tests, shutdown);
        `through_outage=False`: give up at once while the database is away."""
        if self.writer is None:
            return True
        return self.writer.settle(timeout, through_outage=through_outage)

    @property
    def outbox_status(self) -> OutboxStatus | None:
        return None if self.outbox is None else self.outbox.status()

    def _session(self, write: bool) -> Session:
        if not write:
            self._settle()
        return (self._writer if write else self._read)()

    def _settle(self) -> None:
        """Let this process's own pending writes land before a read (read your writes).

        Bounded (1 s) and skipped while the database is away, so a read never waits
        long; the writer's own reads never wait for themselves.
        """
        if self.writer is not None and not self.writer.on_writer_thread:
            self.writer.settle(1.0)

    def _run(
        self,
        fn: Callable[[Session], Any],
        write: bool = True,
        retries: int = 3,
        core: Callable[[Connection], Any] | None = None,
        core_engine: Engine | None = None,
    ) -> Any:
        """Run `fn` in one transaction; driver failures become `StoreError`s.

        With `core`, that runs instead on a bare connection of `core_engine` (default: the
        writer), no ORM session: the call path's open, update and seal and the KPI queries
        are Core statements, and a session's bookkeeping cost more than their SQL.
        """
        if core_engine is self._figures_engine and core_engine is not None:
            self._settle()
        for attempt in range(retries):
            try:
                if core is not None:
                    with (core_engine or self._write_engine).begin() as conn:
                        return core(conn)
                with self._session(write) as session, session.begin():
                    return fn(session)
            except StoreError:
                raise
            except IntegrityError as exc:
                # Two seats creating the same chain head at once: the loser retries.
                text_ = str(exc.orig).lower()
                racing = "chain_seq" in text_ or "chain_heads" in text_ or ".seq" in text_
                if attempt + 1 < retries and racing:
                    continue
                raise classify(exc, self.url) from exc
            except (SQLAlchemyError, OSError) as exc:
                raise classify(exc, self.url) from exc
        raise AssertionError("unreachable")

    def _submit(self, op: str, args: dict[str, Any]) -> bool:
        """Hand a call-path write to the outbox (returns False at once), or apply it now.

        Without an outbox the write is applied here and an outage raises
        `DatabaseUnavailable` (after the `db_down` alarm): tools and tests.
        """
        if self.outbox is not None:
            self.outbox.append(op, args)
            return False
        try:
            self.apply_entry(op, args, live=True)
        except DatabaseUnavailable as exc:
            self._alarm("db_down", str(exc))
            raise
        if self._down:
            self._alarm("db_back", "the database answers again")
        return True

    def _alarm(self, kind: str, message: str) -> None:
        if kind in ("db_down", "db_back"):
            down = kind == "db_down"
            if down == self._down:
                return
            self._down = down
        status = self.outbox_status
        alarm = StoreAlarm(
            kind, message, status.pending if status else 0, status.unsaved if status else 0
        )
        (log.warning if kind in ("db_back", "outbox_safe") else log.error)(
            "%s: %s (%d pending)", kind, message, alarm.pending
        )
        if self._on_alarm is not None:
            try:
                self._on_alarm(alarm)
            except Exception:
                log.exception("alarm callback failed")

    @property
    def database_down(self) -> bool:
        """True while the last write found the database away (the outbox keeps them)."""
        return self._down
