"""Supervisor review queries the call log screen needs and `DutyRecord.calls` does not offer.

A supervisor scrolls through up to millions of calls, so nothing here loads "everything":
`call_page` reads one page by keyset (the last row's sort value and id, never OFFSET), with
full-text search in what the agent wrote and a "within the ring limit" filter on top of the
store's `CallFilter`. A page holds `ReviewRow`s — only the columns the call log shows, built
as named tuples from Core rows (no ORM, no 34-field `CallRecord`) — and its amendments come
in one narrow query by the page's keys; the detail reads the whole record when opened.
`agent_kpis` gives the per-agent figures of the KPI screen from the same `DutyRecord.kpis`
query the exports use, so screen and spreadsheet always agree.

Filters select on values as sealed (like `kpis` and the exports); the rows returned show
the amended values, with `amended_fields` naming which.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, and_, bindparam, case, func, or_, select

from console.domain.ring import within_bound
from console.store.callbacks import CALLBACK_KIND
from console.store.errors import CorruptDatabase, InvalidFact
from console.store.facts import coerce_fact
from console.store.models import CHAINED, AmendmentRow, CallRow, FollowUpRow
from console.store.record import DutyRecord
from console.store.statements import (
    CALLER_SPREAD,
    HAS_AMENDMENTS,
    PERIOD_WINDOW,
    corrupt_call,
    figure_columns,
    figure_groups,
    filter_shape,
    filtered,
    fold_figures,
    principal_leg,
    read_statement,
    shape_conds,
    time_reader,
    window_values,
)
from console.store.values import (
    NOT_AGENTS,
    AgentRole,
    CallFilter,
    CallOutcome,
    FollowUpStatus,
    Kpis,
    VerifyReport,
)

log = logging.getLogger("console.store.review")

MAX_PAGE = 500
"""Largest page a caller may ask for; the screen asks for a screenful or two."""
MAX_SEARCH = 200
"""Longest search text (characters)."""

_SEARCHED = (
    CallRow.content,
    CallRow.notes,
    CallRow.action,
    CallRow.result,
    CallRow.caller_name,
    CallRow.caller_number,
    CallRow.address,
)
"""Columns the full-text search looks in (what the agent wrote, and who called)."""


class SortKey(enum.Enum):
    """How the call log is ordered; each is a keyset (value, id) so paging stays cheap."""

    NEWEST = "newest"
    OLDEST = "oldest"
    SLOWEST_ANSWER = "slowest_answer"
    LONGEST_CALL = "longest_call"


_SORT_EXPR: dict[SortKey, tuple[Any, bool]] = {
    SortKey.NEWEST: (CallRow.ring_at, True),
    SortKey.OLDEST: (CallRow.ring_at, False),
    SortKey.SLOWEST_ANSWER: (func.coalesce(CallRow.seconds_to_answer, -1.0), True),
    SortKey.LONGEST_CALL: (func.coalesce(CallRow.handling_seconds, -1.0), True),
}
"""Sort key → (SQL expression, descending). NULL sorts last as -1 (never answered)."""


@dataclass(frozen=True)
class ReviewFilter:
    """The call log's filter: the store's `CallFilter` plus search and the ring limit."""

    base: CallFilter = field(default_factory=CallFilter)
    text: str | None = None
    """Words that must appear (as typed, case-insensitive for ASCII) in content/notes/..."""
    within_limit: bool | None = None
    """True: answered within the ring limit; False: answered later or not answered."""
    ring_limit_seconds: float | None = None
    """The limit to judge by; None takes the duty record's."""
    sort: SortKey = SortKey.NEWEST


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's sort value and id (opaque to the screen)."""

    value: Any
    row_id: int


class ReviewRow(NamedTuple):
    """One row of the call log: the columns the table shows, amended values applied.

    Field names match `CallRecord`'s, so code that formats a row takes either.
    """

    key: str
    ring_at: datetime
    caller_number: str | None
    answered_by: str | None
    outcome: CallOutcome | None
    seconds_to_answer: float | None
    handling_seconds: float | None
    category: str | None
    satisfaction: int | None
    content: str | None
    result: str | None
    """The agent's (or the line's) 处理结果: the listing says 已留言, not just "answered"."""
    amended_fields: tuple[str, ...] = ()


