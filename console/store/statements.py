"""The read statements: compiled once per dialect and filter shape, their rows made records.

The review's reads (`calls`, `get_call`, `gate_post_calls`, the call log's pages and
counts in `console.store.review`) and the figures run statements built here once per
filter shape (`filter_shape`: which conditions, never their values), sent with their values
as bound parameters, and turn the driver's rows into `CallRecord`s without ORM objects
(`records_from`). A row the console cannot read (a damaged time, an unknown outcome) is a
`CorruptDatabase` naming the call (`corrupt_call`), never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, make_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Dialect,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
)

from console.domain.caller_call import ANSWERED_RANK, OPEN_RANK, OTHER_RANK, OUTCOME_RANKS
from console.domain.outcome import LEG_OUTCOME_VALUES
from console.store.errors import CorruptDatabase, InvalidFact
from console.store.facts import coerce_fact
from console.store.models import AmendmentRow, CallRow, FollowUpRow, UtcDateTime
from console.store.values import Amendment, CallFilter, CallOutcome, CallRecord, FollowUpStatus

_Q = TypeVar("_Q", bound="Select[Any] | Select[Any, Any]")  # any select over calls

CALLS: Table = CallRow.__table__  # type: ignore[assignment]


# -------------------------------------------------------------------- callers, not legs
#
# A ring-all hotline writes one row per seat that rang (a leg); the legs of one caller's
# call share the SIP Call-ID. The figures, the exports and the call log read one row per
# caller: the leg that speaks for it (`console.domain.caller_call`), found by asking of
# each leg whether another leg of the same Call-ID outranks it (NOT EXISTS over the
# Call-ID index, `ix_calls_sip_call_id`): a probe per row, no grouping of the period, so
# a page of the call log still stops after its rows and a month's figures stay one scan.

OTHER_LEGS = CALLS.alias("other_leg")
"""The calls table again, as the other legs of a caller's call."""


def leg_rank(table: Any) -> Any:
    """`console.domain.caller_call.leg_rank` in SQL, for a leg that is not taken elsewhere."""
    c = table.c
    return case(
        (c.answered_at.is_not(None), ANSWERED_RANK),
        (c.sealed_at.is_(None), OPEN_RANK),
        *((c.outcome == outcome, rank) for outcome, rank in OUTCOME_RANKS.items()),
        else_=OTHER_RANK,
    )


def speaks_for_callers(table: Any) -> Any:
    """The leg may speak for a caller: it was not taken elsewhere (or is still open)."""
    c = table.c  # one comparison per value (a NOT IN would be an expanding parameter,
    # which a statement compiled once cannot carry)
    return or_(c.outcome.is_(None), and_(*(c.outcome != value for value in LEG_OUTCOME_VALUES)))


_SEATS = CALLS.alias("any_leg")
TEAM_RECORD = func.coalesce(
    select(func.min(_SEATS.c.seat)).scalar_subquery()
    < select(func.max(_SEATS.c.seat)).scalar_subquery(),
    False,
)
"""Whether the record's calls name two seats or more (two seeks of `ix_calls_seat`, once
per statement): a team's record, whose callers' legs are grouped. A record of one seat has
no caller with two legs (a seat's line takes a Call-ID once: an INVITE's retransmissions
are that call), so its reads skip the probe. Read from the calls themselves (each leg's
seat is in its hash and its open binding): nothing outside the chain decides how the
figures count."""


CALLER_SPREAD = timedelta(hours=1)
"""The legs of one caller ring within moments of each other (a parallel fork: milliseconds;
a seat's 302 to the gate post: within its ring limit); a leg farther than this from a
period is no leg of that period's callers. It bounds the other legs a period's reads look
at, so PostgreSQL can hash them once (an anti-join) instead of probing per leg."""


