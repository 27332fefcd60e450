"""A callback in the duty record (回访): a call row of its own, linked to its follow-up,
bound, chained and sealed like every call; `verify` stays sound; figures count callers only.

Bad inputs tried: a follow-up with no call (no number), closing by hand a follow-up that has
a number to call back (refused for an agent, allowed for a supervisor), a callback's kind or
link changed after the open (refused), a database locked while the callback is up (nothing
lost: it lands once the lock goes), a forged link on a sealed row (verify names it).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.store import (
    AgentRole,
    CallOutcome,
    DutyRecord,
    FollowUpStatus,
    InvalidFact,
    Outbox,
)
from tests.store.conftest import Clock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


def incoming_with_follow_up(
    store: DutyRecord, number: str | None = "13800138000"
) -> tuple[str, str]:
    store.create_agent("1024", "张三", AgentRole.AGENT, "pw-1024")
    call = store.open_call("hotline", T0, caller_number=number, sip_call_id="in-1", seat="s1")
    store.update_open_call(call, answered_at=T0 + timedelta(seconds=3), answered_by="1024")
    store.seal_call(call, CallOutcome.ANSWERED, ended_at=T0 + timedelta(seconds=60))
    fu = store.add_follow_up("1024", "回电:3号楼漏水", T0 + timedelta(hours=4), call_key=call)
    return call, fu.key


def test_a_reached_callback_is_sealed_linked_and_closes_its_follow_up(
    store: DutyRecord, clock: Clock
) -> None:
    store.anchor_key = KEY
    incoming, fu = incoming_with_follow_up(store)
    target = store.callback_target(fu)
    assert (target.has_call, target.number) == (True, "13800138000")
    clock.now = T0 + timedelta(hours=1)
    key = store.open_callback("hotline", fu, "13800138000", "1024", seat="s1",
                              sip_call_id="out-1", at=clock.now)
    store.callback_answered(key, clock.now + timedelta(seconds=5))
    clock.now += timedelta(seconds=65)
    store.seal_callback(key, CallOutcome.REACHED, ended_at=clock.now, end_reason="remote_bye",
                        action="callback to 13800138000 by 1024: 200 OK")
    store.close_by_callback(fu, key, "1024", "13800138000")
    [cb] = store.callbacks_of(fu)
    assert cb.key == key and cb.follow_up_key == fu and cb.number == "13800138000"
    assert cb.outcome is CallOutcome.REACHED and cb.placed_by == "1024"
    assert cb.sealed_at is not None and cb.seq == 2 and cb.row_hash  # chained after the call
    closed = store.follow_ups(status=None)[0]
    assert closed.status is FollowUpStatus.DONE and key in (closed.closing_note or "")
    assert any(key in e.detail for e in store.audit_log() if e.action == "follow_up")
    report = store.verify()
    assert report.ok, report.problem
    # The figures count the caller's call, never the callback (an outgoing call).
    kpis = store.kpis(T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    assert (kpis.total, kpis.answered) == (1, 1)
    assert store.get_call(incoming).outcome is CallOutcome.ANSWERED


def test_a_callback_not_answered_leaves_the_follow_up_open(store: DutyRecord) -> None:
    _, fu = incoming_with_follow_up(store)
    for outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED):
        key = store.open_callback("hotline", fu, "13800138000", "1024", seat="s1")
        store.seal_callback(key, outcome, ended_at=T0 + timedelta(hours=1),
                            end_reason="refused", action=f"{outcome.value}")
    assert [c.outcome for c in store.callbacks_of(fu)] == [
        CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED]
    assert store.follow_ups()[0].status is FollowUpStatus.OPEN
    assert store.callback_tally([fu, "no-such"]) == {fu: (3, CallOutcome.FAILED)}
    kpis = store.kpis(T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    assert (kpis.total, kpis.missed) == (1, 0)  # three unanswered callbacks: no missed call
    assert store.verify().ok


def test_closing_by_hand_follows_the_domain(store: DutyRecord) -> None:
    _, fu = incoming_with_follow_up(store)
    store.create_agent("9001", "主任", AgentRole.SUPERVISOR, "pw-9001")
    with pytest.raises(InvalidFact, match="closes when a callback reaches the caller"):
        store.close_follow_up_by_hand(fu, "1024", "已处理")
    assert store.follow_ups()[0].status is FollowUpStatus.OPEN
    done = store.close_follow_up_by_hand(fu, "9001", "主任确认已处理")
    assert done.status is FollowUpStatus.DONE
    # one filed by hand (no call, no number) is its owner's to close, as before
    own = store.add_follow_up("1024", "整理工单", T0 + timedelta(hours=1))
    assert store.callback_target(own.key).has_call is False
    assert store.close_follow_up_by_hand(own.key, "1024", "已整理").status is FollowUpStatus.DONE


def test_a_callbacks_kind_and_link_are_given_at_the_open_only(store: DutyRecord) -> None:
    _, fu = incoming_with_follow_up(store)
    key = store.open_callback("hotline", fu, "13800138000", "1024")
    for fact in ("kind", "follow_up_key"):
        with pytest.raises(InvalidFact):
            store.update_open_call(key, **{fact: "x"})
    with pytest.raises(InvalidFact, match="needs the follow-up"):
        store.open_callback("hotline", "", "13800138000", "1024")


def test_start_up_seals_a_callback_left_open_by_a_crash(db_url: str, clock: Clock) -> None:
    store = DutyRecord(db_url, tz=UTC, clock=clock)
    store.anchor_key = KEY
    _, fu = incoming_with_follow_up(store)
    key = store.open_callback("hotline", fu, "13800138000", "1024", seat="s1")
    store.close()
    again = DutyRecord(db_url, tz=UTC, clock=clock)
    again.anchor_key = KEY
    assert again.seal_interrupted_on_start(lines=["hotline"], seat="s1") == [key]  # bound
    assert again.callbacks_of(fu)[0].outcome is CallOutcome.INTERRUPTED
    assert again.follow_ups()[0].status is FollowUpStatus.OPEN
    assert again.verify().ok
    again.close()


def test_a_forged_link_on_a_sealed_callback_breaks_the_chain(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, clock=clock)
    _, fu = incoming_with_follow_up(store)
    other = store.add_follow_up("1024", "别的事项", T0 + timedelta(hours=2))
    key = store.open_callback("hotline", fu, "13800138000", "1024")
    store.seal_callback(key, CallOutcome.REACHED, ended_at=T0 + timedelta(hours=1),
                        end_reason="remote_bye", action="reached")
    store.close()
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER calls_sealed_no_update")  # the insider removes the guard
    raw.execute("UPDATE calls SET follow_up_key = ? WHERE key = ?", (other.key, key))
    raw.commit()
    raw.close()
    again = DutyRecord(str(db), tz=UTC, clock=clock)
    report = again.verify()
    assert not report.ok and key in (report.problem or "")
    again.close()


def test_database_locked_while_the_callback_is_up_loses_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    db = tmp_path / "duty.db"
    store = DutyRecord(str(db), tz=UTC, clock=clock, busy_timeout_ms=200)
    _, fu = incoming_with_follow_up(store)
    store.attach_outbox(Outbox(tmp_path / "outbox", "seat"))
    assert store.settle(5)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the database goes away as the callback is placed
    key = store.open_callback("hotline", fu, "13800138000", "1024", seat="s1")
    store.callback_answered(key, T0 + timedelta(hours=1))
    store.seal_callback(key, CallOutcome.REACHED, ended_at=T0 + timedelta(hours=1, minutes=1),
                        end_reason="remote_bye", action="reached")
    store.close_by_callback(fu, key, "1024", "13800138000")
    assert store.outbox_status is not None and store.outbox_status.pending >= 4
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.settle(15)
    [cb] = store.callbacks_of(fu)
    assert cb.outcome is CallOutcome.REACHED and cb.answered_at is not None
    assert store.follow_ups(status=None)[0].status is FollowUpStatus.DONE
    assert store.verify().ok
    store.close()


def test_the_supervisors_call_log_lists_a_callback_that_no_figure_counts(
    store: DutyRecord,
) -> None:
    from console.store.review import ReviewFilter, call_page, count_calls

    _, fu = incoming_with_follow_up(store)
    key = store.open_callback("hotline", fu, "13800138000", "1024", seat="s1")
    store.seal_callback(key, CallOutcome.BUSY, ended_at=T0 + timedelta(hours=1),
                        end_reason="refused", action="callback to 13800138000: 486 Busy Here")
    page = call_page(store, ReviewFilter())
    assert {r.outcome for r in page.calls} == {CallOutcome.ANSWERED, CallOutcome.BUSY}
    assert count_calls(store, ReviewFilter()) == 2
    kpis = store.kpis(T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    assert (kpis.total, kpis.missed, kpis.answered) == (1, 0, 1)