_ROW_NAMES: tuple[str, ...] = ReviewRow._fields[:-1]
_ROW_COLUMNS = [CallRow.__table__.c[name] for name in _ROW_NAMES]
_WIDTH = len(_ROW_NAMES)
_OUTCOME = _ROW_NAMES.index("outcome")
if (_ROW_NAMES[1], _OUTCOME, _WIDTH) != ("ring_at", 4, 11):
    raise ImportError(f"call_page builds rows by position; ReviewRow is now {_ROW_NAMES}")
_OUTCOMES: dict[str | None, CallOutcome | None] = {o.value: o for o in CallOutcome}
_OUTCOMES[None] = None
_new_row = tuple.__new__

_PAGE_AMENDMENTS = (
    select(AmendmentRow.call_key, AmendmentRow.field, AmendmentRow.new_value)
    .where(AmendmentRow.call_key.in_(bindparam("keys", expanding=True)))
    .order_by(AmendmentRow.seq)
)
"""A page's amendments (rare): three columns by the amendments' call_key index."""


@dataclass(frozen=True)
class CallPage:
    """One page of the call log and the cursor of the next one (None at the end)."""

    calls: list[ReviewRow]
    next: Cursor | None


def _review_row(values: Sequence[Any], to_time: Callable[[Any], datetime]) -> ReviewRow:
    """A ReviewRow from a driver row's first `_WIDTH` columns (time and outcome converted).

    The page builds its rows inline; this one-at-a-time form finds and names a bad row.
    """
    try:
        ring_at = to_time(values[1])
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise corrupt_call(_ROW_NAMES, values, to_time) from None
    try:
        outcome = _OUTCOMES[values[_OUTCOME]]
    except (KeyError, TypeError):  # written behind the store's back, or damaged
        raise corrupt_call(_ROW_NAMES, values, to_time) from None
    return _new_row(  # type: ignore[no-any-return]
        ReviewRow,
        (values[0], ring_at, *values[2:_OUTCOME], outcome, *values[_OUTCOME + 1 : _WIDTH], ()),
    )


def _amended(row: ReviewRow, changes: list[tuple[str, str | None]]) -> ReviewRow:
    """`row` with its amendments (oldest first) applied, as `DutyRecord` applies them."""
    values: dict[str, Any] = {}
    for name, new_value in changes:
        value: Any = coerce_fact(name, new_value) if new_value is not None else None
        if name == "outcome" and value is not None:
            value = CallOutcome(value)
        values[name] = value
    if "answered_at" in values:
        answered = values["answered_at"]
        values["seconds_to_answer"] = (
            None if answered is None else round((answered - row.ring_at).total_seconds(), 3)
        )
    amended = tuple(sorted(values))
    shown = {k: v for k, v in values.items() if k in _ROW_NAMES}
    return row._replace(**shown, amended_fields=amended)


def _check_base(base: CallFilter) -> None:
    if base.since is not None and base.since.tzinfo is None:
        raise InvalidFact("review: 'since' needs a time zone")
    if base.until is not None and base.until.tzinfo is None:
        raise InvalidFact("review: 'until' needs a time zone")
    if base.since is not None and base.until is not None and base.until < base.since:
        raise InvalidFact(f"review: until {base.until} is before since {base.since}")


def _search_patterns(flt: ReviewFilter) -> list[str]:
    """The LIKE pattern of each search word (escaped), checked for length."""
    if flt.text is None or not flt.text.strip():
        return []
    text = flt.text.strip()
    if len(text) > MAX_SEARCH:
        raise InvalidFact(f"search text of {len(text)} characters; at most {MAX_SEARCH}")
    patterns = []
    for word in text.split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        patterns.append(f"%{escaped}%")
    return patterns


def _review_shape(record: DutyRecord, flt: ReviewFilter) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The structure of the call log's filter (picks a compiled statement) and its values."""
    _check_base(flt.base)
    shape, values = filter_shape(replace(flt.base, limit=None))
    patterns = _search_patterns(flt)
    values.update({f"w_{i}": pattern for i, pattern in enumerate(patterns)})
    if flt.within_limit is not None:
        limit = (
            record.ring_limit_seconds if flt.ring_limit_seconds is None else flt.ring_limit_seconds
        )
        if limit < 0:
            raise InvalidFact(f"ring limit {limit} s: must not be negative")
        values["r_limit"] = within_bound(limit)
    since, until = flt.base.since, flt.base.until
    bounded = since is not None and until is not None
    if since is not None and until is not None:
        values.update(window_values(since, until))
    hashed = record.engine.dialect.name == "postgresql"
    return (shape, len(patterns), flt.within_limit, bounded, hashed), values


