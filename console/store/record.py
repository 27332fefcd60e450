"""`DutyRecord`: the one object the call flow and the screens use to keep the duty record.

Every method opens its own short session (session per call, so per thread), and returns
frozen values from `console.store.values`. Call-path writes (open, update, seal, agent
state, event report) go to the seat's `Outbox` when one is attached (`attach_outbox`): they
return at once and `RecordWriter` applies them, retrying while the database is away. Without
an outbox (tools, tests) they are applied at once; everything else raises
`DatabaseUnavailable` when the database is away.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import hmac
import logging
import os
import secrets
import socket
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, make_dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from console.domain.outcome import LEG_OUTCOME_VALUES
from console.domain.seat import SeatNameError, check_seat_name
from console.store.anchor_log import LOG_CHAIN
from console.store.chain import (
    OPEN_FIELDS,
    anchor_mac,
    canonical_columns,
    link_hash,
    open_binding,
    open_binding_holds,
    row_content,
)
from console.store.engine import check_schema, classify, make_engine, probe_writable
from console.store.errors import (
    AgentLocked,
    AuthError,
    CorruptDatabase,
    DatabaseUnavailable,
    InvalidFact,
    SealedRecordError,
    SeatInUse,
    StoreError,
    UnknownRecord,
)
from console.store.journal import Journal
from console.store.models import (
    ADMIN_CHAIN,
    AGENTS_CHAIN,
    CHAINED,
    CHECKPOINT_CHAIN,
    SECURITY_CHAIN,
    AgentRow,
    AgentStateRow,
    AmendmentRow,
    AnchorRow,
    AuditRow,
    CallRow,
    ChainHeadRow,
    CheckpointRow,
    EventReportRow,
    FollowUpRow,
    HandoverRow,
    SeatRow,
    SignatureRow,
    UtcDateTime,
)
from console.store.outbox import Outbox, OutboxStatus
from console.store.values import (
    AMENDABLE,
    CALL_FACTS,
    CATEGORIES,
    GENESIS,
    Agent,
    AgentRole,
    AgentState,
    AgentStateChange,
    Amendment,
    Anchor,
    AuditEntry,
    CallFilter,
    CallOutcome,
    CallRecord,
    EventReport,
    FollowUp,
    FollowUpStatus,
    Handover,
    Kpis,
    SeatInfo,
    SecuritySummary,
    VerifyReport,
)
from console.store.writer import RecordWriter

log = logging.getLogger("console.store")

_DATETIME_FACTS = frozenset({"answered_at", "ended_at", "forwarded_at"})
_INT_FACTS = frozenset({"rings", "satisfaction"})
_SCRYPT = (2**14, 8, 1)
_Q = TypeVar("_Q", bound="Select[Any] | Select[Any, Any]")  # any select over calls
_T = TypeVar("_T")


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


def _key() -> str:
    return uuid.uuid4().hex


def _pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OSError, OverflowError):
        return False
    return True


def _seat_name(seat: str) -> str:
    """The seat's name as the record keeps it (the domain's one rule), or `InvalidFact`."""
    try:
        return check_seat_name(seat)
    except SeatNameError as exc:
        raise InvalidFact(str(exc)) from None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _column_length(name: str) -> int | None:
    column = CallRow.__table__.c[name]
    return column.type.length if isinstance(column.type, String) else None


def coerce_fact(name: str, value: Any) -> Any:
    """Check one call fact and bring it to its stored type; `InvalidFact` says what is wrong.

    Wrong in kind (not a fact, not text, a NUL, an unknown category, a time without a zone)
    is refused; text that is merely too long for its column is kept, cut with a visible
    mark (`cut_text`), because refusing it would lose the call it belongs to.
    """
    if name not in CALL_FACTS and name != "outcome":
        raise InvalidFact(f"{name!r} is not a call fact; known facts: {', '.join(CALL_FACTS)}")
    if value is None:
        return None
    if name in _DATETIME_FACTS:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise InvalidFact(f"{name}: {value!r} is not an ISO date and time") from exc
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidFact(f"{name}: needs an aware datetime, got {value!r}")
        return value
    if name in _INT_FACTS:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidFact(f"{name}: needs a whole number, got {value!r}")
        try:
            number = int(value)
        except ValueError as exc:
            raise InvalidFact(f"{name}: needs a whole number, got {value!r}") from exc
        if name == "satisfaction" and number not in (1, 2, 3):
            raise InvalidFact(f"satisfaction must be 1, 2 or 3 (or none), got {value!r}")
        if name == "rings" and not 0 <= number <= 1000:
            raise InvalidFact(f"rings must be between 0 and 1000, got {value!r}")
        return number
    if name == "outcome":
        try:
            return CallOutcome(value.value if isinstance(value, CallOutcome) else value).value
        except ValueError as exc:
            raise InvalidFact(
                f"outcome {value!r} unknown; one of {[o.value for o in CallOutcome]}"
            ) from exc
    if not isinstance(value, str):
        raise InvalidFact(f"{name}: needs text, got {type(value).__name__}")
    if name == "category":
        for stored, label in CATEGORIES.items():
            if value in (stored, label):
                return stored
        raise InvalidFact(
            f"category {value!r} unknown; one of "
            + ", ".join(f"{k} ({v})" for k, v in CATEGORIES.items())
        )
    if "\x00" in value:
        raise InvalidFact(f"{name}: text contains a NUL character")
    length = _column_length(name)
    if length is not None and len(value) > length:
        return cut_text(name, value, length)
    return value


def cut_mark(original: int, limit: int) -> str:
    """The visible end of a text cut to fit its column: `…[cut 115→64]`."""
    return f"…[cut {original}→{limit}]"


def cut_text(name: str, value: str, limit: int) -> str:
    """`value` cut to `limit` characters, ending in `cut_mark` so nobody takes it as whole.

    A caller number 115 characters long is still a call: the record keeps its first
    characters and says that (and by how much) it was cut, rather than refusing the call.
    """
    mark = cut_mark(len(value), limit)
    cut = (value[: max(0, limit - len(mark))] + mark)[:limit]
    log.warning("%s: %d characters, cut to the %d that fit: %r", name, len(value), limit, cut)
    return cut


def _fact_text(name: str, value: Any) -> str | None:
    """A fact as amendment text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$hash` for an agent secret."""
    n, r, p = _SCRYPT
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def _refuse_bound(facts: dict[str, Any]) -> None:
    """The facts an open call's binding covers are given at the open, never changed after."""
    bound = sorted(set(facts) & set(OPEN_FIELDS))
    if bound:
        raise InvalidFact(f"{', '.join(bound)}: given when the call is opened (open_call)")


class DutyRecord:
    """The duty record: calls from the first ring to the seal, amendments, agents, shifts.

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

    # ---------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Stop the writer (what it can't apply in 5 s stays in the outbox), then the engine."""
        if self.writer is not None:
            self.writer.stop()
            self.writer = None
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None
        self.release_seat()
        self.engine.dispose()

    def __enter__(self) -> DutyRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Alarm when writes are only in memory (at risk) or lost, and when that is over."""
        unsaved, lost = self._at_risk
        self._at_risk = (status.unsaved, status.lost)
        if status.lost > lost:
            self._alarm("record_lost", f"{status.lost} write(s) lost: the outbox's disk and "
                        "memory are both full")
        if status.unsaved and not unsaved:
            self._alarm("outbox_at_risk", f"the outbox's disk is full: {status.unsaved} "
                        "write(s) only in memory until space returns")
        elif unsaved and not status.unsaved:
            self._alarm("outbox_safe", "every write is on disk again")

    def apply_entry(self, op: str, args: dict[str, Any], live: bool = False) -> None:
        """Apply one outbox entry in its own transaction (the writer's thread).

        `live`: first attempt of a write made in this run, so a change to a call that is
        already sealed is refused (`SealedRecordError`) rather than taken as a replay.
        """
        with self._write_lock:
            payload = {**args, "live": True} if live else args
            if op in _CORE_APPLY:
                self._run(
                    _unused,
                    core=lambda c: _CORE_APPLY[op](self, c, payload),
                    core_engine=self._single_engine if op in _ONE_STATEMENT else None,
                )
            else:
                self._run(lambda s: _APPLY[op](self, s, payload))

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
        alarm = StoreAlarm(kind, message, status.pending if status else 0,
                           status.unsaved if status else 0)
        (log.warning if kind in ("db_back", "outbox_safe") else log.error)(
            "%s: %s (%d pending)", kind, message, alarm.pending)
        if self._on_alarm is not None:
            try:
                self._on_alarm(alarm)
            except Exception:
                log.exception("alarm callback failed")

    @property
    def database_down(self) -> bool:
        """True while the last write found the database away (the outbox keeps them)."""
        return self._down

    # ---------------------------------------------------------------- chains

    def _claim(self, conn: Connection, chain: str) -> tuple[int, str]:
        """The next position in `chain` and its predecessor's hash; locks the head.

        SQLite writers already hold the write lock (`BEGIN IMMEDIATE`); PostgreSQL locks
        the head row, so two seats appending to one chain take turns.
        """
        query = _HEAD_FOR_UPDATE if conn.dialect.name == "postgresql" else _HEAD
        head = conn.execute(query, {"b_chain": chain}).first()
        if head is None:
            conn.execute(
                _insert(conn)(_HEADS)
                .values(chain=chain, seq=0, row_hash=GENESIS)
                .on_conflict_do_nothing()
            )
            head = conn.execute(query, {"b_chain": chain}).one()
        return int(head[0]) + 1, str(head[1])

    def _chain_values(
        self,
        conn: Connection,
        chain: str,
        table: str,
        content: dict[str, Any],
        head: tuple[int, str] | None = None,
    ) -> dict[str, Any]:
        """Link `content` (canonical columns of a new link) into `chain`, in this transaction.

        `head` is the chain's next position and predecessor's hash when the caller has
        already read and locked the head. Returns the head's new values (`_SET_HEAD`'s
        parameters); the head is written here unless the caller writes it itself.
        """
        seq, prev = head or self._claim(conn, chain)
        content.update(chain=chain, seq=seq, prev_hash=prev)
        row_hash = link_hash(prev, table, content)
        content["row_hash"] = row_hash
        new_head = {"b_chain": chain, "b_seq": seq, "b_hash": row_hash}
        if head is None:
            conn.execute(_SET_HEAD, new_head)
        return new_head

    def _link(self, session: Session, chain: str, row: Any) -> None:
        """Link an ORM row (amendments, agent states, admin records) into `chain`."""
        conn = session.connection()
        seq, prev = self._claim(conn, chain)
        row.chain = chain
        row.seq = seq
        row.prev_hash = prev
        row.row_hash = link_hash(prev, type(row).__tablename__, row_content(row))
        conn.execute(_SET_HEAD, {"b_chain": chain, "b_seq": seq, "b_hash": row.row_hash})

    # ---------------------------------------------------------------- calls

    def open_call(
        self,
        line: str,
        ring_at: datetime | None = None,
        *,
        caller_number: str | None = None,
        caller_display: str | None = None,
        sip_call_id: str | None = None,
        seat: str | None = None,
    ) -> str:
        """Create the call's row at the first ring; returns its key (also before it is applied).

        `seat` names the seat taking the call, so its start-up seals only its own calls
        (`seal_interrupted_on_start(seat=...)`) when several seats share the record.
        """
        if not line or not isinstance(line, str) or line.startswith("~") or ":" in line:
            raise InvalidFact(f"line {line!r}: needs a name without ':' that doesn't start with ~")
        ring_at = ring_at or self._now()
        if ring_at.tzinfo is None:
            raise InvalidFact(f"ring_at {ring_at!r} has no time zone")
        facts = {
            "caller_number": coerce_fact("caller_number", caller_number),
            "caller_display": coerce_fact("caller_display", caller_display),
            "sip_call_id": coerce_fact("sip_call_id", sip_call_id),
        }
        if seat is not None:
            facts["seat"] = _seat_name(seat)
        key = _key()
        if self.anchor_key is not None:  # bound now, so a hand-made row can't pass for it
            facts["open_mac"] = open_binding(
                self.anchor_key, {**facts, "key": key, "line": line, "ring_at": ring_at}
            )
        self._submit("open", {"key": key, "line": line, "ring_at": _iso(ring_at), "facts": facts})
        return key

    def update_open_call(self, key: str, **facts: Any) -> None:
        """Record facts known while the call is open (answered_at, answered_by, step, ...)."""
        clean = {name: coerce_fact(name, value) for name, value in facts.items()}
        if "outcome" in clean:
            raise InvalidFact("the outcome is given when the call is sealed (seal_call)")
        _refuse_bound(clean)
        self._submit("update", {"key": key, "facts": _facts_json(clean)})

    def seal_call(self, key: str, outcome: CallOutcome | str, **facts: Any) -> None:
        """Seal the call with its outcome and last facts; from now on it is unalterable."""
        clean = {name: coerce_fact(name, value) for name, value in facts.items()}
        clean["outcome"] = coerce_fact("outcome", outcome)
        _refuse_bound(clean)
        self._submit(
            "seal", {"key": key, "facts": _facts_json(clean), "sealed_at": _iso(self._now())}
        )

    def seal_interrupted_on_start(
        self, lines: Iterable[str] | None = None, seat: str | None = None
    ) -> list[str]:
        """Seal calls left open by a crash as *interrupted*; returns their keys.

        Pass this seat's lines and name when several seats share the database: only the
        calls this seat opened are sealed, never one another seat is handling now (all
        seats of a hotline write one line name, issue 13). Calls without a seat were
        written before seats had names (migration 0003), by a run that is gone: they are
        sealed too.
        """
        # What the outbox holds from the last run lands first: a call whose seal is
        # still there was not interrupted.
        if not self.settle(30):
            raise DatabaseUnavailable("the outbox's writes from the last run have not reached "
                                      "the database yet; calls it left open stay open for now")
        wanted = list(lines) if lines is not None else None
        mine = _seat_name(seat) if seat is not None else None

        def seal_all(session: Session) -> list[str]:
            conn = session.connection()
            query = select(*_CALL_ROW).where(_CALLS.c.sealed_at.is_(None)).order_by(_CALLS.c.id)
            if wanted is not None:
                query = query.where(_CALLS.c.line.in_(wanted))
            if mine is not None:
                query = query.where(or_(_CALLS.c.seat == mine, _CALLS.c.seat.is_(None)))
            keys = []
            for row in conn.execute(query).mappings().all():
                if self.anchor_key is not None and not open_binding_holds(
                    self.anchor_key, dict(row), row["open_mac"]
                ):  # not opened by a writer of ours: sealing it would launder it
                    detail = (
                        f"call {row['key']} (line {row['line']}, rung {row['ring_at']}) is open "
                        "without a valid binding: not made by a writer of ours; left unsealed"
                    )
                    log.error("ALARM: %s", detail)
                    self._audit(session, "alarm:unbound_open_call", "console", detail)
                    continue
                self._seal_row(conn, dict(row), {"outcome": CallOutcome.INTERRUPTED.value})
                keys.append(row["key"])
            return keys

        keys: list[str] = self._run(seal_all)
        if keys:
            log.warning("sealed %d calls left open by a crash as interrupted", len(keys))
        return keys

    def _seal_row(
        self,
        conn: Connection,
        row: dict[str, Any],
        facts: dict[str, Any],
        at: datetime | None = None,
        head: tuple[int, str] | None = None,
    ) -> None:
        """Seal one open call in one UPDATE, its chain link computed in the same transaction.

        `row` holds the call's canonical columns and `id` as stored (Core, no ORM objects).
        With `head` (read and locked with the row, PostgreSQL), the chain head's update
        rides in the call's UPDATE as a CTE: one statement, one round trip.
        """
        content = {name: row[name] for name in _CALL_CANONICAL}
        content.update(facts)
        content["sealed_at"] = at or self._now()
        answered, ended = content["answered_at"], content["ended_at"]
        if answered is not None:
            content["seconds_to_answer"] = round((answered - content["ring_at"]).total_seconds(), 3)
            if ended is not None:
                content["handling_seconds"] = round((ended - answered).total_seconds(), 3)
        new_head = self._chain_values(
            conn, content["line"], CallRow.__tablename__, content, head
        )
        changed = {k: v for k, v in content.items() if k not in row or row[k] != v}
        if head is None:
            done = conn.execute(_SEAL_CALL, {**changed, "b_id": row["id"]})
        else:
            values = {f"v_{name}": value for name, value in changed.items()}
            done = conn.execute(
                _seal_call_and_head(frozenset(changed)), {**values, **new_head, "b_id": row["id"]}
            )
        if done.rowcount != 1:  # sealed by another seat between our read and our write
            raise SealedRecordError(f"call {row['key']} was sealed meanwhile")

    # ---------------------------------------------------------------- seats

    def claim_seat(self, name: str, host: str | None = None, pid: int | None = None) -> None:
        """Say that seat `name` runs here now, before its start-up seals what it left open.

        Refused with `SeatInUse` (one line, what to do): the name is held by another live
        process on this host, or by a seat on another host that never stopped (two seats
        under one name would seal each other's calls); on SQLite, any seat of another host
        that never stopped (a SQLite file has no locking between machines: PostgreSQL is the
        way). A seat that crashed on this host is taken over; `close` marks it stopped.
        """
        seat = _seat_name(name)
        here = host or socket.gethostname()
        me = os.getpid() if pid is None else pid
        sqlite = self.engine.dialect.name == "sqlite"
        where = self.engine.url.render_as_string(hide_password=True)
        if self.engine.url.get_backend_name() == "sqlite":
            where = self.engine.url.database or where
        release = f"if it is gone, `duty-console db seats --release {{}} --db {where}`"

        def claim(session: Session) -> None:
            now = self._now()
            running = session.scalars(select(SeatRow).where(SeatRow.stopped_at.is_(None)))
            for row in running:
                since = f"since {row.started_at.astimezone(self.tz):%Y-%m-%d %H:%M}"
                if row.name == seat and row.host == here:
                    if row.pid != me and _pid_alive(row.pid):
                        raise SeatInUse(
                            f"seat {seat!r} already runs on this host as pid {row.pid} ({since}); "
                            "give each seat its own [seat] name"
                        )
                elif row.name == seat:
                    raise SeatInUse(
                        f"seat {seat!r} is running on host {row.host} (pid {row.pid}, {since}); "
                        "give each seat its own [seat] name, or " + release.format(seat)
                    )
                elif sqlite and row.host != here:
                    raise SeatInUse(
                        f"seat {row.name!r} on host {row.host} ({since}) uses this SQLite file: "
                        "seats on several machines need PostgreSQL ([database] url = "
                        '"postgresql+psycopg://USER@HOST/DB"); ' + release.format(row.name)
                    )
            found = session.get(SeatRow, seat)
            if found is None:
                session.add(SeatRow(name=seat, host=here, pid=me, started_at=now, seen_at=now))
            else:
                found.host, found.pid, found.started_at, found.seen_at = here, me, now, now
                found.stopped_at = None

        self._run(claim)
        self._seat = (seat, here, me)

    def release_seat(self, name: str | None = None) -> bool:
        """Mark a seat stopped: this record's own claim, or `name` (a seat that is gone).

        Returns whether a running seat was marked. A failure is logged, never raised when
        releasing this record's own claim (it runs at shutdown).
        """
        own = name is None
        if own:
            if self._seat is None:
                return False
            seat, here, me = self._seat
            self._seat = None
        else:
            seat = _seat_name(name or "")

        def mark(session: Session) -> bool:
            query = update(SeatRow).where(SeatRow.name == seat, SeatRow.stopped_at.is_(None))
            if own:
                query = query.where(SeatRow.host == here, SeatRow.pid == me)
            done = session.connection().execute(query.values(stopped_at=self._now()))
            return bool(done.rowcount)

        try:
            return bool(self._run(mark))
        except StoreError as exc:
            if not own:
                raise
            log.warning("seat %s not marked stopped: %s", seat, exc)
            return False

    def seats(self) -> list[SeatInfo]:
        """Every seat that used this record: name, host, pid, started, stopped (None: running)."""

        def load(session: Session) -> list[SeatInfo]:
            rows = session.scalars(select(SeatRow).order_by(SeatRow.name))
            return [SeatInfo(r.name, r.host, r.pid, r.started_at, r.stopped_at) for r in rows]

        return list(self._run(load, write=False))

    def get_call(self, key: str, amended: bool = True) -> CallRecord:
        """One call; with `amended`, the latest amendment of each field applied."""
        sql = read_statement(
            self.engine.dialect,
            ("call", amended),
            lambda: select(*_RECORD_COLUMNS, *((_HAS_AMENDMENTS,) if amended else ())).where(
                _CALLS.c.key == bindparam("f_key")
            ),
        )
        to_time = time_reader(self.engine.dialect)

        def load(conn: Connection, rows: Sequence[Any]) -> CallRecord:
            if not rows:
                raise UnknownRecord(f"no call with key {key!r}")
            records = _records_from(rows, to_time)
            return (_amended_records(conn, rows, records) if amended else records)[0]

        return self.read(sql, {"f_key": key}, load)

    def amend(self, call_key: str, field: str, new_value: Any, who: str, why: str) -> Amendment:
        """Correct one field of a sealed call by a new, chained amendment row."""
        if field not in AMENDABLE:
            raise InvalidFact(f"{field!r} cannot be amended; amendable: {', '.join(AMENDABLE)}")
        if not who or not who.strip():
            raise InvalidFact("an amendment needs who makes it")
        if not why or not why.strip():
            raise InvalidFact("an amendment needs a reason (why)")
        value = coerce_fact(field, new_value)
        text = _fact_text(field, value)

        def add(session: Session) -> Amendment:
            row = session.scalar(select(CallRow).where(CallRow.key == call_key))
            if row is None:
                raise UnknownRecord(f"no call with key {call_key!r}")
            if row.sealed_at is None:
                raise InvalidFact(f"call {call_key} is still open; update it instead of amending")
            current = _apply_amendments(
                _call_record(row), _amendments_of(session, [call_key]).get(call_key, [])
            )
            old = _fact_text(field, getattr(current, field))
            if field == "outcome" and current.outcome is not None:
                old = current.outcome.value
            amendment = AmendmentRow(
                key=_key(),
                call_key=call_key,
                field=field,
                old_value=old,
                new_value=text,
                who=who.strip(),
                why=why.strip(),
                at=self._now(),
            )
            self._link(session, row.line, amendment)
            session.add(amendment)
            return _amendment(amendment)

        result: Amendment = self._run(add)
        return result

    def amendments(self, call_key: str) -> list[Amendment]:
        result: list[Amendment] = self._run(
            lambda s: _amendments_of(s, [call_key]).get(call_key, []), write=False
        )
        return result

    # ---------------------------------------------------------------- review

    def calls(self, flt: CallFilter | None = None, amended: bool = True) -> list[CallRecord]:
        """Sealed and open calls matching the filter, oldest ring first."""
        flt = flt or CallFilter()
        shape, values = _filter_shape(flt)
        limited = flt.limit is not None
        if flt.limit is not None:
            if isinstance(flt.limit, bool) or not isinstance(flt.limit, int) or flt.limit < 0:
                raise InvalidFact(f"limit {flt.limit!r}: a whole number, 0 or more")
            values["f_limit"] = flt.limit
        sql = read_statement(
            self.engine.dialect,
            ("calls", shape, amended, limited),
            lambda: _calls_statement(shape, amended, limited),
        )
        to_time = time_reader(self.engine.dialect)

        def load(conn: Connection, rows: Sequence[Any]) -> list[CallRecord]:
            records = _records_from(rows, to_time)
            return _amended_records(conn, rows, records) if amended and records else records

        return self.read(sql, values, load)

    def read(
        self,
        sql: ReadStatement,
        values: dict[str, Any],
        then: Callable[[Connection, Sequence[Any]], _T],
    ) -> _T:
        """Run a compiled read with `values` and hand its rows (the driver's tuples) to `then`.

        The statement goes to the driver's cursor on a pooled connection through
        SQLAlchemy's own cursor-execute path (its cursor events, logging and disconnect
        handling: the connection is invalidated on a lost server), but with no execution
        context, result object or transaction of its own: a single SELECT reads one
        snapshot by itself (SQLite's implicit read transaction; autocommit on PostgreSQL,
        as the figures). What `then` reads on `conn` (amendments, rare) is a second
        statement. Driver failures become `StoreError`s.
        """
        args = sql.args(values)
        dbapi_error: Any = self.engine.dialect.loaded_dbapi.Error
        self._settle()
        try:
            with self._figures_engine.connect() as conn:
                cursor = conn.connection.cursor()
                try:
                    conn._cursor_execute(cursor, sql.text, args)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
                return then(conn, rows)
        except StoreError:
            raise
        except (SQLAlchemyError, OSError, dbapi_error) as exc:
            raise classify(exc, self.url) from exc

    def iter_sealed_calls(
        self, flt: CallFilter, batch: int = 1000
    ) -> Generator[tuple[CallRecord, list[Amendment]], None, None]:
        """Sealed calls matching `flt` (limit ignored), oldest ring first, with amendments.

        Each record carries its values as sealed; its amendments (oldest first) come beside
        it, not applied. One query for the whole period — every call LEFT JOINed to its
        amendments (rare), read `batch` rows at a time (a server-side cursor on PostgreSQL)
        — so an export of a month neither asks once per call nor holds the month in memory.
        The read transaction stays open while the caller consumes the iterator; closing it
        early (or an exception in the consumer) ends the transaction. Driver failures
        mid-read raise the `StoreError` a user can act on (e.g. `DatabaseUnavailable`).
        A seat's leg that another seat answered (`CallOutcome.TAKEN_ELSEWHERE`) is left out,
        as from `kpis`: exports count callers, not legs.
        """
        amend = _AMENDMENTS.alias("a")
        query = (
            self._filtered(select(*_RECORD_COLUMNS), replace(flt, limit=None))
            .where(CallRow.sealed_at.is_not(None), CallRow.outcome.not_in(LEG_OUTCOME_VALUES))
            .add_columns(*(amend.c[name] for name in _AMENDMENT_NAMES))
            .outerjoin(amend, amend.c.call_key == CallRow.key)
            .order_by(CallRow.ring_at, CallRow.id, amend.c.seq)
            .execution_options(yield_per=max(1, batch))
        )
        width = len(_RECORD_NAMES)
        try:
            with self._session(False) as session, session.begin():
                record: CallRecord | None = None
                found: list[Amendment] = []
                for row in session.connection().execute(query):
                    if record is None or record.key != row[0]:
                        if record is not None:
                            yield record, found
                        record, found = _record_from_row(row[:width]), []
                    if row[width] is not None:
                        found.append(_amendment_from_row(row[width:]))
                if record is not None:
                    yield record, found
        except StoreError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise classify(exc, self.url) from exc

    def _filtered(self, query: _Q, flt: CallFilter) -> _Q:
        conds = []
        if flt.since is not None:
            conds.append(CallRow.ring_at >= flt.since)
        if flt.until is not None:
            conds.append(CallRow.ring_at < flt.until)
        if flt.line is not None:
            conds.append(CallRow.line == flt.line)
        if flt.agent is not None:
            conds.append(CallRow.answered_by == flt.agent)
        if flt.category is not None:
            conds.append(CallRow.category == coerce_fact("category", flt.category))
        if flt.outcome is not None:
            conds.append(CallRow.outcome == coerce_fact("outcome", flt.outcome))
        if flt.satisfaction is not None:
            conds.append(CallRow.satisfaction == coerce_fact("satisfaction", flt.satisfaction))
        if flt.unrated:
            conds.append(CallRow.satisfaction.is_(None))
        if flt.forwarded is not None:
            conds.append(
                CallRow.forwarded_to.is_not(None)
                if flt.forwarded
                else CallRow.forwarded_to.is_(None)
            )
        if flt.hours is not None:
            start, end = flt.hours
            if not (0 <= start <= 23 and 0 <= end <= 24):
                raise InvalidFact(f"hours {flt.hours!r}: need (from, to) within 0..24")
            if start <= end:
                conds.append(and_(CallRow.ring_hour >= start, CallRow.ring_hour < end))
            else:
                conds.append(or_(CallRow.ring_hour >= start, CallRow.ring_hour < end))
        return query.where(*conds) if conds else query  # type: ignore[return-value]

    def day_bounds(self, day: Any) -> tuple[datetime, datetime]:
        """[start, end) of a local calendar day, as aware datetimes."""
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return start, datetime.combine(start.date() + timedelta(days=1), start.timetz())

    def gate_post_calls(self, since: datetime, until: datetime) -> list[CallRecord]:
        """The night's forwarded and gate-post calls, for the morning review."""
        sql = read_statement(self.engine.dialect, ("gate_post",), _gate_post_statement)
        to_time = time_reader(self.engine.dialect)

        def load(conn: Connection, rows: Sequence[Any]) -> list[CallRecord]:
            records = _records_from(rows, to_time)
            return _amended_records(conn, rows, records) if records else records

        return self.read(sql, {"f_since": since, "f_until": until}, load)

    def kpis(
        self,
        since: datetime,
        until: datetime,
        ring_limit_seconds: float | None = None,
        flt: CallFilter | None = None,
    ) -> Kpis:
        """Figures for sealed calls that rang in [since, until) (values as sealed).

        Callers, not legs: a seat's leg another seat answered (`TAKEN_ELSEWHERE`) is left out.
        """
        if since.tzinfo is None or until.tzinfo is None:
            raise InvalidFact("kpis: since and until need time zones")
        if until < since:
            raise InvalidFact(f"kpis: until {until} is before since {since}")
        limit = self.ring_limit_seconds if ring_limit_seconds is None else ring_limit_seconds
        shape, params = _filter_shape(replace(flt or CallFilter(), since=since, until=until))
        totals_q, sat_q, hour_q = _kpi_statements(shape)
        params.update(k_limit=limit, k_until=until, k_now=min(self._now(), until))

        def load(conn: Connection) -> Kpis:
            t = conn.execute(totals_q, params).one()
            sat = {row[0]: int(row[1]) for row in conn.execute(sat_q, params)}
            hours = {int(row[0]): int(row[1]) for row in conn.execute(hour_q, params)}
            return Kpis.from_totals(since, until, t, sat, hours, (int(t[9]), int(t[10])))

        result: Kpis = self._run(_unused, core=load, core_engine=self._figures_engine)
        return result

    # ---------------------------------------------------------------- agents

    def create_agent(self, agent_id: str, name: str, role: AgentRole, secret: str) -> Agent:
        """Add an agent ID with its secret (stored as a salted scrypt hash)."""
        if not agent_id or not agent_id.strip() or len(agent_id) > 64 or ":" in agent_id:
            raise InvalidFact(f"agent ID {agent_id!r}: 1–64 characters, no ':'")
        if agent_id in ("auto", "gate_post"):
            raise InvalidFact(f"agent ID {agent_id!r} is reserved")
        if len(secret) < 4:
            raise InvalidFact("an agent secret needs at least 4 characters")
        if not name.strip():
            raise InvalidFact("an agent needs a name")
        stored = hash_secret(secret)

        def add(session: Session) -> Agent:
            if session.get(AgentRow, agent_id) is not None:
                raise InvalidFact(f"agent ID {agent_id} exists already (no shared IDs)")
            row = AgentRow(
                agent_id=agent_id,
                name=name.strip(),
                role=AgentRole(role).value,
                secret_hash=stored,
                active=True,
                failures=0,
                created_at=self._now(),
            )
            session.add(row)
            return _agent(row)

        result: Agent = self._run(add)
        return result

    def verify_secret(self, agent_id: str, secret: str) -> Agent:
        """Check a login; counts failures and locks the ID after `lockout_failures`."""
        now = self._now()

        def check(session: Session) -> Agent | StoreError:
            row = session.get(AgentRow, agent_id, with_for_update=True)
            if row is None or not row.active:
                return AuthError("unknown agent ID or wrong secret")
            if row.locked_until is not None and row.locked_until > now:
                return AgentLocked(
                    f"agent {agent_id} is locked until {row.locked_until.astimezone(self.tz):%H:%M}"
                    " after repeated failures; a supervisor can unlock it"
                )
            if check_secret(secret, row.secret_hash):
                row.failures = 0
                row.locked_until = None
                return _agent(row)
            row.failures += 1
            if row.failures >= self.lockout_failures:
                row.locked_until = now + self.lockout
                row.failures = 0
                log.warning("agent %s locked after repeated failures", agent_id)
                return AgentLocked(f"agent {agent_id} locked for {self.lockout} after failures")
            return AuthError("unknown agent ID or wrong secret")

        outcome = self._run(check)
        if isinstance(outcome, StoreError):
            raise outcome
        assert isinstance(outcome, Agent)
        return outcome

    def unlock_agent(self, agent_id: str, supervisor: str) -> Agent:
        """A supervisor lifts a lockout before it ends (duty rules §4: personal IDs, so the
        agent must not borrow another's meanwhile); audited with who lifted it.

        Refused in one line: `supervisor` not an active supervisor ID, an unknown agent ID,
        an ID that is not locked (nothing to lift; nothing is written).
        """

        def unlock(session: Session) -> Agent:
            boss = session.get(AgentRow, supervisor)
            if boss is None or boss.role != AgentRole.SUPERVISOR.value or not boss.active:
                raise InvalidFact(
                    f"{supervisor!r} is not an active supervisor ID: only a supervisor unlocks"
                )
            row = session.get(AgentRow, agent_id)
            if row is None:
                raise UnknownRecord(f"no agent {agent_id!r}")
            until = row.locked_until
            if until is None or until <= self._now():
                raise InvalidFact(f"agent {agent_id} is not locked")
            row.locked_until = None
            row.failures = 0
            self._audit(
                session, "unlock", supervisor,
                f"agent {agent_id} (locked until {until.astimezone(self.tz):%Y-%m-%d %H:%M})",
            )
            return _agent(row)

        result: Agent = self._run(unlock)
        return result

    def latest_time(self) -> datetime | None:
        """The latest moment the record holds (a ring, a seal, a state change, an audit
        entry, a follow-up, an amendment); None for an empty record.

        A pretend clock (demos, tests) continues from here instead of starting over, so a
        day's list never mixes runs out of order (issue 11, point 5).
        """
        columns = (
            CallRow.ring_at, CallRow.sealed_at, AgentStateRow.at, AuditRow.at,
            FollowUpRow.created_at, AmendmentRow.at,
        )

        def latest(session: Session) -> datetime | None:
            found = [session.scalar(select(func.max(column))) for column in columns]
            times = [t for t in found if isinstance(t, datetime)]
            return max(times) if times else None

        result: datetime | None = self._run(latest, write=False)
        return result

    def agents(self) -> list[Agent]:
        result: list[Agent] = self._run(
            lambda s: [_agent(r) for r in s.scalars(select(AgentRow).order_by(AgentRow.agent_id))],
            write=False,
        )
        return result

    def set_agent_state(
        self,
        agent_id: str,
        state: AgentState,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Log an agent state change (through the outbox, when one is attached)."""
        state = AgentState(state)
        if state is AgentState.AWAY and not (reason and reason.strip()):
            raise InvalidFact("away (示忙) needs a reason")
        self._submit(
            "agent_state",
            {
                "key": _key(),
                "agent_id": agent_id,
                "state": state.value,
                "reason": reason,
                "at": _iso(at or self._now()),
            },
        )

    def agent_states(
        self, agent_id: str | None = None, since: datetime | None = None
    ) -> list[AgentStateChange]:
        query = select(AgentStateRow).order_by(AgentStateRow.seq)
        if agent_id is not None:
            query = query.where(AgentStateRow.agent_id == agent_id)
        if since is not None:
            query = query.where(AgentStateRow.at >= since)
        result: list[AgentStateChange] = self._run(
            lambda s: [
                AgentStateChange(r.agent_id, AgentState(r.state), r.at, r.reason)
                for r in s.scalars(query)
            ],
            write=False,
        )
        return result

    # ---------------------------------------------------------------- shifts

    def write_handover(self, outgoing: str, notes: str, open_items: str) -> Handover:
        """The outgoing agent's handover, stamped with every chain head (also anchored)."""
        if not notes.strip() and not open_items.strip():
            raise InvalidFact("a handover needs notes or open items")

        def add(session: Session) -> Handover:
            self._require_agent(session, outgoing)
            anchors = self._anchor(session, "handover")
            row = HandoverRow(
                key=_key(),
                outgoing=outgoing,
                notes=notes,
                open_items=open_items,
                chain_heads="\n".join(a.text() for a in anchors),
                written_at=self._now(),
            )
            self._link(session, ADMIN_CHAIN, row)
            session.add(row)
            return self._handover(session, row)

        result: Handover = self._run(add)
        return result

    def accept_handover(self, key: str, incoming: str) -> Handover:
        return self._sign(key, incoming, "accept")

    def sign_handover(self, key: str, supervisor: str) -> Handover:
        """The supervisor's daily sign-off (also records anchors of every chain)."""
        return self._sign(key, supervisor, "sign")

    def _sign(self, key: str, agent_id: str, kind: str) -> Handover:
        def add(session: Session) -> Handover:
            agent = self._require_agent(session, agent_id)
            row = session.scalar(select(HandoverRow).where(HandoverRow.key == key))
            if row is None:
                raise UnknownRecord(f"no handover {key!r}")
            done = {s.kind for s in _signatures(session, key)}
            if kind in done:
                raise InvalidFact(f"handover {key} is already {kind}ed")
            if kind == "accept" and agent_id == row.outgoing:
                raise InvalidFact("the incoming agent accepts the handover, not the outgoing one")
            if kind == "sign":
                if agent.role != AgentRole.SUPERVISOR.value:
                    raise InvalidFact(f"{agent_id} is not a supervisor; only they sign off")
                self._anchor(session, "sign-off")
            sig = SignatureRow(
                key=_key(), handover_key=key, kind=kind, agent_id=agent_id, at=self._now()
            )
            self._link(session, ADMIN_CHAIN, sig)
            session.add(sig)
            session.flush()
            return self._handover(session, row)

        result: Handover = self._run(add)
        return result

    def handovers(self, since: datetime | None = None) -> list[Handover]:
        query = select(HandoverRow).order_by(HandoverRow.seq)
        if since is not None:
            query = query.where(HandoverRow.written_at >= since)
        result: list[Handover] = self._run(
            lambda s: [self._handover(s, r) for r in s.scalars(query)], write=False
        )
        return result

    def _handover(self, session: Session, row: HandoverRow) -> Handover:
        sigs = {s.kind: s for s in _signatures(session, row.key)}
        accept, sign = sigs.get("accept"), sigs.get("sign")
        return Handover(
            key=row.key,
            outgoing=row.outgoing,
            written_at=row.written_at,
            notes=row.notes,
            open_items=row.open_items,
            chain_heads=row.chain_heads,
            accepted_by=accept.agent_id if accept else None,
            accepted_at=accept.at if accept else None,
            signed_by=sign.agent_id if sign else None,
            signed_at=sign.at if sign else None,
        )

    def _require_agent(self, session: Session, agent_id: str) -> AgentRow:
        row = session.get(AgentRow, agent_id)
        if row is None:
            raise UnknownRecord(f"no agent {agent_id!r}")
        return row

    def add_follow_up(
        self, owner: str, description: str, due_at: datetime, call_key: str | None = None
    ) -> FollowUp:
        """A follow-up owned by the first agent (首问负责) until closed; carried across shifts."""
        if due_at.tzinfo is None:
            raise InvalidFact("due_at needs a time zone")
        if not description.strip():
            raise InvalidFact("a follow-up needs a description")

        def add(session: Session) -> FollowUp:
            self._require_agent(session, owner)
            row = FollowUpRow(
                key=_key(),
                call_key=call_key,
                owner=owner,
                description=description,
                due_at=due_at,
                status=FollowUpStatus.OPEN.value,
                created_at=self._now(),
            )
            session.add(row)
            return _follow_up(row)

        result: FollowUp = self._run(add)
        return result

    def file_follow_up(
        self, owner: str, description: str, due_at: datetime, call_key: str | None = None
    ) -> str:
        """`add_follow_up` for the call path: through the outbox when one is attached, so a
        call's end never waits for the database; returns the follow-up's key."""
        if due_at.tzinfo is None:
            raise InvalidFact("due_at needs a time zone")
        if not description.strip():
            raise InvalidFact("a follow-up needs a description")
        key = _key()
        self._submit("follow_up", {"key": key, "owner": owner, "description": description,
                                   "due_at": _iso(due_at), "call_key": call_key,
                                   "at": _iso(self._now())})
        return key

    def close_follow_up(
        self, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
    ) -> FollowUp:
        if status is FollowUpStatus.OPEN:
            raise InvalidFact("closing needs status done or cancelled")

        def close(session: Session) -> FollowUp:
            row = session.scalar(select(FollowUpRow).where(FollowUpRow.key == key))
            if row is None:
                raise UnknownRecord(f"no follow-up {key!r}")
            if row.status != FollowUpStatus.OPEN.value:
                raise InvalidFact(f"follow-up {key} is already {row.status}")
            row.status = status.value
            row.closed_at = self._now()
            row.closing_note = note
            self._audit(session, "follow_up", who, f"{key} {status.value}: {note}")
            return _follow_up(row)

        result: FollowUp = self._run(close)
        return result

    def follow_ups(
        self, owner: str | None = None, status: FollowUpStatus | None = FollowUpStatus.OPEN
    ) -> list[FollowUp]:
        query = select(FollowUpRow).order_by(FollowUpRow.due_at)
        if owner is not None:
            query = query.where(FollowUpRow.owner == owner)
        if status is not None:
            query = query.where(FollowUpRow.status == status.value)
        result: list[FollowUp] = self._run(
            lambda s: [_follow_up(r) for r in s.scalars(query)], write=False
        )
        return result

    def report_event(self, reporter: str, summary: str, call_key: str | None = None) -> str:
        """An emergency report (through the outbox, when one is attached); returns its key."""
        if not summary.strip():
            raise InvalidFact("an event report needs a summary")
        key = _key()
        self._submit(
            "event",
            {
                "key": key,
                "reporter": reporter,
                "summary": summary,
                "call_key": call_key,
                "at": _iso(self._now()),
            },
        )
        return key

    def event_reports(self) -> list[EventReport]:
        result: list[EventReport] = self._run(
            lambda s: [
                EventReport(r.key, r.call_key, r.reporter, r.summary, r.at)
                for r in s.scalars(select(EventReportRow).order_by(EventReportRow.seq))
            ],
            write=False,
        )
        return result

    def audit(self, action: str, who: str, detail: str) -> None:
        """Log an export, verification, override or purge in the chained audit log."""
        self._run(lambda s: self._audit(s, action, who, detail))

    def log_security_event(self, kind: str, source: str, method: str, count: int,
                           detail: str, at: datetime | None = None) -> None:
        """Requests that were no call (a scanner, garbage) in the security log: its own
        chain (`~security`), through the outbox like every fact of the line."""
        if count < 1:
            raise InvalidFact(f"a security event stands for at least one request, not {count}")
        reason = cut_text("detail", detail, 200) if len(detail) > 200 else detail
        self._submit("security", {
            "key": _key(), "action": f"security:{kind}"[:32], "who": source[:64],
            "detail": f"{count} {method[:16]}: {reason}", "at": _iso(at or self._now()),
        })

    def security_summary(self, since: datetime, until: datetime | None = None
                         ) -> SecuritySummary:
        """The security log from `since` (to `until`): requests, hosts, kinds."""
        query = (select(AuditRow.at, AuditRow.action, AuditRow.who, AuditRow.detail)
                 .where(AuditRow.chain == SECURITY_CHAIN, AuditRow.at >= since))
        if until is not None:
            query = query.where(AuditRow.at < until)

        def load(session: Session) -> SecuritySummary:
            requests, by_kind, sources, last = 0, dict[str, int](), set[str](), None
            for at, action, who, detail in session.execute(query):
                head = detail.split(" ", 1)[0]
                n = int(head) if head.isdigit() else 1
                kind = action.partition(":")[2]
                requests += n
                by_kind[kind] = by_kind.get(kind, 0) + n
                sources.add(who)
                last = at if last is None or at > last else last
            return SecuritySummary(requests, len(sources), by_kind, last)

        result: SecuritySummary = self._run(load, write=False)
        return result

    def raise_alarm(self, kind: str, detail: str, who: str = "console",
                    at: datetime | None = None) -> None:
        """An alarm in the audit log (`alarm:<kind>`), written the call path's way: through
        the outbox when one is attached, so raising it never waits for the database."""
        self._submit("audit", {"key": _key(), "action": f"alarm:{kind}", "who": who,
                               "detail": detail, "at": _iso(at or self._now())})

    def _audit(self, session: Session, action: str, who: str, detail: str) -> None:
        row = AuditRow(key=_key(), action=action, who=who, detail=detail, at=self._now())
        self._link(session, ADMIN_CHAIN, row)
        session.add(row)

    def audit_log(self) -> list[AuditEntry]:
        """The audit log (its own chain); the security log is `security_log`."""
        query = select(AuditRow).where(AuditRow.chain != SECURITY_CHAIN).order_by(AuditRow.seq)
        result: list[AuditEntry] = self._run(
            lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
            write=False,
        )
        return result

    def audit_entries(self, action: str, since: datetime) -> list[AuditEntry]:
        """The audit log's entries of one `action` (e.g. `alarm:follow_up_unowned`) since
        `since`, oldest first: what a screen lists without reading the whole log."""
        query = (select(AuditRow).where(AuditRow.chain == ADMIN_CHAIN, AuditRow.action == action,
                                        AuditRow.at >= since).order_by(AuditRow.seq))
        result: list[AuditEntry] = self._run(
            lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
            write=False,
        )
        return result

    def security_log(self, since: datetime | None = None) -> list[AuditEntry]:
        """The security log's reports in order (action `security:<kind>`, who: the source)."""
        query = select(AuditRow).where(AuditRow.chain == SECURITY_CHAIN).order_by(AuditRow.seq)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        result: list[AuditEntry] = self._run(
            lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
            write=False,
        )
        return result

    # ---------------------------------------------------------------- integrity

    def chain_heads(self) -> list[Anchor]:
        """The head of every chain, as anchors to print (MAC'd if the store has a key)."""
        result: list[Anchor] = self._run(
            lambda s: [
                self._make_anchor(h.chain, h.seq, h.row_hash)
                for h in s.scalars(select(ChainHeadRow).order_by(ChainHeadRow.chain))
            ],
            write=False,
        )
        return result

    def record_anchors(self, purpose: str) -> list[Anchor]:
        """Store the current chain heads as anchors (handover, sign-off, export)."""
        result: list[Anchor] = self._run(lambda s: self._anchor(s, purpose))
        return result

    def _make_anchor(self, chain: str, seq: int, row_hash: str) -> Anchor:
        mac = anchor_mac(self.hmac_key, chain, seq, row_hash) if self.hmac_key else None
        return Anchor(chain, seq, row_hash, mac)

    def _anchor(self, session: Session, purpose: str) -> list[Anchor]:
        anchors = []
        for head in session.scalars(select(ChainHeadRow).order_by(ChainHeadRow.chain)):
            anchor = self._make_anchor(head.chain, head.seq, head.row_hash)
            session.add(
                AnchorRow(
                    chain=anchor.chain,
                    seq=anchor.seq,
                    row_hash=anchor.row_hash,
                    mac=anchor.mac,
                    purpose=purpose,
                    at=self._now(),
                )
            )
            anchors.append(anchor)
        return anchors

    def verify(
        self,
        anchors: Iterable[Anchor] = (),
        batch: int = 5000,
        *,
        progress: Callable[[int, int], None] | None = None,
        progress_every: int = 2000,
    ) -> VerifyReport:
        """Walk every chain; name the first record whose content, link or anchor fails.

        With `progress`, `progress(done, total)` is called before the walk (0, total),
        after every `progress_every` records checked, and once at the end (where a broken
        chain stops the walk, `done` stays short of `total`). `total` is the chained
        records counted in the same read at the start; records sealed meanwhile (a
        PostgreSQL walk reads new rows) raise it, never make `done` pass it.
        """
        if progress is not None and (isinstance(progress_every, bool) or progress_every < 1):
            raise InvalidFact(f"verify: progress_every={progress_every!r}, must be at least 1")
        external = list(anchors)
        with self._session(write=False) as session:
            try:
                return _verify(self, session, external, batch, progress, progress_every)
            except SQLAlchemyError as exc:
                raise classify(exc, self.url) from exc


# -------------------------------------------------------------------- outbox operations


def _facts_json(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in facts.items()}


def _facts_from_json(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_iso(v) if k in _DATETIME_FACTS else v for k, v in facts.items()}


def _apply_open(store: DutyRecord, conn: Connection, args: dict[str, Any]) -> None:
    ring_at = _from_iso(args["ring_at"])
    assert ring_at is not None
    values = {
        "key": args["key"],
        "line": args["line"],
        "ring_at": ring_at,
        "ring_hour": ring_at.astimezone(store.tz).hour,
        **args["facts"],
    }
    # A replayed open finds its row there already: nothing to do (exactly once).
    conn.execute(_open_insert(conn.dialect.name), values)


@functools.lru_cache(maxsize=2)
def _open_insert(dialect: str) -> Any:
    """INSERT of a new call row that does nothing if its key is there (a replayed open).

    Built once per dialect; the values come as parameters (their keys pick the columns).
    """
    insert = _insert_for(dialect)
    return insert(_CALLS).on_conflict_do_nothing(index_elements=[_CALLS.c.key])


def _insert(conn: Connection) -> Any:
    return _insert_for(conn.dialect.name)


def _insert_for(dialect: str) -> Any:
    """The dialect's INSERT (it has ON CONFLICT DO NOTHING); PostgreSQL's loaded on use."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    return sqlite_insert


def _sealed(key: str, sealed_at: datetime) -> SealedRecordError:
    return SealedRecordError(
        f"call {key} was sealed at {sealed_at:%Y-%m-%d %H:%M:%S}; "
        "corrections are amendments (amend)"
    )


def _open_row(conn: Connection, args: dict[str, Any]) -> dict[str, Any] | None:
    """The open call of `args["key"]` as a dict, None if sealed and replayed; else raises."""
    found = conn.execute(_CALL_BY_KEY, {"b_key": args["key"]}).mappings().first()
    if found is None:
        raise UnknownRecord(f"no call with key {args['key']!r}")
    return _still_open(found, args)


def _still_open(found: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """`found` (a call's row mapping) as a dict if open; None if sealed and replayed."""
    if found["sealed_at"] is not None:
        if args.get("live"):
            raise _sealed(found["key"], found["sealed_at"])
        return None  # replayed after its seal: already applied
    return dict(found)


def _apply_update(store: DutyRecord, conn: Connection, args: dict[str, Any]) -> None:
    facts = _facts_from_json(args["facts"])
    if facts:
        done = conn.execute(_UPDATE_OPEN, {**facts, "b_key": args["key"]})
        if done.rowcount == 1:
            return
    _open_row(conn, args)  # says why nothing was updated (unknown, or sealed)


def _apply_seal(store: DutyRecord, conn: Connection, args: dict[str, Any]) -> None:
    head: tuple[int, str] | None = None
    row: dict[str, Any] | None
    if conn.dialect.name == "postgresql":
        # The call and its line's chain head (locked) in one statement; no row if either
        # is missing (unknown key, or the line's first link): the general path says which.
        found = conn.execute(_CALL_AND_HEAD, {"b_key": args["key"]}).mappings().first()
        if found is not None:
            row = _still_open(found, args)
            if row is None:
                return  # replayed twice
            head = (int(row.pop("head_seq")) + 1, str(row.pop("head_hash")))
    if head is None:
        row = _open_row(conn, args)
        if row is None:
            return  # replayed twice
    assert row is not None
    facts = _facts_from_json(args["facts"])
    store._seal_row(conn, row, facts, _from_iso(args["sealed_at"]), head)


def _apply_agent_state(store: DutyRecord, session: Session, args: dict[str, Any]) -> None:
    if session.scalar(select(AgentStateRow.id).where(AgentStateRow.key == args["key"])):
        return
    if session.get(AgentRow, args["agent_id"]) is None:
        raise UnknownRecord(f"no agent {args['agent_id']!r}")
    row = AgentStateRow(
        key=args["key"],
        agent_id=args["agent_id"],
        state=args["state"],
        reason=args["reason"],
        at=_from_iso(args["at"]),
    )
    store._link(session, AGENTS_CHAIN, row)
    session.add(row)


def _apply_event(store: DutyRecord, session: Session, args: dict[str, Any]) -> None:
    if session.scalar(select(EventReportRow.id).where(EventReportRow.key == args["key"])):
        return
    row = EventReportRow(
        key=args["key"],
        call_key=args["call_key"],
        reporter=args["reporter"],
        summary=args["summary"],
        at=_from_iso(args["at"]),
    )
    store._link(session, ADMIN_CHAIN, row)
    session.add(row)


def _apply_follow_up(store: DutyRecord, session: Session, args: dict[str, Any]) -> None:
    if session.scalar(select(FollowUpRow.id).where(FollowUpRow.key == args["key"])):
        return
    store._require_agent(session, args["owner"])
    session.add(FollowUpRow(
        key=args["key"],
        call_key=args["call_key"],
        owner=args["owner"],
        description=args["description"],
        due_at=_from_iso(args["due_at"]),
        status=FollowUpStatus.OPEN.value,
        created_at=_from_iso(args["at"]),
    ))


def _audit_row_into(chain: str) -> Callable[[DutyRecord, Session, dict[str, Any]], None]:
    """An outbox entry that becomes an audit row of `chain` (the audit log's alarms, or the
    security log), exactly once by its key."""

    def apply(store: DutyRecord, session: Session, args: dict[str, Any]) -> None:
        if session.scalar(select(AuditRow.id).where(AuditRow.key == args["key"])):
            return
        row = AuditRow(key=args["key"], action=args["action"], who=args["who"],
                       detail=args["detail"], at=_from_iso(args["at"]))
        store._link(session, chain, row)
        session.add(row)

    return apply


_apply_audit = _audit_row_into(ADMIN_CHAIN)
_apply_security = _audit_row_into(SECURITY_CHAIN)


_CORE_APPLY: dict[str, Callable[[DutyRecord, Connection, dict[str, Any]], None]] = {
    "open": _apply_open,
    "update": _apply_update,
    "seal": _apply_seal,
}
"""Call-path writes that are plain Core statements: run live on a bare connection."""
_ONE_STATEMENT = frozenset({"open", "update"})
"""Call-path writes that send one statement when live (an update that finds nothing reads
once more to say why: still a single write)."""


def _on_session(
    fn: Callable[[DutyRecord, Connection, dict[str, Any]], None],
) -> Callable[[DutyRecord, Session, dict[str, Any]], None]:
    return lambda store, session, args: fn(store, session.connection(), args)


_APPLY: dict[str, Callable[[DutyRecord, Session, dict[str, Any]], None]] = {
    **{op: _on_session(fn) for op, fn in _CORE_APPLY.items()},
    "agent_state": _apply_agent_state,
    "event": _apply_event,
    "follow_up": _apply_follow_up,
    "audit": _apply_audit,
    "security": _apply_security,
}


def _unused(_session: Session) -> None:
    raise AssertionError("a Core statement runs on its bare connection, not in a session")


# -------------------------------------------------------------------- row → value


_CALLS: Table = CallRow.__table__  # type: ignore[assignment]
_HEADS: Table = ChainHeadRow.__table__  # type: ignore[assignment]
_CALL_CANONICAL: tuple[str, ...] = canonical_columns(CallRow)
_CALL_ROW = [_CALLS.c.id, _CALLS.c.row_hash, *(_CALLS.c[name] for name in _CALL_CANONICAL)]
"""Every stored column of a call: what sealing reads to compute the link."""

# Call-path statements built once (building them per call cost more than the SQL).
_CALL_BY_KEY = select(*_CALL_ROW).where(_CALLS.c.key == bindparam("b_key"))
_UPDATE_OPEN = update(_CALLS).where(
    _CALLS.c.key == bindparam("b_key"), _CALLS.c.sealed_at.is_(None)
)
_SEAL_CALL = update(_CALLS).where(_CALLS.c.id == bindparam("b_id"), _CALLS.c.sealed_at.is_(None))
_HEAD = select(_HEADS.c.seq, _HEADS.c.row_hash).where(_HEADS.c.chain == bindparam("b_chain"))
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_SET_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.chain == bindparam("b_chain"))
    .values(seq=bindparam("b_seq"), row_hash=bindparam("b_hash"))
)
# PostgreSQL's seal in two statements: the call with its line's head, locked as `_claim`
# locks it; then the call's UPDATE carrying the head's UPDATE as a CTE.
_CALL_AND_HEAD = (
    select(*_CALL_ROW, _HEADS.c.seq.label("head_seq"), _HEADS.c.row_hash.label("head_hash"))
    .join_from(_CALLS, _HEADS, _HEADS.c.chain == _CALLS.c.line)
    .where(_CALLS.c.key == bindparam("b_key"))
    .with_for_update(of=_HEADS)
)


@functools.lru_cache(maxsize=64)
def _seal_call_and_head(names: frozenset[str]) -> Any:
    """The call's sealing UPDATE of `names` (values bound as `v_<name>`) with the head's.

    The values are bound under names no column has: SQLAlchemy adds a SET for every
    parameter named like a column, and the head (chain, seq, row_hash) shares names with
    the call. Built once per set of changed columns (a few: the facts a seal brings).
    """
    c = _CALLS.c
    return (
        update(_CALLS)
        .where(c.id == bindparam("b_id"), c.sealed_at.is_(None))
        .values({c[name]: bindparam(f"v_{name}", type_=c[name].type) for name in sorted(names)})
        .add_cte(_SET_HEAD.cte("set_head"))
    )

_FILTER_FIELDS = ("since", "until", "line", "agent", "category", "outcome", "satisfaction")


def _filter_shape(flt: CallFilter) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A filter as the structure of its conditions and their values (bound parameters).

    The structure picks a statement built once (`_kpi_statements`); the values are sent
    as parameters, so a KPI query costs no statement building or cache-key walk per call.
    """
    shape: list[str] = []
    params: dict[str, Any] = {}
    for name in _FILTER_FIELDS:
        value = getattr(flt, name)
        if value is not None:
            shape.append(name)
            coerced = name in ("category", "outcome", "satisfaction")
            params[f"f_{name}"] = coerce_fact(name, value) if coerced else value
    if flt.unrated:
        shape.append("unrated")
    if flt.forwarded is not None:
        shape.append("forwarded" if flt.forwarded else "not_forwarded")
    if flt.hours is not None:
        start, end = flt.hours
        if not (0 <= start <= 23 and 0 <= end <= 24):
            raise InvalidFact(f"hours {flt.hours!r}: need (from, to) within 0..24")
        shape.append("hours" if start <= end else "hours_wrapped")
        params.update(f_h0=start, f_h1=end)
    return tuple(shape), params


def _shape_conds(shape: tuple[str, ...], sealed: bool = True) -> list[Any]:
    """The WHERE conditions of a filter shape, with bound parameters (as `_filtered`).

    With `sealed` (the figures), only sealed calls; without (the review), open ones too.
    """
    c = _CALLS.c
    conds: list[Any] = []
    for name in shape:
        if name == "since":
            conds.append(c.ring_at >= bindparam("f_since"))
        elif name == "until":
            conds.append(c.ring_at < bindparam("f_until"))
        elif name == "agent":
            conds.append(c.answered_by == bindparam("f_agent"))
        elif name in ("line", "category", "outcome", "satisfaction"):
            conds.append(c[name] == bindparam(f"f_{name}"))
        elif name == "unrated":
            conds.append(c.satisfaction.is_(None))
        elif name == "forwarded":
            conds.append(c.forwarded_to.is_not(None))
        elif name == "not_forwarded":
            conds.append(c.forwarded_to.is_(None))
        elif name == "hours":
            conds.append(and_(c.ring_hour >= bindparam("f_h0"), c.ring_hour < bindparam("f_h1")))
        elif name == "hours_wrapped":
            conds.append(or_(c.ring_hour >= bindparam("f_h0"), c.ring_hour < bindparam("f_h1")))
    if sealed:
        conds.append(c.sealed_at.is_not(None))
    return conds


@functools.lru_cache(maxsize=128)
def _kpi_statements(shape: tuple[str, ...]) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """Totals (with the follow-up counts), satisfaction and per-hour queries of a shape.

    Built once per filter shape: building and cache-keying three statements per call cost
    more than the SQL on PostgreSQL (month KPIs ×1.68 of the raw driver). The follow-up
    counts ride in the totals row as scalar subqueries: three round trips, not four.
    """
    c = _CALLS.c
    fu = FollowUpRow.__table__.c
    answered = c.answered_at.is_not(None)
    # Callers, not legs: a seat's leg another seat answered is no call of its own (issue 13).
    conds = [*_shape_conds(shape), c.outcome.not_in(LEG_OUTCOME_VALUES)]

    def count_if(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    is_open = fu.status == FollowUpStatus.OPEN.value
    before = fu.created_at < bindparam("k_until")
    open_fu = select(count_if(is_open)).where(before).scalar_subquery()
    overdue_fu = (
        select(count_if(and_(is_open, fu.due_at < bindparam("k_now"))))
        .where(before)
        .scalar_subquery()
    )
    totals = select(
        func.count(),
        count_if(answered),
        count_if(and_(answered, c.seconds_to_answer <= bindparam("k_limit"))),
        count_if(c.outcome == CallOutcome.MISSED.value),
        count_if(c.outcome == CallOutcome.ABANDONED.value),
        count_if(c.outcome == CallOutcome.FORWARDED.value),
        count_if(c.outcome == CallOutcome.INTERRUPTED.value),
        func.avg(c.seconds_to_answer),
        func.avg(c.handling_seconds),
        open_fu,
        overdue_fu,
    ).where(*conds)
    sat = select(c.satisfaction, func.count()).where(*conds, answered).group_by(c.satisfaction)
    hours = select(c.ring_hour, func.count()).where(*conds).group_by(c.ring_hour)
    return totals, sat, hours


_RECORD_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(CallRecord) if f.name in CallRow.__table__.c
)
_RECORD_COLUMNS = [CallRow.__table__.c[name] for name in _RECORD_NAMES]


_OUTCOMES: dict[str | None, CallOutcome | None] = {o.value: o for o in CallOutcome}
_OUTCOMES[None] = None
_I_OUTCOME = _RECORD_NAMES.index("outcome")
if (*_RECORD_NAMES, "amended_fields") != tuple(f.name for f in fields(CallRecord)):
    raise ImportError("CallRecord's fields must be the call columns, then amended_fields")
_CallRecordBuilder = make_dataclass(
    "_CallRecordBuilder", [(f.name, Any) for f in fields(CallRecord)], slots=True
)
"""CallRecord's twin, not frozen: same slots in the same order, so an instance filled by
its plain `__init__` (one slot store per field, a fraction of a microsecond for all) can
become a CallRecord by `__class__` assignment, which CPython allows between classes whose
instances have the same layout. The frozen `__init__` (one `object.__setattr__` call per
field) cost most of a review's time. The result is an ordinary CallRecord: frozen, equal
to and hashing as one built by `CallRecord(...)`."""
if _CallRecordBuilder.__slots__ != CallRecord.__slots__:  # type: ignore[attr-defined]
    raise ImportError("_CallRecordBuilder must have CallRecord's slots, in its order")


def _record_from_row(row: Any) -> CallRecord:
    """A CallRecord from a Core row of `_RECORD_COLUMNS` (no ORM objects: fast review).

    The columns arrive typed by the table (aware UTC times, ints, floats, text); only the
    outcome text becomes its enum.
    """
    values = list(row)
    try:
        values[_I_OUTCOME] = _OUTCOMES[values[_I_OUTCOME]]
    except (KeyError, TypeError):  # written behind the store's back, or damaged
        raise CorruptDatabase(
            f"call {values[0]} has outcome {values[_I_OUTCOME]!r}, which the console does "
            "not know; the row was changed outside the console: run `duty-console verify`"
        ) from None
    record: Any = _CallRecordBuilder(*values, ())
    record.__class__ = CallRecord
    return cast(CallRecord, record)


_AMENDMENTS: Table = AmendmentRow.__table__  # type: ignore[assignment]
_AMENDMENT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Amendment))


def _amendment_from_row(row: Any) -> Amendment:
    """An Amendment from Core columns in `_AMENDMENT_NAMES` order."""
    return Amendment(*row)


# -------------------------------------------------------------------- fast reads
#
# The review's reads (`calls`, `get_call`, `gate_post_calls`, the call log's pages and
# counts) run a statement compiled once per dialect and filter shape, sent with
# `exec_driver_sql` on a Core connection (no ORM session, no per-call statement building
# or cache-key walk, no per-value result processors; SQLAlchemy's cursor events still see
# every statement), and turn the driver's rows into records here: times in one C call
# each, outcomes by a dict lookup, one dict per record. Whether a call has amendments
# (rare) rides along as an EXISTS column; they are read only for the calls that have some.

_TIME_NAMES: tuple[str, ...] = tuple(
    name for name in _RECORD_NAMES if isinstance(_CALLS.c[name].type, UtcDateTime)
)
if _TIME_NAMES != ("ring_at", "answered_at", "ended_at", "forwarded_at", "sealed_at"):
    raise ImportError(f"_records_from converts five times by name; the model has {_TIME_NAMES}")
_HAS_AMENDMENTS = exists().where(_AMENDMENTS.c.call_key == _CALLS.c.key).label("amended")
"""True when the call has at least one amendment (the amendments' call_key index)."""
_fromiso = datetime.fromisoformat


def sqlite_time(value: str) -> datetime:
    """A time as the store keeps it in SQLite (naive UTC text) as an aware UTC datetime."""
    return _fromiso(value + "+00:00")


def server_time(value: datetime) -> datetime:
    """A `timestamptz` from the driver as an aware UTC datetime."""
    zone = value.tzinfo
    if zone is UTC:
        return value
    return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)


def time_reader(dialect: Dialect) -> Callable[[Any], datetime]:
    """How the driver's time values become aware UTC datetimes on this dialect."""
    return sqlite_time if dialect.name == "sqlite" else server_time


@dataclass(frozen=True)
class ReadStatement:
    """A SELECT compiled once for one dialect, run with `DutyRecord.read`."""

    text: str
    order: tuple[str, ...] | None
    """Parameter names in placeholder order (positional paramstyles), else None."""
    defaults: dict[str, Any]
    """Values SQLAlchemy bound while compiling (literals of the statement)."""
    sqlite: bool

    def args(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters: times as the column types bind them, in order."""
        merged = {**self.defaults, **values}
        for name, value in merged.items():
            if isinstance(value, datetime):
                if value.tzinfo is None:
                    raise InvalidFact(f"{name.removeprefix('f_')}: needs a time zone, got {value}")
                value = value.astimezone(UTC)
                merged[name] = (
                    value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
                    if self.sqlite
                    else value
                )
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)


_COMPILED: dict[tuple[Any, ...], ReadStatement] = {}
_COMPILED_MAX = 1024


def read_statement(
    dialect: Dialect, key: tuple[Any, ...], build: Callable[[], Select[Any]]
) -> ReadStatement:
    """`build()` compiled for `dialect`, once per `key` (a filter shape, not its values)."""
    full = (dialect.name, dialect.paramstyle, *key)
    found = _COMPILED.get(full)
    if found is None:
        compiled = build().compile(dialect=dialect)
        order = compiled.positiontup
        found = ReadStatement(
            str(compiled),
            tuple(order) if order is not None else None,
            {k: v for k, v in compiled.params.items() if v is not None},
            dialect.name == "sqlite",
        )
        if len(_COMPILED) < _COMPILED_MAX:  # shapes are few; never grow without bound
            _COMPILED[full] = found
    return found


def corrupt_call(
    names: tuple[str, ...], row: Any, to_time: Callable[[Any], datetime]
) -> CorruptDatabase:
    """The error for a call row the console cannot read, naming the call and the column."""
    values = dict(zip(names, row, strict=False))
    key = values.get("key")
    after = "the row was changed outside the console: run `duty-console verify`"
    for name, value in values.items():
        if value is not None and isinstance(_CALLS.c[name].type, UtcDateTime):
            try:
                to_time(value)
            except (TypeError, ValueError, AttributeError, OverflowError):
                return CorruptDatabase(f"call {key} has {name} {value!r}, not a time; {after}")
    return CorruptDatabase(
        f"call {key} has outcome {values.get('outcome')!r}, which the console does not know; "
        + after
    )


def _records_from(rows: Sequence[Any], to_time: Callable[[Any], datetime]) -> list[CallRecord]:
    """CallRecords from driver rows of `_RECORD_COLUMNS` (a trailing flag column is ignored).

    Each row's values are copied into a list, the five times converted by position (no
    loop: this runs for every row of a review; on SQLite the parse is inlined, the same as
    `sqlite_time`) and the outcome text mapped to its enum, then the record is built by
    its slotted twin (`_CallRecordBuilder`, see there) and becomes a CallRecord.
    """
    if not rows:
        return []
    width = len(_RECORD_NAMES)
    flagged = len(rows[0]) > width  # the EXISTS column: its place takes amended_fields
    i_ring, i_answered, i_ended, i_forwarded, i_sealed, i_outcome = _RECORD_INDEX
    sqlite = to_time is sqlite_time
    parse, utc, outcomes, utc_zone = _fromiso, "+00:00", _OUTCOMES, UTC
    build, cls = _CallRecordBuilder, CallRecord
    records: list[CallRecord] = []
    append = records.append
    for row in rows:
        v = list(row)
        try:
            if sqlite:
                v[i_ring] = parse(v[i_ring] + utc)
                if (x := v[i_answered]) is not None:
                    v[i_answered] = parse(x + utc)
                if (x := v[i_ended]) is not None:
                    v[i_ended] = parse(x + utc)
                if (x := v[i_forwarded]) is not None:
                    v[i_forwarded] = parse(x + utc)
                if (x := v[i_sealed]) is not None:
                    v[i_sealed] = parse(x + utc)
            else:  # sessions run in UTC: psycopg's times come as they should be, as a rule
                if (x := v[i_ring]).tzinfo is not utc_zone:
                    v[i_ring] = to_time(x)
                if (x := v[i_answered]) is not None and x.tzinfo is not utc_zone:
                    v[i_answered] = to_time(x)
                if (x := v[i_ended]) is not None and x.tzinfo is not utc_zone:
                    v[i_ended] = to_time(x)
                if (x := v[i_forwarded]) is not None and x.tzinfo is not utc_zone:
                    v[i_forwarded] = to_time(x)
                if (x := v[i_sealed]) is not None and x.tzinfo is not utc_zone:
                    v[i_sealed] = to_time(x)
            v[i_outcome] = outcomes[v[i_outcome]]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise corrupt_call(_RECORD_NAMES, row, to_time) from None
        if flagged:
            v[width] = ()
        else:
            v.append(())
        record = build(*v)
        record.__class__ = cls
        append(record)
    return records


_RECORD_INDEX = tuple(_RECORD_NAMES.index(name) for name in (*_TIME_NAMES, "outcome"))


_AMENDMENTS_BY_KEY = (
    select(*(_AMENDMENTS.c[name] for name in _AMENDMENT_NAMES))
    .where(_AMENDMENTS.c.call_key.in_(bindparam("keys", expanding=True)))
    .order_by(_AMENDMENTS.c.seq)
)


def amendments_by_key(conn: Connection, keys: list[str]) -> dict[str, list[Amendment]]:
    """The amendments of these calls, oldest first, by call key (500 keys a statement)."""
    found: dict[str, list[Amendment]] = {}
    for start in range(0, len(keys), 500):
        for row in conn.execute(_AMENDMENTS_BY_KEY, {"keys": keys[start : start + 500]}):
            found.setdefault(row[1], []).append(Amendment(*row))
    return found


def _amended_records(
    conn: Connection, rows: Sequence[Any], records: list[CallRecord]
) -> list[CallRecord]:
    """`records` with their amendments applied, read only for rows whose flag is set."""
    width = len(_RECORD_NAMES)
    keys = [row[0] for row in rows if row[width]]
    if not keys:
        return records
    found = amendments_by_key(conn, keys)
    return [_apply_amendments(r, found[r.key]) if r.key in found else r for r in records]


def _gate_post_statement() -> Select[Any]:
    c = _CALLS.c
    return (
        select(*_RECORD_COLUMNS, _HAS_AMENDMENTS)
        .where(c.ring_at >= bindparam("f_since"), c.ring_at < bindparam("f_until"))
        .where(
            or_(
                c.forwarded_to.is_not(None),
                c.outcome == CallOutcome.FORWARDED.value,
                c.answered_by == "gate_post",
            )
        )
        .order_by(c.ring_at, c.id)
    )


def _calls_statement(shape: tuple[str, ...], amended: bool, limited: bool) -> Select[Any]:
    c = _CALLS.c
    query = select(*_RECORD_COLUMNS, *((_HAS_AMENDMENTS,) if amended else ()))
    conds = _shape_conds(shape, sealed=False)
    if conds:
        query = query.where(*conds)
    query = query.order_by(c.ring_at, c.id)
    return query.limit(bindparam("f_limit", type_=Integer)) if limited else query


def _call_record(row: CallRow) -> CallRecord:
    return CallRecord(
        key=row.key,
        line=row.line,
        ring_at=row.ring_at,
        sip_call_id=row.sip_call_id,
        caller_number=row.caller_number,
        caller_display=row.caller_display,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        rings=row.rings,
        seconds_to_answer=row.seconds_to_answer,
        handling_seconds=row.handling_seconds,
        answered_by=row.answered_by,
        outcome=CallOutcome(row.outcome) if row.outcome else None,
        category=row.category,
        caller_name=row.caller_name,
        contact=row.contact,
        address=row.address,
        content=row.content,
        action=row.action,
        result=row.result,
        satisfaction=row.satisfaction,
        forwarded_to=row.forwarded_to,
        forward_method=row.forward_method,
        forward_result=row.forward_result,
        forwarded_at=row.forwarded_at,
        follow_up=row.follow_up,
        recording=row.recording,
        notes=row.notes,
        step=row.step,
        end_reason=row.end_reason,
        sealed_at=row.sealed_at,
        seq=row.seq,
        row_hash=row.row_hash,
        seat=row.seat,
    )


def _amendment(row: AmendmentRow) -> Amendment:
    return Amendment(
        row.key, row.call_key, row.field, row.old_value, row.new_value, row.who, row.why, row.at
    )


def _amendments_of(session: Session, keys: list[str]) -> dict[str, list[Amendment]]:
    found: dict[str, list[Amendment]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(AmendmentRow).where(AmendmentRow.call_key.in_(chunk))
        for row in session.scalars(query.order_by(AmendmentRow.seq)):
            found.setdefault(row.call_key, []).append(_amendment(row))
    return found


def _apply_amendments(record: CallRecord, amendments: list[Amendment]) -> CallRecord:
    if not amendments:
        return record
    changes: dict[str, Any] = {}
    for a in amendments:
        value: Any = coerce_fact(a.field, a.new_value) if a.new_value is not None else None
        if a.field == "outcome" and value is not None:
            value = CallOutcome(value)
        changes[a.field] = value
    if "answered_at" in changes:
        answered = changes["answered_at"]
        changes["seconds_to_answer"] = (
            None if answered is None else round((answered - record.ring_at).total_seconds(), 3)
        )
    return replace(record, **changes, amended_fields=tuple(sorted(changes)))


def _agent(row: AgentRow) -> Agent:
    return Agent(row.agent_id, row.name, AgentRole(row.role), row.active, row.locked_until)


def _follow_up(row: FollowUpRow) -> FollowUp:
    return FollowUp(
        key=row.key,
        call_key=row.call_key,
        owner=row.owner,
        description=row.description,
        due_at=row.due_at,
        status=FollowUpStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        closing_note=row.closing_note,
    )


def _signatures(session: Session, handover_key: str) -> list[SignatureRow]:
    return list(
        session.scalars(
            select(SignatureRow)
            .where(SignatureRow.handover_key == handover_key)
            .order_by(SignatureRow.seq)
        )
    )


# -------------------------------------------------------------------- verify

_Link = tuple[int, str, dict[str, Any], str | None, str | None]
"""(seq, table, content, row_hash, key) of one link, as `verify` walks it."""


@dataclass(frozen=True)
class _BadValue:
    """A stored value that no writer of ours could have stored (a time that is not a time)."""

    column: str
    text: str


def _raw_time(column: str) -> Callable[[Any], Any]:
    """SQLite keeps times as text: read it ourselves so damaged text is a finding, not a crash."""

    def read(value: Any) -> Any:
        if value is None:
            return None
        try:
            return sqlite_time(value)
        except (TypeError, ValueError):
            return _BadValue(column, str(value))

    return read


def _link_columns(session: Session, model: Any, names: Sequence[str]) -> list[Any]:
    """The columns `verify` reads; on SQLite the times as their raw text."""
    table = model.__table__
    sqlite = session.get_bind().dialect.name == "sqlite"
    return [
        type_coerce(table.c[n], String())
        if sqlite and isinstance(table.c[n].type, UtcDateTime)
        else table.c[n]
        for n in names
    ]


_BAD = "~bad"
"""Key of the first `_BadValue` in a link's content, so the walk finds it in one look-up."""


def _readers(session: Session, model: Any, names: Sequence[str]) -> dict[int, Any]:
    if session.get_bind().dialect.name != "sqlite":
        return {}
    table = model.__table__
    return {
        i: _raw_time(n) for i, n in enumerate(names) if isinstance(table.c[n].type, UtcDateTime)
    }


def _rows_of(
    session: Session, model: Any, where: Any, batch: int, key_of: Callable[[dict[str, Any]], Any]
) -> Iterator[_Link]:
    names = canonical_columns(model)
    table = model.__table__
    readers = _readers(session, model, names)
    query = (
        select(*_link_columns(session, model, names), table.c.row_hash)
        .where(where, table.c.seq.is_not(None))
        .order_by(table.c.seq)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        content = dict(zip(names, row[:-1], strict=True))
        for i, read in readers.items():
            value = content[names[i]] = read(row[i])
            if isinstance(value, _BadValue):
                content[_BAD] = value
        yield content["seq"], table.name, content, row[-1], key_of(content)


def _chain_rows(session: Session, chain: str, batch: int) -> Iterator[_Link]:
    """(seq, table, content, row_hash, key) of every link of one chain, in seq order."""
    yield from heapq.merge(
        *(
            _rows_of(session, m, m.__table__.c.chain == chain, batch, lambda c: c.get("key"))
            for m in CHAINED
        ),
        key=lambda item: item[0],
    )


def _checkpoint_rows(session: Session, batch: int) -> Iterator[_Link]:
    """The links of the chain of checkpoints, in seq order (key: chain and seq covered)."""
    return _rows_of(
        session,
        CheckpointRow,
        true(),
        batch,
        lambda c: f"{c['chain']}..{c['upto_seq']}",
    )


def _verify(
    store: DutyRecord,
    session: Session,
    external: list[Anchor],
    batch: int,
    progress: Callable[[int, int], None] | None = None,
    every: int = 2000,
) -> VerifyReport:
    total = 0
    if progress is not None:
        linked: tuple[type[Any], ...] = (*CHAINED, CheckpointRow)
        for model in linked:
            total += int(session.scalar(select(func.count()).where(model.seq.is_not(None))) or 0)
        progress(0, total)
        report = _verify_chains(store, session, external, batch, progress, every, total)
        progress(report.checked, max(total, report.checked))
        return report
    return _verify_chains(store, session, external, batch, None, every, 0)


@dataclass
class _Walk:
    """One chain's walk: where it stands and what it found."""

    chain: str
    expected_seq: int
    prev: str
    count: int = 0
    problem: str | None = None
    hashes: dict[int, str] | None = None
    """With a dict, each seq's verified hash is kept (the chain of checkpoints)."""


def _walk(
    walk: _Walk,
    links: Iterable[_Link],
    anchors: dict[int, list[Anchor]],
    tick: Callable[[], None],
) -> None:
    """Check each link of one chain in order; stop at the first that fails."""
    chain = walk.chain
    for seq, table, content, row_hash, key in links:
        where = f"{table} key={key} seq={seq} (chain {chain})"
        if seq != walk.expected_seq:
            if seq > walk.expected_seq:
                gone = (
                    f"seq {walk.expected_seq}"
                    if seq == walk.expected_seq + 1
                    else f"seq {walk.expected_seq}–{seq - 1}"
                )
                walk.problem = (
                    f"{where}: expected seq {walk.expected_seq} — record(s) missing ({gone})"
                )
            else:
                walk.problem = (
                    f"{where}: expected seq {walk.expected_seq} — record(s) duplicate or reordered"
                )
            return
        bad = content.get(_BAD)
        if bad is not None:
            walk.problem = (
                f"{where}: {bad.column} holds {bad.text[:60]!r}, which is not a time — "
                "changed outside the console, or damaged"
            )
            return
        if content["prev_hash"] != walk.prev:
            walk.problem = f"{where}: link to the previous record is broken"
            return
        computed = link_hash(walk.prev, table, content)
        if computed != row_hash:
            walk.problem = f"{where}: content does not match its hash (changed)"
            return
        for a in anchors.get(seq, ()):
            if a.row_hash != computed:
                walk.problem = f"{where}: differs from anchor {a.text()}"
                return
        if walk.hashes is not None:
            walk.hashes[seq] = computed
        walk.prev = computed
        walk.expected_seq += 1
        walk.count += 1
        tick()


def _walk_end(session: Session, walk: _Walk, anchors: dict[int, list[Anchor]]) -> None:
    """After a clean walk: no anchor past the end, and the head where the links end."""
    if walk.problem is not None:
        return
    last = walk.expected_seq - 1
    beyond = [s for s in anchors if s > last]
    if beyond:
        walk.problem = (
            f"chain {walk.chain} ends at seq {last} but anchor {anchors[max(beyond)][0].text()} "
            "was recorded: records cut off at the end"
        )
        return
    head = session.get(ChainHeadRow, walk.chain)
    if head is not None and (head.seq != last or head.row_hash != walk.prev):
        walk.problem = (
            f"chain {walk.chain}: head says seq {head.seq} but the records end at seq {last}"
        )


def _joined(first: str | None, then: str | None) -> str | None:
    if first is None or then is None:
        return first or then
    return f"{first}; and under it: {then}"


def _verify_checkpoints(
    session: Session,
    anchors: dict[int, list[Anchor]],
    batch: int,
    tick: Callable[[], None],
) -> tuple[_Walk, dict[str, CheckpointRow]]:
    """Walk the chain of checkpoints; the latest checkpoint per chain among those that hold.

    A checkpoint outside the chain, or at or after the first broken link, is not trusted:
    `verify` then walks that chain from the checkpoint before it (or its start), so records
    deleted under a forged checkpoint show up as missing.
    """
    walk = _Walk(CHECKPOINT_CHAIN, 1, GENESIS, hashes={})
    stray = session.scalar(
        select(CheckpointRow.id).where(CheckpointRow.seq.is_(None)).order_by(CheckpointRow.id)
    )
    _walk(walk, _checkpoint_rows(session, batch), anchors, tick)
    _walk_end(session, walk, anchors)
    if walk.problem is not None:
        walk.problem = f"checkpoint not made by the archive (forged or altered?): {walk.problem}"
    elif stray is not None:
        row = session.get(CheckpointRow, stray)
        assert row is not None
        walk.problem = (
            f"checkpoints id={stray} (chain {row.chain} up to seq {row.upto_seq}): checkpoint "
            "outside the chain of checkpoints — not made by the archive (forged?)"
        )
    trusted: dict[str, CheckpointRow] = {}
    good = walk.hashes or {}
    query = select(CheckpointRow).where(CheckpointRow.seq.is_not(None)).order_by(CheckpointRow.seq)
    for row in session.scalars(query):
        if row.seq not in good or good[row.seq] != row.row_hash:
            break
        last = trusted.get(row.chain)
        if last is not None and row.upto_seq <= last.upto_seq:
            walk.problem = walk.problem or (
                f"checkpoints seq={row.seq} (chain {row.chain}): ends at seq {row.upto_seq}, "
                f"not after the checkpoint before it (seq {last.upto_seq})"
            )
            break
        trusted[row.chain] = row
    return walk, trusted


def _verify_chains(
    store: DutyRecord,
    session: Session,
    external: list[Anchor],
    batch: int,
    progress: Callable[[int, int], None] | None,
    every: int,
    total: int,
) -> VerifyReport:
    chains: set[str] = set(session.scalars(select(ChainHeadRow.chain)))
    for model in CHAINED:
        chains.update(c for c in session.scalars(select(model.chain).distinct()) if c is not None)
    # A chained row without chain columns (other than a call not yet sealed) is a forgery.
    for model in CHAINED:
        cond = model.seq.is_(None)
        if model is CallRow:
            cond = and_(cond, CallRow.sealed_at.is_not(None))
        stray = session.scalar(select(model.key).where(cond).limit(1))
        if stray is not None:
            return VerifyReport(
                0, {}, f"{model.__tablename__} key={stray}: record outside any chain (forged?)"
            )
    # The anchor log's marks are checked against the log (console.store.integrity).
    stored = [
        Anchor(a.chain, a.seq, a.row_hash, a.mac)
        for a in session.scalars(select(AnchorRow).where(AnchorRow.chain != LOG_CHAIN))
    ]
    if store.hmac_key is not None:
        for a in stored:
            if a.mac is None or not hmac.compare_digest(
                a.mac, anchor_mac(store.hmac_key, a.chain, a.seq, a.row_hash)
            ):
                return VerifyReport(0, {}, f"anchor {a.text()} has no valid HMAC (forged?)")
    for a in external:
        if a.mac is not None and store.hmac_key is not None:
            if not hmac.compare_digest(
                a.mac, anchor_mac(store.hmac_key, a.chain, a.seq, a.row_hash)
            ):
                return VerifyReport(0, {}, f"given anchor {a.text()} has a wrong HMAC")
        chains.add(a.chain)
    chains.discard(CHECKPOINT_CHAIN)
    want: dict[str, dict[int, list[Anchor]]] = {}
    for a in (*stored, *external):
        want.setdefault(a.chain, {}).setdefault(a.seq, []).append(a)
    checked = 0

    def tick() -> None:
        nonlocal checked
        checked += 1
        if progress is not None and checked % every == 0:
            progress(checked, max(total, checked))

    per_chain: dict[str, int] = {}
    points, trusted = _verify_checkpoints(session, want.get(CHECKPOINT_CHAIN, {}), batch, tick)
    if points.count or points.problem:
        per_chain[CHECKPOINT_CHAIN] = points.count
    for chain in sorted(chains):
        checkpoint = trusted.get(chain)
        anchors = want.get(chain, {})
        walk = _Walk(
            chain,
            checkpoint.upto_seq + 1 if checkpoint else 1,
            checkpoint.upto_hash if checkpoint else GENESIS,
        )
        for seq in anchors:
            if checkpoint and seq == checkpoint.upto_seq:
                bad = [a for a in anchors[seq] if a.row_hash != checkpoint.upto_hash]
                if bad:
                    walk.problem = f"chain {chain}: checkpoint differs from anchor {bad[0].text()}"
        if walk.problem is None:
            _walk(walk, _chain_rows(session, chain, batch), anchors, tick)
            _walk_end(session, walk, anchors)
        if walk.problem is not None:
            return VerifyReport(checked, per_chain, _joined(points.problem, walk.problem))
        per_chain[chain] = walk.count
    return VerifyReport(checked, per_chain, points.problem)
