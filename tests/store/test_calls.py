"""A call's life in the record: open at the ring, facts while open, sealed, amended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from console.store import (
    CallFilter,
    CallOutcome,
    DutyRecord,
    InvalidFact,
    SealedRecordError,
    UnknownRecord,
)
from tests.store.conftest import Clock
from tests.store.helpers import raw

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answered_call(store: DutyRecord, at: datetime = T0, **facts: object) -> str:
    key = store.open_call("hotline", at, caller_number="13800000000", sip_call_id="abc@pbx")
    store.update_open_call(key, answered_at=at + timedelta(seconds=6), answered_by="1024", rings=2)
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        ended_at=at + timedelta(seconds=126),
        category="报修",
        **facts,
    )
    return key


def test_call_lifecycle_keeps_every_fact(store: DutyRecord) -> None:
    key = store.open_call("hotline", T0, caller_number="13800000000", caller_display="张三")
    opened = store.get_call(key)
    assert not opened.sealed and opened.outcome is None
    store.update_open_call(
        key, answered_at=T0 + timedelta(seconds=6), answered_by="1024", rings=2, step="greeting"
    )
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        ended_at=T0 + timedelta(seconds=126),
        category="repair",
        satisfaction=1,
        content="水管漏水",
        caller_name="张先生",
    )
    call = store.get_call(key)
    assert call.sealed and call.outcome is CallOutcome.ANSWERED
    assert call.seconds_to_answer == 6.0 and call.handling_seconds == 120.0
    assert (call.category, call.satisfaction, call.content) == ("repair", 1, "水管漏水")
    assert call.caller_display == "张三" and call.step == "greeting" and call.seq == 1
    assert len(call.row_hash or "") == 64


def test_sealed_call_refuses_updates_through_the_api(store: DutyRecord) -> None:
    key = answered_call(store)
    with pytest.raises(SealedRecordError):
        store.update_open_call(key, notes="late edit")
    with pytest.raises(SealedRecordError):
        store.seal_call(key, CallOutcome.MISSED)
    assert store.get_call(key).notes is None


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE calls SET notes = 'x'",
        "UPDATE calls SET satisfaction = 3",
        "DELETE FROM calls",
        "UPDATE amendments SET why = 'x'",
        "DELETE FROM amendments",
        "DELETE FROM anchors",
        "UPDATE audit_log SET who = 'x'",
    ],
)
def test_database_itself_refuses_changes_of_sealed_rows(store: DutyRecord, statement: str) -> None:
    key = answered_call(store)
    store.amend(key, "category", "complaint", who="2001", why="misfiled")
    store.record_anchors("test")
    store.audit("export", "2001", "test")
    with pytest.raises(DBAPIError, match="duty record"):
        raw(store, statement)
    assert store.verify().ok


def test_open_call_may_still_be_updated_but_not_deleted(store: DutyRecord) -> None:
    key = store.open_call("hotline", T0)
    raw(store, "UPDATE calls SET notes = 'fine while open'")
    assert store.get_call(key).notes == "fine while open"
    with pytest.raises(DBAPIError, match="duty record"):
        raw(store, "DELETE FROM calls")


def test_amendment_is_a_new_row_and_the_original_stays(store: DutyRecord, clock: Clock) -> None:
    key = answered_call(store, satisfaction=2)
    clock.now += timedelta(hours=1)
    first = store.amend(key, "satisfaction", 1, who="2001", why="caller pressed 1, misheard")
    second = store.amend(key, "category", "投诉", who="2001", why="it was a complaint")
    assert (first.old_value, first.new_value) == ("2", "1")
    assert (second.old_value, second.new_value) == ("repair", "complaint")
    amended = store.get_call(key)
    original = store.get_call(key, amended=False)
    assert (amended.satisfaction, amended.category) == (1, "complaint")
    assert amended.amended_fields == ("category", "satisfaction")
    assert (original.satisfaction, original.category) == (2, "repair")
    assert [a.field for a in store.amendments(key)] == ["satisfaction", "category"]
    again = store.amend(key, "satisfaction", 3, who="2001", why="second thoughts")
    assert again.old_value == "1"
    assert store.verify().ok


@pytest.mark.parametrize(
    ("field", "value", "who", "why", "message"),
    [
        ("ring_at", "x", "2001", "r", "cannot be amended"),
        ("seq", 1, "2001", "r", "cannot be amended"),
        ("satisfaction", 7, "2001", "r", "1, 2 or 3"),
        ("category", "gossip", "2001", "r", "unknown"),
        ("outcome", "vanished", "2001", "r", "unknown"),
        ("answered_at", "yesterday", "2001", "r", "ISO"),
        ("notes", "x", "", "r", "who"),
        ("notes", "x", "2001", "  ", "reason"),
    ],
)
def test_bad_amendments_are_refused_and_change_nothing(
    store: DutyRecord, field: str, value: object, who: str, why: str, message: str
) -> None:
    key = answered_call(store)
    with pytest.raises(InvalidFact, match=message):
        store.amend(key, field, value, who=who, why=why)
    assert store.amendments(key) == []
    assert store.verify().ok


def test_amending_open_or_unknown_calls_is_refused(store: DutyRecord) -> None:
    key = store.open_call("hotline", T0)
    with pytest.raises(InvalidFact, match="still open"):
        store.amend(key, "notes", "x", who="2001", why="r")
    with pytest.raises(UnknownRecord):
        store.amend("nope", "notes", "x", who="2001", why="r")


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"colour": "red"}, "not a call fact"),
        ({"answered_at": datetime(2026, 3, 2, 9, 0)}, "aware"),
        ({"rings": -1}, "between 0 and 1000"),
        ({"rings": True}, "whole number"),
        ({"satisfaction": 0}, "1, 2 or 3"),
        ({"satisfaction": "9"}, "1, 2 or 3"),
        ({"category": "spam"}, "unknown"),
        ({"notes": "a\x00b"}, "NUL"),
        ({"notes": 42}, "text"),
        ({"outcome": "answered"}, "sealed"),
    ],
)
def test_bad_facts_are_refused_and_lose_nothing(
    store: DutyRecord, facts: dict[str, object], message: str
) -> None:
    key = store.open_call("hotline", T0, caller_number="110")
    store.update_open_call(key, notes="kept")
    with pytest.raises(InvalidFact, match=message):
        store.update_open_call(key, **facts)
    call = store.get_call(key)
    assert (call.notes, call.caller_number, call.sealed) == ("kept", "110", False)


@pytest.mark.parametrize("line", ["", "~admin", "a:b"])
def test_bad_line_names_are_refused(store: DutyRecord, line: str) -> None:
    with pytest.raises(InvalidFact, match="line"):
        store.open_call(line, T0)
    assert store.calls() == []


def test_naive_ring_time_is_refused(store: DutyRecord) -> None:
    with pytest.raises(InvalidFact, match="time zone"):
        store.open_call("hotline", datetime(2026, 3, 2, 9, 0))


def test_unknown_keys_are_named(store: DutyRecord) -> None:
    with pytest.raises(UnknownRecord, match="nokey"):
        store.update_open_call("nokey", notes="x")
    with pytest.raises(UnknownRecord, match="nokey"):
        store.get_call("nokey")


def test_interrupted_calls_are_sealed_at_next_start(
    store: DutyRecord, db_url: str, tmp_path: object, clock: Clock
) -> None:
    mine = store.open_call("hotline", T0)
    store.update_open_call(
        mine, answered_at=T0 + timedelta(seconds=3), answered_by="1024", step="survey"
    )
    other_seat = store.open_call("gate", T0)
    done = answered_call(store)
    assert store.seal_interrupted_on_start(lines=["hotline"]) == [mine]
    call = store.get_call(mine)
    assert call.outcome is CallOutcome.INTERRUPTED and call.step == "survey"
    assert call.answered_by == "1024" and call.seconds_to_answer == 3.0
    assert not store.get_call(other_seat).sealed
    assert store.get_call(done).outcome is CallOutcome.ANSWERED
    assert store.seal_interrupted_on_start(lines=["hotline"]) == []
    assert store.verify().ok


def test_review_filters(store: DutyRecord) -> None:
    a = answered_call(store, T0, satisfaction=1)
    b = answered_call(store, T0 + timedelta(hours=10), satisfaction=3)
    c = store.open_call("hotline", T0 + timedelta(hours=16))  # 01:00 next day
    store.update_open_call(c, forwarded_to="gate-south", forwarded_at=T0 + timedelta(hours=16))
    store.seal_call(c, CallOutcome.FORWARDED, answered_by="gate_post")
    day_start, day_end = store.day_bounds(T0.date())
    assert [r.key for r in store.calls(CallFilter(since=day_start, until=day_end))] == [a, b]
    assert [r.key for r in store.calls(CallFilter(satisfaction=3))] == [b]
    assert [r.key for r in store.calls(CallFilter(forwarded=True))] == [c]
    assert [r.key for r in store.calls(CallFilter(agent="1024", hours=(8, 12)))] == [a]
    assert [r.key for r in store.calls(CallFilter(hours=(18, 6)))] == [b, c]
    assert [r.key for r in store.calls(CallFilter(outcome=CallOutcome.FORWARDED))] == [c]
    assert [r.key for r in store.calls(CallFilter(category="报修", limit=1))] == [a]
    night = store.gate_post_calls(T0 + timedelta(hours=12), T0 + timedelta(hours=24))
    assert [r.key for r in night] == [c]
    with pytest.raises(InvalidFact):
        store.calls(CallFilter(hours=(25, 3)))