def principal_leg(
    table: Any = CALLS, window: tuple[Any, Any] | None = None, hashed: bool = False
) -> Any:
    """The condition that a leg speaks for its caller's call: it may, and no other leg
    with its Call-ID ranks before it (rank, then earlier ring, then written first).

    A leg without a Call-ID is a caller's call of its own, and on a record of one seat
    (`TEAM_RECORD` false) every leg is: both are tested once, outside the other legs' loop
    (never left to NULL = NULL: with statistics that say most legs have none, SQLite probed
    such a leg by scanning the table). `window` ([from, to) as SQL values: a period widened
    by `CALLER_SPREAD`) bounds the other legs a period's read looks at. The NOT EXISTS
    stands alone with `hashed` (PostgreSQL: no OR around it, so the planner may run it as a
    hash anti-join over the window's legs: a team's month 567 -> 279 ms); without it (SQLite,
    which has no hash join) the two tests come first in an OR, so a one-seat record's legs
    never enter the probe of `ix_calls_sip_call_id` (inside the NOT EXISTS, SQLite entered
    it for every leg: a one-seat month 127 -> 311 ms).
    """
    c, o = table.c, OTHER_LEGS.c
    mine, theirs = leg_rank(table), leg_rank(OTHER_LEGS)
    outranks = or_(
        theirs < mine,
        and_(
            theirs == mine,
            or_(o.ring_at < c.ring_at, and_(o.ring_at == c.ring_at, o.id < c.id)),
        ),
    )
    bounds = () if window is None else (o.ring_at >= window[0], o.ring_at < window[1])
    probe = (
        *bounds,
        o.sip_call_id == c.sip_call_id,
        o.id != c.id,
        speaks_for_callers(OTHER_LEGS),
        outranks,
    )
    if hashed:
        other = exists().where(TEAM_RECORD, c.sip_call_id.is_not(None), *probe)
        return and_(speaks_for_callers(table), ~other)
    return and_(speaks_for_callers(table),
                or_(~TEAM_RECORD, c.sip_call_id.is_(None), ~exists().where(*probe)))


PERIOD_WINDOW: tuple[Any, Any] = (bindparam("g_since"), bindparam("g_until"))
"""The window of a compiled period read: its values are `window_values` of the period."""


def window_values(since: datetime, until: datetime) -> dict[str, datetime]:
    """The `PERIOD_WINDOW` values of a period [since, until)."""
    return {"g_since": since - CALLER_SPREAD, "g_until": until + CALLER_SPREAD}


_FILTER_FIELDS = ("since", "until", "line", "agent", "category", "outcome", "satisfaction")


