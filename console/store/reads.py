"""What the record reads for the screens, the figures and the exports.

Calls come back as frozen `CallRecord`s with their amendments applied (unless asked as
sealed); the figures (`kpis`) count values as sealed, callers not legs. Every read lets
this process's own pending writes land first (bounded, `RecordCore._settle`), so a screen
reads what its seat just wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from console.domain.caller_call import principal
from console.domain.ring import within_bound
from console.store.amendments import amended_records
from console.store.core import RecordCore, unused_session
from console.store.engine import classify
from console.store.errors import InvalidFact, StoreError, UnknownRecord
from console.store.models import AgentStateRow, AmendmentRow, AuditRow, CallRow, FollowUpRow
from console.store.statements import (
    AMENDMENT_NAMES,
    AMENDMENTS,
    CALLS,
    HAS_AMENDMENTS,
    RECORD_COLUMNS,
    RECORD_NAMES,
    ReadStatement,
    amendment_from_row,
    calls_statement,
    filter_shape,
    filtered,
    fold_figures,
    gate_post_statement,
    kpi_statements,
    principal_leg,
    read_statement,
    record_from_row,
    records_from,
    time_reader,
    window_values,
)
from console.store.values import Amendment, CallerCall, CallFilter, CallRecord, Kpis

_T = TypeVar("_T")


def get_call(store: RecordCore, key: str, amended: bool = True) -> CallRecord:
    """One call; with `amended`, the latest amendment of each field applied."""
    sql = read_statement(
        store.engine.dialect,
        ("call", amended),
        lambda: select(*RECORD_COLUMNS, *((HAS_AMENDMENTS,) if amended else ())).where(
            CALLS.c.key == bindparam("f_key")
        ),
    )
    to_time = time_reader(store.engine.dialect)

    def load(conn: Connection, rows: Sequence[Any]) -> CallRecord:
        if not rows:
            raise UnknownRecord(f"no call with key {key!r}")
        records = records_from(rows, to_time)
        return (amended_records(conn, rows, records) if amended else records)[0]

    return read(store, sql, {"f_key": key}, load)


def calls(
    store: RecordCore, flt: CallFilter | None = None, amended: bool = True
) -> list[CallRecord]:
    """Sealed and open calls matching the filter, oldest ring first."""
    flt = flt or CallFilter()
    shape, values = filter_shape(flt)
    limited = flt.limit is not None
    if flt.limit is not None:
        if isinstance(flt.limit, bool) or not isinstance(flt.limit, int) or flt.limit < 0:
            raise InvalidFact(f"limit {flt.limit!r}: a whole number, 0 or more")
        values["f_limit"] = flt.limit
    sql = read_statement(
        store.engine.dialect,
        ("calls", shape, amended, limited),
        lambda: calls_statement(shape, amended, limited),
    )
    to_time = time_reader(store.engine.dialect)

    def load(conn: Connection, rows: Sequence[Any]) -> list[CallRecord]:
        records = records_from(rows, to_time)
        return amended_records(conn, rows, records) if amended and records else records

    return read(store, sql, values, load)


def read(
    store: RecordCore,
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
    dbapi_error: Any = store.engine.dialect.loaded_dbapi.Error
    store._settle()
    try:
        with store._figures_engine.connect() as conn:
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
        raise classify(exc, store.url) from exc


def iter_sealed_calls(
    store: RecordCore, flt: CallFilter, batch: int = 1000
) -> Generator[tuple[CallRecord, list[Amendment]], None, None]:
    """Sealed calls matching `flt` (limit ignored), oldest ring first, with amendments.

    Each record carries its values as sealed; its amendments (oldest first) come beside
    it, not applied. One query for the whole period — every call LEFT JOINed to its
    amendments (rare), read `batch` rows at a time (a server-side cursor on PostgreSQL)
    — so an export of a month neither asks once per call nor holds the month in memory.
    The read transaction stays open while the caller consumes the iterator; closing it
    early (or an exception in the consumer) ends the transaction. Driver failures
    mid-read raise the `StoreError` a user can act on (e.g. `DatabaseUnavailable`).
    One row per caller's call, as `kpis` counts them: the leg that speaks for it
    (`statements.principal_leg`); the other seats' legs are left out.
    """
    amend = AMENDMENTS.alias("a")
    query = (
        filtered(select(*RECORD_COLUMNS), replace(flt, limit=None))
        .where(
            CallRow.sealed_at.is_not(None),
            principal_leg(window=_window(flt),
                          hashed=store.engine.dialect.name == "postgresql"),
        )
        .add_columns(*(amend.c[name] for name in AMENDMENT_NAMES))
        .outerjoin(amend, amend.c.call_key == CallRow.key)
        .order_by(CallRow.ring_at, CallRow.id, amend.c.seq)
        .execution_options(yield_per=max(1, batch))
    )
    width = len(RECORD_NAMES)
    try:
        with store._session(False) as session, session.begin():
            record: CallRecord | None = None
            found: list[Amendment] = []
            for row in session.connection().execute(query):
                if record is None or record.key != row[0]:
                    if record is not None:
                        yield record, found
                    record, found = record_from_row(row[:width]), []
                if row[width] is not None:
                    found.append(amendment_from_row(row[width:]))
            if record is not None:
                yield record, found
    except StoreError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise classify(exc, store.url) from exc


def _window(flt: CallFilter) -> tuple[Any, Any] | None:
    """The other legs' window of a filter with both bounds (values bound with it)."""
    if flt.since is None or flt.until is None:
        return None
    found = window_values(flt.since, flt.until)
    return (bindparam("g_since", found["g_since"], type_=CALLS.c.ring_at.type),
            bindparam("g_until", found["g_until"], type_=CALLS.c.ring_at.type))