def _review_conds(shape: tuple[Any, ...]) -> list[Any]:
    """WHERE conditions of a review shape (`_review_shape`), values as bound parameters."""
    base, words, within, bounded, hashed = shape
    # One row per caller's call (issue 13): the leg that speaks for it; the detail shows
    # every seat's leg. A callback (回访) is a record of its own: listed too, with its
    # outcome (reached, no answer, busy, failed), though no figure counts it.
    conds = [*shape_conds(base, sealed=False),
             or_(principal_leg(window=PERIOD_WINDOW if bounded else None, hashed=hashed),
                 CallRow.kind == CALLBACK_KIND)]
    for i in range(words):
        pattern: Any = bindparam(f"w_{i}")
        conds.append(or_(*(col.ilike(pattern, escape="\\") for col in _SEARCHED)))
    if within is not None:
        answered = CallRow.answered_at.is_not(None)
        if within:
            conds.append(and_(answered, CallRow.seconds_to_answer <= bindparam("r_limit")))
        else:
            conds.append(
                or_(CallRow.answered_at.is_(None), CallRow.seconds_to_answer > bindparam("r_limit"))
            )
    return conds


def _page_statement(shape: tuple[Any, ...], sort: SortKey, after: bool) -> Any:
    """One page: the shown columns, id, sort value and the has-amendments flag."""
    expr, descending = _SORT_EXPR[sort]
    conds = _review_conds(shape)
    if after:
        value: Any = bindparam("c_value")
        row_id: Any = bindparam("c_id")
        if descending:
            conds.append(or_(expr < value, and_(expr == value, CallRow.id < row_id)))
        else:
            conds.append(or_(expr > value, and_(expr == value, CallRow.id > row_id)))
    order = (expr.desc(), CallRow.id.desc()) if descending else (expr.asc(), CallRow.id.asc())
    query = select(*_ROW_COLUMNS, CallRow.id, expr.label("sort_value"), HAS_AMENDMENTS)
    if conds:
        query = query.where(*conds)
    return query.order_by(*order).limit(bindparam("p_size", type_=Integer))


def call_page(
    record: DutyRecord, flt: ReviewFilter, after: Cursor | None = None, size: int = 100
) -> CallPage:
    """One page of calls matching `flt`, after `after` in `flt.sort` order.

    One statement (compiled once per filter shape); a second only when some call on the
    page has amendments.
    """
    if not 1 <= size <= MAX_PAGE:
        raise InvalidFact(f"page size {size}: 1..{MAX_PAGE}")
    shape, values = _review_shape(record, flt)
    if after is not None:
        values.update(c_value=after.value, c_id=after.row_id)
    values["p_size"] = size + 1
    sort = flt.sort
    sql = read_statement(
        record.engine.dialect,
        ("page", shape, sort, after is not None),
        lambda: _page_statement(shape, sort, after is not None),
    )
    to_time = time_reader(record.engine.dialect)
    outcomes, new_row, empty = _OUTCOMES, _new_row, ()

    def load(conn: Connection, rows: Sequence[Any]) -> CallPage:
        more = len(rows) > size
        rows = rows[:size]
        try:  # the row's shown columns are ReviewRow's fields in order (time, outcome converted)
            calls: list[ReviewRow] = [
                new_row(
                    ReviewRow,
                    (r[0], to_time(r[1]), r[2], r[3], outcomes[r[4]], *r[5:11], empty),
                )
                for r in rows
            ]
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise _bad_row(rows, to_time) from None
        flagged = [row[0] for row in rows if row[_WIDTH + 2]]
        if flagged:
            found: dict[str, list[tuple[str, str | None]]] = {}
            for key, name, new_value in conn.execute(_PAGE_AMENDMENTS, {"keys": flagged}):
                found.setdefault(key, []).append((name, new_value))
            calls = [_amended(c, found[c.key]) if c.key in found else c for c in calls]
        cursor = None
        if more and rows:
            last = rows[-1]
            value = last[_WIDTH + 1]
            if sort in (SortKey.NEWEST, SortKey.OLDEST):
                value = to_time(value)
            cursor = Cursor(value, int(last[_WIDTH]))
        return CallPage(calls, cursor)

    return record.read(sql, values, load)


