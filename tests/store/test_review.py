"""Review queries: keyset pages cover every call exactly once, search, ring limit, per agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.store import (
    AgentRole,
    CallFilter,
    CallOutcome,
    DutyRecord,
    InvalidFact,
    UnknownRecord,
)
from console.store.review import (
    MAX_PAGE,
    ReviewFilter,
    SortKey,
    add_quality_review,
    agent_kpis,
    call_page,
    count_calls,
    quality_reviews,
    quality_week,
)

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def fill(store: DutyRecord, n: int) -> list[str]:
    """n calls a minute apart; every third unanswered, answer seconds vary 1..29."""
    keys = []
    for i in range(n):
        ring = T0 + timedelta(minutes=i)
        key = store.open_call("hotline", ring, caller_number=f"1380000{i:04d}")
        if i % 3 == 2:
            store.seal_call(key, CallOutcome.ABANDONED)
        else:
            answered = ring + timedelta(seconds=1 + (i * 7) % 29)
            store.seal_call(
                key,
                CallOutcome.ANSWERED,
                answered_at=answered,
                ended_at=answered + timedelta(seconds=30 + i),
                answered_by="1024" if i % 2 else "2048",
                category="repair" if i % 4 == 0 else "consultation",
                content=f"call {i}: {'电梯故障' if i % 5 == 0 else '咨询物业费'} 100%_done",
                satisfaction=1 + i % 3,
            )
        keys.append(key)
    return keys


def all_pages(store: DutyRecord, flt: ReviewFilter, size: int) -> list[list[str]]:
    pages = []
    page = call_page(store, flt, size=size)
    pages.append([c.key for c in page.calls])
    while page.next is not None:
        page = call_page(store, flt, page.next, size=size)
        pages.append([c.key for c in page.calls])
    return pages


@pytest.mark.parametrize("sort", list(SortKey))
def test_pages_cover_every_call_once_in_order(store: DutyRecord, sort: SortKey) -> None:
    keys = fill(store, 23)
    pages = all_pages(store, ReviewFilter(sort=sort), size=5)
    flat = [k for p in pages for k in p]
    assert sorted(flat) == sorted(keys)
    assert len(flat) == len(set(flat))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    records = {c.key: c for c in store.calls()}
    if sort is SortKey.NEWEST:
        assert flat == list(reversed(keys))
    elif sort is SortKey.OLDEST:
        assert flat == keys
    else:
        attr = "seconds_to_answer" if sort is SortKey.SLOWEST_ANSWER else "handling_seconds"
        values = [getattr(records[k], attr) or -1.0 for k in flat]
        assert values == sorted(values, reverse=True)


def test_search_and_ring_limit_match_a_plain_scan(store: DutyRecord) -> None:
    fill(store, 30)
    everything = store.calls()
    found = all_pages(store, ReviewFilter(text="电梯"), size=100)[0]
    assert sorted(found) == sorted(c.key for c in everything if c.content and "电梯" in c.content)
    assert found  # the data has some
    within = all_pages(store, ReviewFilter(within_limit=True, ring_limit_seconds=10), 100)[0]
    assert sorted(within) == sorted(
        c.key for c in everything if c.seconds_to_answer is not None and c.seconds_to_answer <= 10
    )
    late = all_pages(store, ReviewFilter(within_limit=False, ring_limit_seconds=10), 100)[0]
    assert sorted(late + within) == sorted(c.key for c in everything)
    assert count_calls(store, ReviewFilter(within_limit=True, ring_limit_seconds=10)) == len(within)


def test_search_treats_percent_and_underscore_as_text(store: DutyRecord) -> None:
    fill(store, 6)
    assert count_calls(store, ReviewFilter(text="100%_done")) == 4  # the answered ones
    assert count_calls(store, ReviewFilter(text="%")) == 4
    assert count_calls(store, ReviewFilter(text="1%0")) == 0


def test_search_words_combine_and_filters_stack(store: DutyRecord) -> None:
    fill(store, 30)
    flt = ReviewFilter(CallFilter(agent="2048", category="repair"), text="电梯 call")
    expected = [
        c.key
        for c in store.calls(CallFilter(agent="2048", category="repair"))
        if c.content and "电梯" in c.content
    ]
    assert sorted(all_pages(store, flt, 100)[0]) == sorted(expected)
    assert count_calls(store, flt) == len(expected)


def test_pages_show_amended_values(store: DutyRecord) -> None:
    keys = fill(store, 3)
    store.amend(keys[0], "category", "complaint", who="9001", why="misfiled")
    page = call_page(store, ReviewFilter(sort=SortKey.OLDEST))
    assert page.calls[0].category == "complaint"
    assert page.calls[0].amended_fields == ("category",)


def test_agent_kpis_add_up_to_the_answered_total(store: DutyRecord) -> None:
    fill(store, 30)
    store.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    store.add_follow_up("1024", "回电", T0 + timedelta(hours=1))  # overdue at the clock's noon
    store.add_follow_up("1024", "回电", T0 + timedelta(days=2))
    since, until = T0, T0 + timedelta(days=1)
    per_agent = agent_kpis(store, since, until)
    overall = store.kpis(since, until)
    assert sorted(per_agent) == ["1024", "2048"]
    assert sum(k.answered for k in per_agent.values()) == overall.answered
    for agent, figures in per_agent.items():
        assert figures == store.kpis(since, until, flt=CallFilter(agent=agent)), agent
    limited = agent_kpis(store, since, until, 5.0, CallFilter(category="repair"))
    for agent, figures in limited.items():
        assert figures == store.kpis(since, until, 5.0, CallFilter(agent=agent, category="repair"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: call_page(s, ReviewFilter(), size=0), "page size"),
        (lambda s: call_page(s, ReviewFilter(), size=MAX_PAGE + 1), "page size"),
        (lambda s: count_calls(s, ReviewFilter(text="x" * 201)), "search text"),
        (lambda s: count_calls(s, ReviewFilter(within_limit=True, ring_limit_seconds=-1)), "ring"),
        (
            lambda s: call_page(s, ReviewFilter(CallFilter(since=datetime(2026, 3, 2)))),
            "time zone",
        ),
        (
            lambda s: call_page(s, ReviewFilter(CallFilter(since=T0, until=T0 - timedelta(1)))),
            "before",
        ),
        (lambda s: agent_kpis(s, datetime(2026, 3, 2), T0), "time zones"),
        (lambda s: count_calls(s, ReviewFilter(CallFilter(category="nonsense"))), "category"),
    ],
)
def test_bad_review_input_is_a_clear_error(store: DutyRecord, call, message: str) -> None:  # type: ignore[no-untyped-def]
    fill(store, 2)
    with pytest.raises(InvalidFact, match=message):
        call(store)
    assert len(store.calls()) == 2  # nothing lost


def test_quality_reviews_count_per_agent_per_week(store: DutyRecord, clock) -> None:  # type: ignore[no-untyped-def]
    keys = fill(store, 12)
    for agent in ("1024", "2048", "3000"):
        store.create_agent(agent, agent, AgentRole.AGENT, f"s3cret-{agent}")
    records = {k: store.get_call(k) for k in keys}
    by_1024 = [k for k in keys if records[k].answered_by == "1024"]
    by_2048 = [k for k in keys if records[k].answered_by == "2048"]
    add_quality_review(store, by_1024[0], "9001", 90, "规范用语到位")
    add_quality_review(store, by_1024[1], "9001", 70)
    add_quality_review(store, by_2048[0], "9001", 55, "未邀请评价")
    week = quality_week(store, T0)
    assert week == {"1024": 2, "2048": 1, "3000": 0}
    reviews = quality_reviews(store, T0, T0 + timedelta(days=7))
    assert [(r.agent, r.score) for r in reviews] == [("1024", 90), ("1024", 70), ("2048", 55)]
    assert reviews[0].notes == "规范用语到位" and reviews[0].reviewer == "9001"
    assert quality_week(store, T0 + timedelta(days=7)) == {"1024": 0, "2048": 0, "3000": 0}
    assert store.verify().ok  # reviews are chained like every other audit entry


def test_bad_quality_reviews_are_refused_and_nothing_is_written(store: DutyRecord) -> None:
    keys = fill(store, 3)
    unanswered = keys[2]
    answered = keys[0]
    open_key = store.open_call("hotline", T0 + timedelta(hours=5))
    bad = [
        (lambda: add_quality_review(store, answered, "9001", 101), "0..100"),
        (lambda: add_quality_review(store, answered, "9001", -1), "0..100"),
        (lambda: add_quality_review(store, answered, "9001", True), "0..100"),  # type: ignore[arg-type]
        (lambda: add_quality_review(store, answered, "9001", 7.5), "0..100"),  # type: ignore[arg-type]
        (lambda: add_quality_review(store, answered, " ", 80), "who reviewed"),
        (lambda: add_quality_review(store, answered, "9001", 80, "x" * 2001), "at most"),
        (lambda: add_quality_review(store, unanswered, "9001", 80), "not answered by an agent"),
        (lambda: add_quality_review(store, open_key, "9001", 80), "still open"),
    ]
    for call, message in bad:
        with pytest.raises(InvalidFact, match=message):
            call()
    with pytest.raises(UnknownRecord):
        add_quality_review(store, "no-such-call", "9001", 80)
    assert quality_reviews(store, T0, T0 + timedelta(days=7)) == []