def caller_call(store: RecordCore, key: str, amended: bool = True) -> CallerCall:
    """The caller's call that the leg `key` belongs to: every leg with its SIP Call-ID.

    The leg that speaks for it is picked by `console.domain.caller_call.principal`; if
    every leg was taken elsewhere (answered outside this record), the leg asked for.
    """
    c = CALLS.c
    same = select(c.sip_call_id).where(c.key == bindparam("f_key")).scalar_subquery()
    sql = read_statement(
        store.engine.dialect,
        ("caller_call", amended),
        lambda: select(*RECORD_COLUMNS, *((HAS_AMENDMENTS,) if amended else ()))
        .where((c.key == bindparam("f_key")) | (c.sip_call_id == same))
        .order_by(c.ring_at, c.id),
    )
    to_time = time_reader(store.engine.dialect)

    def load(conn: Connection, rows: Sequence[Any]) -> CallerCall:
        if not rows:
            raise UnknownRecord(f"no call with key {key!r}")
        records = records_from(rows, to_time)
        if amended:
            records = amended_records(conn, rows, records)
        return _caller(records, key)

    return read(store, sql, {"f_key": key}, load)


def _caller(legs: list[CallRecord], key: str | None = None) -> CallerCall:
    """The caller's call of `legs` (oldest ring first); the leg `key` if none speaks."""
    found = principal(legs)
    if found is None:
        found = next((i for i, leg in enumerate(legs) if leg.key == key), 0)
    return CallerCall(legs[found], tuple(legs))


def caller_calls(
    store: RecordCore, since: datetime, until: datetime, line: str | None = None
) -> list[CallerCall]:
    """The caller's calls whose legs rang in [since, until), oldest first (open ones too).

    The legs are grouped by SIP Call-ID (a leg without one is a call of its own); a call
    whose every leg was taken elsewhere was answered outside this record and is left out,
    as `kpis` leaves it out.
    """
    groups: dict[str, list[CallRecord]] = {}
    for leg in calls(store, CallFilter(since=since, until=until, line=line)):
        groups.setdefault(leg.sip_call_id or f"~{leg.key}", []).append(leg)
    found = [CallerCall(legs[i], tuple(legs))
             for legs in groups.values() if (i := principal(legs)) is not None]
    return sorted(found, key=lambda c: (c.legs[0].ring_at, c.legs[0].key))


SEATS_MARGIN = timedelta(hours=1)
"""How far beyond a period `seats_rang` looks for legs: the legs of one caller ring
within moments of each other, so a call at the period's edge keeps all its seats."""


