"""KPIs from statements built once per filter shape equal the figures of the listed calls.

`kpis` binds the filter's values into prebuilt statements (`kpi_statements`) instead of
building them per call; every filter condition is checked here against the review query
(`calls`, the shapes of `console.store.statements`), counted in Python.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.store import CallFilter, CallOutcome, DutyRecord, InvalidFact
from console.store.statements import kpi_statements

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
OUTCOMES = [
    CallOutcome.ANSWERED,
    CallOutcome.MISSED,
    CallOutcome.ANSWERED,
    CallOutcome.FORWARDED,
    CallOutcome.ABANDONED,
    CallOutcome.INTERRUPTED,
    CallOutcome.ANSWERED,
]


@pytest.fixture
def day(store: DutyRecord) -> DutyRecord:
    for i in range(48):
        at = T0 + timedelta(minutes=30 * i)
        line = "hotline" if i % 5 else "night"
        key = store.open_call(line, at, caller_number=f"1380{i:04d}")
        outcome = OUTCOMES[i % len(OUTCOMES)]
        facts: dict[str, object] = {"category": ["咨询", "投诉", "报修"][i % 3]}
        if outcome in (CallOutcome.ANSWERED, CallOutcome.INTERRUPTED):
            facts.update(
                answered_at=at + timedelta(seconds=2 + i % 30),
                answered_by=["1024", "1025"][i % 2],
                ended_at=at + timedelta(seconds=100 + i),
                satisfaction=[1, 2, 3, None][i % 4],
            )
        if outcome is CallOutcome.FORWARDED:
            facts.update(forwarded_to="gate-south", answered_by="gate_post")
        store.seal_call(key, outcome, **facts)
    store.open_call("hotline", T0 + timedelta(hours=5))  # open: never counted
    return store


FILTERS = [
    CallFilter(),
    CallFilter(line="night"),
    CallFilter(agent="1025"),
    CallFilter(category="投诉"),
    CallFilter(outcome=CallOutcome.ANSWERED),
    CallFilter(satisfaction=2),
    CallFilter(forwarded=True),
    CallFilter(forwarded=False),
    CallFilter(hours=(8, 18)),
    CallFilter(hours=(22, 6)),
    CallFilter(line="hotline", category="repair", hours=(6, 23), forwarded=False),
    CallFilter(agent="nobody"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[11:60])
def test_kpis_equal_the_listed_calls(day: DutyRecord, flt: CallFilter) -> None:
    since, until = T0, T0 + timedelta(days=1)
    kpis = day.kpis(since, until, ring_limit_seconds=15, flt=flt)
    listed = [
        c
        for c in day.calls(CallFilter(**{**flt.__dict__, "since": since, "until": until}))
        if c.sealed
    ]
    answered = [c for c in listed if c.answered_at is not None]
    assert kpis.total == len(listed)
    assert kpis.answered == len(answered)
    assert kpis.answered_within_limit == sum(
        1 for c in answered if (c.seconds_to_answer or 0) <= 15
    )
    for outcome, figure in [
        (CallOutcome.MISSED, kpis.missed),
        (CallOutcome.ABANDONED, kpis.abandoned),
        (CallOutcome.FORWARDED, kpis.forwarded),
        (CallOutcome.INTERRUPTED, kpis.interrupted),
    ]:
        assert figure == sum(1 for c in listed if c.outcome is outcome), outcome
    sat: dict[int | None, int] = {}
    for c in answered:
        sat[c.satisfaction] = sat.get(c.satisfaction, 0) + 1
    assert kpis.satisfaction == sat
    hours: dict[int, int] = {}
    for c in listed:
        hours[c.ring_at.hour] = hours.get(c.ring_at.hour, 0) + 1
    assert kpis.calls_per_hour == dict(sorted(hours.items()))
    if answered:
        mean = sum(c.seconds_to_answer or 0 for c in answered) / len(answered)
        assert kpis.avg_seconds_to_answer == pytest.approx(mean, abs=1e-3)
    else:
        assert kpis.avg_seconds_to_answer is None


def test_one_statement_per_filter_shape(day: DutyRecord) -> None:
    day.kpis(T0, T0 + timedelta(days=1), flt=CallFilter(agent="1024", hours=(8, 18)))
    before = kpi_statements.cache_info()
    other = day.kpis(T0, T0 + timedelta(hours=12), flt=CallFilter(agent="1025", hours=(9, 17)))
    after = kpi_statements.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert other.total == len(
        [
            c
            for c in day.calls(
                CallFilter(since=T0, until=T0 + timedelta(hours=12), agent="1025", hours=(9, 17))
            )
            if c.sealed
        ]
    )


@pytest.mark.parametrize(
    "flt",
    [CallFilter(hours=(-1, 5)), CallFilter(hours=(3, 25)), CallFilter(category="天气")],
)
def test_bad_filter_values_are_refused(day: DutyRecord, flt: CallFilter) -> None:
    with pytest.raises(InvalidFact):
        day.kpis(T0, T0 + timedelta(days=1), flt=flt)