def _bad_row(rows: Sequence[Any], to_time: Callable[[Any], datetime]) -> CorruptDatabase:
    """The error naming the first row of a page the console cannot read."""
    for row in rows:
        try:
            _review_row(row, to_time)
        except CorruptDatabase as exc:
            return exc
    return CorruptDatabase("a page of the call log could not be read")  # not reached


def count_calls(record: DutyRecord, flt: ReviewFilter) -> int:
    """How many calls match `flt` (for the screen's "n calls" line)."""
    shape, values = _review_shape(record, flt)

    def build() -> Any:
        conds = _review_conds(shape)
        query = select(func.count()).select_from(CallRow)
        return query.where(*conds) if conds else query

    sql = read_statement(record.engine.dialect, ("count", shape), build)
    return record.read(sql, values, lambda _conn, rows: int(rows[0][0]))


def agent_kpis(
    record: DutyRecord,
    since: datetime,
    until: datetime,
    ring_limit_seconds: float | None = None,
    flt: CallFilter | None = None,
) -> dict[str, Kpis]:
    """`kpis` per agent who answered a call in [since, until), agent ID → figures.

    Equal to `record.kpis(since, until, limit, CallFilter(agent=id))` for each agent, but
    read in one grouped pass instead of one per agent. Calls answered by the console
    itself or the gate post appear under `auto` and `gate_post`; unanswered calls belong to
    no agent and only count in the overall figures. Follow-ups are not per agent in `kpis`
    either: each entry carries the period's open and overdue counts.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidFact("agent_kpis: since and until need time zones")
    if until < since:
        raise InvalidFact(f"agent_kpis: until {until} is before since {since}")
    limit = record.ring_limit_seconds if ring_limit_seconds is None else ring_limit_seconds
    base = replace(flt or CallFilter(), since=since, until=until, limit=None, agent=None)
    who = CallRow.answered_by
    sealed = CallRow.sealed_at.is_not(None)
    groups = figure_groups()
    # One pass (callers, not legs: each leg asked once whether it speaks for its caller),
    # grouped by agent, hour and satisfaction; folded per agent as `kpis` folds its own.
    figures_q = (
        filtered(select(who, *groups, *figure_columns(within_bound(limit))), base)
        .where(sealed, who.is_not(None),
               principal_leg(window=(since - CALLER_SPREAD, until + CALLER_SPREAD),
                             hashed=record.engine.dialect.name == "postgresql"))
        .group_by(who, *groups)
        .order_by(who)
    )

    def load(session: Any) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for row in session.execute(figures_q):
            found.setdefault(row[0], []).append(row[1:])
        return found

    found = record._run(load, write=False)
    if not found:
        return {}
    open_follow_ups, overdue_follow_ups = _follow_up_counts(record, until)
    result: dict[str, Kpis] = {}
    for agent, rows in found.items():
        t, sat, hours = fold_figures(rows)
        result[agent] = Kpis.from_totals(
            since, until, t, sat, hours, (open_follow_ups, overdue_follow_ups)
        )
    return result


def _follow_up_counts(record: DutyRecord, until: datetime) -> tuple[int, int]:
    """Open and overdue follow-ups as `kpis` counts them (created before `until`)."""
    now = min(record._now(), until)
    is_open = FollowUpRow.status == FollowUpStatus.OPEN.value
    query = select(
        func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(is_open, FollowUpRow.due_at < now), 1), else_=0)), 0),
    ).where(FollowUpRow.created_at < until)
    row = record._run(lambda s: s.execute(query).one(), write=False)
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class ArchiveStatus:
    """Where the record starts: archived prefixes per chain and the oldest call still held."""

    checkpoints: list[tuple[str, int, str, int, datetime]]
    """(chain, up to seq, archive file, rows, when) per archive run, oldest first."""
    oldest_call: datetime | None
    calls_held: int


def archive_status(record: DutyRecord) -> ArchiveStatus:
    """The integrity screen's archive line: checkpoints, oldest call held, calls held."""
    from console.store.models import CheckpointRow

    def load(session: Any) -> ArchiveStatus:
        points = [
            (r.chain, int(r.upto_seq), r.archive_name, int(r.rows), r.at)
            for r in session.scalars(select(CheckpointRow).order_by(CheckpointRow.id))
        ]
        oldest, held = session.execute(select(func.min(CallRow.ring_at), func.count())).one()
        if isinstance(oldest, str):  # SQLite min() over the text column: no type processing
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
        return ArchiveStatus(points, oldest, int(held))

    result: ArchiveStatus = record._run(load, write=False)
    return result