def seats_rang(store: RecordCore, since: datetime, until: datetime) -> dict[str, tuple[str, ...]]:
    """SIP Call-ID → the seats whose legs rang, for the period's calls rung at two seats
    or more (an export's 振铃坐席 column; a call rung at one seat is its own seat)."""
    c = CALLS.c
    sql = read_statement(
        store.engine.dialect,
        ("seats_rang",),
        lambda: select(c.sip_call_id, c.seat)
        .where(
            c.ring_at >= bindparam("f_since"),
            c.ring_at < bindparam("f_until"),
            c.sip_call_id.is_not(None),
            c.seat.is_not(None),
        )
        .order_by(c.sip_call_id, c.ring_at, c.id),
    )

    def load(_conn: Connection, rows: Sequence[Any]) -> dict[str, tuple[str, ...]]:
        found: dict[str, dict[str, None]] = {}
        for call_id, seat in rows:
            found.setdefault(call_id, {})[seat] = None
        return {k: tuple(v) for k, v in found.items() if len(v) > 1}

    return read(store, sql, {"f_since": since - SEATS_MARGIN, "f_until": until + SEATS_MARGIN},
                load)


def day_bounds(store: RecordCore, day: Any) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as aware datetimes."""
    start = datetime(day.year, day.month, day.day, tzinfo=store.tz)
    return start, datetime.combine(start.date() + timedelta(days=1), start.timetz())


def gate_post_calls(store: RecordCore, since: datetime, until: datetime) -> list[CallRecord]:
    """The night's forwarded and gate-post calls, for the morning review."""
    sql = read_statement(store.engine.dialect, ("gate_post",), gate_post_statement)
    to_time = time_reader(store.engine.dialect)

    def load(conn: Connection, rows: Sequence[Any]) -> list[CallRecord]:
        records = records_from(rows, to_time)
        return amended_records(conn, rows, records) if records else records

    return read(store, sql, {"f_since": since, "f_until": until}, load)


def kpis(
    store: RecordCore,
    since: datetime,
    until: datetime,
    ring_limit_seconds: float | None = None,
    flt: CallFilter | None = None,
) -> Kpis:
    """Figures for sealed calls that rang in [since, until) (values as sealed).

    Callers, not legs: one count per caller's call whichever seats rang, from the leg that
    speaks for it (`statements.principal_leg`).
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidFact("kpis: since and until need time zones")
    if until < since:
        raise InvalidFact(f"kpis: until {until} is before since {since}")
    limit = store.ring_limit_seconds if ring_limit_seconds is None else ring_limit_seconds
    shape, params = filter_shape(replace(flt or CallFilter(), since=since, until=until))
    figures_q, follow_q = kpi_statements(shape, store.engine.dialect.name == "postgresql")
    params.update(k_limit=within_bound(limit), k_until=until, k_now=min(store._now(), until),
                  **window_values(since, until))

    def load(conn: Connection) -> Kpis:
        totals, sat, hours = fold_figures(conn.execute(figures_q, params).all())
        open_n, overdue_n = conn.execute(follow_q, params).one()
        return Kpis.from_totals(since, until, totals, sat, hours, (int(open_n), int(overdue_n)))

    result: Kpis = store._run(unused_session, core=load, core_engine=store._figures_engine)
    return result


def latest_time(store: RecordCore) -> datetime | None:
    """The latest moment the record holds (a ring, a seal, a state change, an audit
    entry, a follow-up, an amendment); None for an empty record.

    A pretend clock (demos, tests) continues from here instead of starting over, so a
    day's list never mixes runs out of order (issue 11, point 5).
    """
    columns = (
        CallRow.ring_at,
        CallRow.sealed_at,
        AgentStateRow.at,
        AuditRow.at,
        FollowUpRow.created_at,
        AmendmentRow.at,
    )

    def latest(session: Session) -> datetime | None:
        found = [session.scalar(select(func.max(column))) for column in columns]
        times = [t for t in found if isinstance(t, datetime)]
        return max(times) if times else None

    result: datetime | None = store._run(latest, write=False)
    return result