def filter_shape(flt: CallFilter) -> tuple[tuple[str, ...], dict[str, Any]]:
    """A filter as the structure of its conditions and their values (bound parameters).

    The structure picks a statement built once (`kpi_statements`); the values are sent
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


def shape_conds(shape: tuple[str, ...], sealed: bool = True) -> list[Any]:
    """The WHERE conditions of a filter shape, with bound parameters (as `filtered`).

    With `sealed` (the figures), only sealed calls; without (the review), open ones too.
    """
    c = CALLS.c
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


NOT_ANSWERED = -2
"""The satisfaction group of calls nobody answered (`figure_columns`); -1 is no rating."""


def figure_columns(limit: Any) -> list[Any]:
    """The figures' sums over one group of callers, in `fold_figures`' order.

    Grouped by hour and by the answered calls' satisfaction (`figure_groups`), one pass
    gives the totals, the satisfaction split and the calls per hour at once: each caller's
    leg is probed for its other legs once (`principal_leg`), not once per figure.
    """
    c = CALLS.c
    answered = c.answered_at.is_not(None)

    def count_if(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return [
        func.count(),
        count_if(answered),
        count_if(and_(answered, c.seconds_to_answer <= limit)),
        count_if(c.outcome == CallOutcome.MISSED.value),
        count_if(c.outcome == CallOutcome.ABANDONED.value),
        count_if(c.outcome == CallOutcome.FORWARDED.value),
        count_if(c.outcome == CallOutcome.INTERRUPTED.value),
        func.sum(c.seconds_to_answer),
        func.count(c.seconds_to_answer),
        func.sum(c.handling_seconds),
        func.count(c.handling_seconds),
    ]


def figure_groups() -> list[Any]:
    """The hour and the satisfaction group (-1 no rating, `NOT_ANSWERED`) of a caller."""
    c = CALLS.c
    sat = case(
        (c.answered_at.is_(None), NOT_ANSWERED),
        else_=func.coalesce(c.satisfaction, -1),
    )
    return [c.ring_hour, sat]


def fold_figures(
    rows: Sequence[Any],
) -> tuple[tuple[Any, ...], dict[int | None, int], dict[int, int]]:
    """The grouped rows (hour, satisfaction group, `figure_columns`…) as one totals row
    (`Kpis.from_totals`' shape), the satisfaction split and the calls per hour."""
    sums = [0] * 7
    seconds = [0.0, 0, 0.0, 0]
    sat: dict[int | None, int] = {}
    hours: dict[int, int] = {}
    for hour, group, *v in rows:
        n = int(v[0])
        for i in range(7):
            sums[i] += int(v[i])
        if v[8]:
            seconds[0] += float(v[7])
            seconds[1] += int(v[8])
        if v[10]:
            seconds[2] += float(v[9])
            seconds[3] += int(v[10])
        hours[int(hour)] = hours.get(int(hour), 0) + n
        if group != NOT_ANSWERED:
            score = None if group == -1 else int(group)
            sat[score] = sat.get(score, 0) + int(v[1])
    avg_answer = seconds[0] / seconds[1] if seconds[1] else None
    avg_handling = seconds[2] / seconds[3] if seconds[3] else None
    return (*sums, avg_answer, avg_handling), sat, hours


@functools.lru_cache(maxsize=128)
def kpi_statements(
    shape: tuple[str, ...], hashed: bool = False
) -> tuple[Select[Any], Select[Any]]:
    """The figures of a shape in one grouped pass (`figure_columns`), and the follow-ups.

    Built once per filter shape: building and cache-keying statements per call cost more
    than the SQL on PostgreSQL (month KPIs ×1.68 of the raw driver). One pass over the
    period's callers, not three: each leg is asked once whether it speaks for its caller.
    """
    fu = FollowUpRow.__table__.c
    # Callers, not legs: one row per caller's call, whichever seats rang (issue 13).
    conds = [*shape_conds(shape), principal_leg(window=PERIOD_WINDOW, hashed=hashed)]

    def count_if(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    groups = figure_groups()
    figures = (
        select(*groups, *figure_columns(bindparam("k_limit"))).where(*conds).group_by(*groups)
    )
    is_open = fu.status == FollowUpStatus.OPEN.value
    follow_ups = select(
        count_if(is_open), count_if(and_(is_open, fu.due_at < bindparam("k_now")))
    ).where(fu.created_at < bindparam("k_until"))
    return figures, follow_ups


def filtered(query: _Q, flt: CallFilter) -> _Q:
    """`query` with the filter's conditions on the ORM columns (the per-agent figures)."""
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
            CallRow.forwarded_to.is_not(None) if flt.forwarded else CallRow.forwarded_to.is_(None)
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


RECORD_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(CallRecord) if f.name in CallRow.__table__.c
)
RECORD_COLUMNS = [CallRow.__table__.c[name] for name in RECORD_NAMES]


OUTCOMES: dict[str | None, CallOutcome | None] = {o.value: o for o in CallOutcome}
OUTCOMES[None] = None
_I_OUTCOME = RECORD_NAMES.index("outcome")
if (*RECORD_NAMES, "amended_fields") != tuple(f.name for f in fields(CallRecord)):
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


def record_from_row(row: Any) -> CallRecord:
    """A CallRecord from a Core row of `RECORD_COLUMNS` (no ORM objects: fast review).

    The columns arrive typed by the table (aware UTC times, ints, floats, text); only the
    outcome text becomes its enum.
    """
    values = list(row)
    try:
        values[_I_OUTCOME] = OUTCOMES[values[_I_OUTCOME]]
    except (KeyError, TypeError):  # written behind the store's back, or damaged
        raise CorruptDatabase(
            f"call {values[0]} has outcome {values[_I_OUTCOME]!r}, which the console does "
            "not know; the row was changed outside the console: run `duty-console verify`"
        ) from None
    record: Any = _CallRecordBuilder(*values, ())
    record.__class__ = CallRecord
    return cast(CallRecord, record)


AMENDMENTS: Table = AmendmentRow.__table__  # type: ignore[assignment]
AMENDMENT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Amendment))