def chained_records(record: DutyRecord) -> int:
    """How many records `verify` will check: every row that has its place in a chain."""

    def load(session: Any) -> int:
        return sum(
            int(session.execute(select(func.count()).where(model.seq.is_not(None))).scalar_one())
            for model in CHAINED
        )

    result: int = record._run(load, write=False)
    return result


def verify_with_progress(
    record: DutyRecord,
    *,
    progress: Callable[[int, int], None] | None = None,
    every: int = 2000,
) -> VerifyReport:
    """`record.verify()`, calling `progress(checked, total)` every `every` records and at the end.

    `total` is counted first, in the verification's own read; a chain that breaks stops
    the walk early, so the last call may be short of the total — the report says where
    and why.
    """
    if progress is None:
        return record.verify()
    if isinstance(every, bool) or every < 1:
        raise ValueError(f"verify_with_progress: every={every}, must be at least 1")
    return record.verify(progress=progress, progress_every=every)


# -------------------------------------------------------------------- quality reviews

QUALITY_ACTION = "quality_review"
"""Audit action of a quality review: it is a supervisor's act, chained and unalterable."""
QUALITY_PER_WEEK = 2
"""Calls per agent per week the duty rules ask supervisors to listen to (§6)."""


@dataclass(frozen=True)
class QualityReview:
    """A supervisor listened to a call and scored the agent who answered it."""

    call_key: str
    agent: str
    reviewer: str
    score: int
    """0–100."""
    notes: str
    at: datetime


def add_quality_review(
    record: DutyRecord, call_key: str, reviewer: str, score: int, notes: str = ""
) -> QualityReview:
    """Score a sealed call answered by an agent; kept as a chained audit entry."""
    if not reviewer or not reviewer.strip():
        raise InvalidFact("a quality review needs who reviewed")
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise InvalidFact(f"quality score {score!r}: a whole number 0..100")
    if len(notes) > 2000:
        raise InvalidFact(f"quality notes of {len(notes)} characters; at most 2000")
    call = record.get_call(call_key)
    if not call.sealed:
        raise InvalidFact(f"call {call_key} is still open; score it once it is sealed")
    agent = call.answered_by
    if agent is None or agent in NOT_AGENTS:
        raise InvalidFact(f"call {call_key} was not answered by an agent ({agent or 'nobody'})")
    detail = json.dumps(
        {"call": call_key, "agent": agent, "score": score, "notes": notes.strip()},
        ensure_ascii=False,
        sort_keys=True,
    )
    record.audit(QUALITY_ACTION, reviewer.strip(), detail)
    return QualityReview(call_key, agent, reviewer.strip(), score, notes.strip(), record._now())


def quality_reviews(record: DutyRecord, since: datetime, until: datetime) -> list[QualityReview]:
    """Quality reviews made in [since, until), oldest first."""
    from console.store.models import AuditRow

    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidFact("quality_reviews: since and until need time zones")
    query = (
        select(AuditRow.who, AuditRow.detail, AuditRow.at)
        .where(AuditRow.action == QUALITY_ACTION, AuditRow.at >= since, AuditRow.at < until)
        .order_by(AuditRow.id)
    )

    def load(session: Any) -> list[QualityReview]:
        found = []
        for who, detail, at in session.execute(query):
            try:
                data = json.loads(detail)
                found.append(
                    QualityReview(
                        str(data["call"]),
                        str(data["agent"]),
                        who,
                        int(data["score"]),
                        str(data.get("notes", "")),
                        at,
                    )
                )
            except (ValueError, KeyError, TypeError):
                log.warning("quality review entry not readable: %r", detail[:80])
        return found

    result: list[QualityReview] = record._run(load, write=False)
    return result


def quality_week(record: DutyRecord, week_start: datetime) -> dict[str, int]:
    """Calls reviewed per agent in the 7 days from `week_start`; every active agent listed."""
    counts = {a.agent_id: 0 for a in record.agents() if a.role is AgentRole.AGENT and a.active}
    for review in quality_reviews(record, week_start, week_start + timedelta(days=7)):
        counts[review.agent] = counts.get(review.agent, 0) + 1
    return dict(sorted(counts.items()))