def amendment_from_row(row: Any) -> Amendment:
    """An Amendment from Core columns in `AMENDMENT_NAMES` order."""
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

TIME_NAMES: tuple[str, ...] = tuple(
    name for name in RECORD_NAMES if isinstance(CALLS.c[name].type, UtcDateTime)
)
if TIME_NAMES != ("ring_at", "answered_at", "ended_at", "forwarded_at", "sealed_at"):
    raise ImportError(f"records_from converts five times by name; the model has {TIME_NAMES}")
HAS_AMENDMENTS = exists().where(AMENDMENTS.c.call_key == CALLS.c.key).label("amended")
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
        if value is not None and isinstance(CALLS.c[name].type, UtcDateTime):
            try:
                to_time(value)
            except (TypeError, ValueError, AttributeError, OverflowError):
                return CorruptDatabase(f"call {key} has {name} {value!r}, not a time; {after}")
    return CorruptDatabase(
        f"call {key} has outcome {values.get('outcome')!r}, which the console does not know; "
        + after
    )


def records_from(rows: Sequence[Any], to_time: Callable[[Any], datetime]) -> list[CallRecord]:
    """CallRecords from driver rows of `RECORD_COLUMNS` (a trailing flag column is ignored).

    Each row's values are copied into a list, the five times converted by position (no
    loop: this runs for every row of a review; on SQLite the parse is inlined, the same as
    `sqlite_time`) and the outcome text mapped to its enum, then the record is built by
    its slotted twin (`_CallRecordBuilder`, see there) and becomes a CallRecord.
    """
    if not rows:
        return []
    width = len(RECORD_NAMES)
    flagged = len(rows[0]) > width  # the EXISTS column: its place takes amended_fields
    i_ring, i_answered, i_ended, i_forwarded, i_sealed, i_outcome = _RECORD_INDEX
    sqlite = to_time is sqlite_time
    parse, utc, outcomes, utc_zone = _fromiso, "+00:00", OUTCOMES, UTC
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
            raise corrupt_call(RECORD_NAMES, row, to_time) from None
        if flagged:
            v[width] = ()
        else:
            v.append(())
        record = build(*v)
        record.__class__ = cls
        append(record)
    return records


_RECORD_INDEX = tuple(RECORD_NAMES.index(name) for name in (*TIME_NAMES, "outcome"))


def gate_post_statement() -> Select[Any]:
    """The night's forwarded and gate-post calls (the morning review)."""
    c = CALLS.c
    return (
        select(*RECORD_COLUMNS, HAS_AMENDMENTS)
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


def calls_statement(shape: tuple[str, ...], amended: bool, limited: bool) -> Select[Any]:
    """The review's calls of a filter shape, with the amendments flag and a limit if asked."""
    c = CALLS.c
    query = select(*RECORD_COLUMNS, *((HAS_AMENDMENTS,) if amended else ()))
    conds = shape_conds(shape, sealed=False)
    if conds:
        query = query.where(*conds)
    query = query.order_by(c.ring_at, c.id)
    return query.limit(bindparam("f_limit", type_=Integer)) if limited else query
