"""Pilot tests around the shift: handover at login, away overdue, night switch, notes kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from textual.widgets import Input, TextArea

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep, GatePostAlarm
from console.domain.agent import AgentState as SeatState
from console.domain.labels import Language
from console.domain.night import DecisionSource, NightMode
from console.headset import Headset
from console.store import CallOutcome
from sip.api import LineStatus
from tests.ui.conftest import TZ
from tests.ui.fakes import FakeAudio, FakeClock, FakeFlow, FakeLine
from tests.ui.helpers import (
    answer_call,
    classify,
    login,
    press_button,
    screen_name,
    screen_text,
    until,
)

Build = Callable[..., DutyConsoleApp]


async def test_handover_is_shown_and_accepted_at_login(build: Build, store) -> None:
    written = store.write_handover("2048", "夜间电梯故障已报修", "3号楼漏水待回复")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "HandoverAcceptScreen", "handover")
        text = screen_text(app)
        assert "夜间电梯故障已报修" in text and "3号楼漏水待回复" in text and "2048" in text
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat after accept")
        await until(pilot, lambda: store.handovers()[-1].accepted_by == "1024", "accepted")
    assert store.handovers()[-1].key == written.key


async def test_own_handover_is_not_offered_back(build: Build, store) -> None:
    store.write_handover("1024", "my notes", "")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        assert store.handovers()[-1].accepted_by is None


async def test_write_handover_then_logout(build: Build, store) -> None:
    store.add_follow_up("1024", "call back 3号楼", dt.datetime(2026, 3, 3, 9, 0, tzinfo=TZ))
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: "call back 3号楼" in screen_text(app), "follow-up listed")
        await pilot.press("o")
        await until(pilot, lambda: screen_name(app) == "HandoverWriteScreen")
        await until(pilot, lambda: "call back 3号楼" in app.screen.query_one(
            "#handover-open-input", TextArea).text, "carry-over prefilled")
        await pilot.press(*"quiet shift")
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "LoginScreen", "logged out")
        h = store.handovers()[-1]
        assert h.outgoing == "1024" and h.notes == "quiet shift"
        assert "call back 3号楼" in h.open_items
        assert app.agent is None


async def test_away_shows_timer_and_overdue_after_the_limit(
    build: Build, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await pilot.press("b")
        await until(pilot, lambda: screen_name(app) == "AwayScreen")
        await pilot.press("enter")  # no reason: refused, stays open
        await until(pilot, lambda: "示忙需要填写原因" in screen_text(app), "reason required")
        assert app.agent is not None and app.agent.state is SeatState.READY
        await pilot.press(*"lunch", "enter")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        assert app.agent.state is SeatState.AWAY
        clock.advance(15 * 60)
        await until(pilot, lambda: "15:00/15:00" in screen_text(app), "at the limit")
        assert "超时" not in screen_text(app)
        clock.advance(1)
        await until(pilot, lambda: "超时" in screen_text(app), "overdue shown")
        await pilot.press("b")
        await until(pilot, lambda: app.agent is not None and app.agent.state is SeatState.READY)
        assert app.agent.changes[-1].note == "back overdue"


async def test_night_switch_early_with_reason_and_the_automatic_warning(
    build: Build, clock: FakeClock, night: NightMode, store
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen")
        await press_button(pilot, "early")  # no reason yet: refused by the domain, dialog stays
        await until(pilot, lambda: "切换夜间模式需要填写原因" in screen_text(app), "reason needed")
        assert night.override is None
        reason_input = app.screen.query_one("#night-reason", Input)
        reason_input.value = "停电,提前转门岗"
        await until(pilot, lambda: reason_input.value == "停电,提前转门岗", "reason typed")
        await press_button(pilot, "early")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "switched")
        decision = night.decide(clock.now())
        assert decision.night and decision.source is DecisionSource.OVERRIDE
        await until(pilot, lambda: "夜间转门岗 (人工)" in screen_text(app), "night shown")
        await until(pilot, lambda: any(a.action == "night_mode" for a in store.audit_log()))
        # Back to the schedule, then a minute before 17:30 the switch is announced.
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen")
        await press_button(pilot, "clear")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        assert night.override is None
        clock.advance((dt.datetime(2026, 3, 2, 21, 0, tzinfo=TZ) - clock.now()).total_seconds()
                      - 50)
        await until(pilot, lambda: "即将自动切换 21:00 → 夜间转门岗" in screen_text(app),
                    "automatic switch announced")


async def test_notes_are_kept_when_the_console_closes_mid_typing(
    build: Build, flow: FakeFlow, clock: FakeClock, tmp_path
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c9", "13100000009", clock.now())
        app.screen.query_one("#contact", Input).focus()
        await pilot.press(*"555-0199")
        await pilot.press("ctrl+q")  # before the debounce fires
    saved = json.loads((tmp_path / "drafts" / "c9.json").read_text())
    assert saved["notes"]["contact"] == "555-0199"


async def test_notes_typed_just_before_the_console_is_closed_are_kept(
    build: Build, flow: FakeFlow, clock: FakeClock, tmp_path
) -> None:
    """Closed by other means than Ctrl+Q (the terminal closed, SIGTERM: `exit()`), inside
    the notes' 0.4 s debounce: the screens are gone before the app's unmount, so the seat
    saves the draft from the notes it was told of at every edit, not from the screens."""
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c8", "13100000008", clock.now())
        app.screen.query_one("#contact", Input).focus()
        await pilot.press(*"555-0188")
        app.exit()
    saved = json.loads((tmp_path / "drafts" / "c8.json").read_text())
    assert saved["notes"]["contact"] == "555-0188"


async def test_notes_reach_the_record_open_then_as_amendments(
    build: Build, flow: FakeFlow, clock: FakeClock, store
) -> None:
    key = store.open_call("hotline", clock.now(), caller_number="13200000010", sip_call_id="c10")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c10", "13200000010", clock.now())
        app.screen.query_one("#caller_name", Input).focus()
        await pilot.press(*"Li")
        await until(pilot, lambda: store.get_call(key).caller_name == "Li", "written while open")
        store.seal_call(key, CallOutcome.ANSWERED, ended_at=clock.now())
        flow.emit(CallFinished(clock.now(), "c10", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: "话后处理" in screen_text(app))
        app.screen.query_one("#content", TextArea).focus()
        await pilot.press(*"leak")
        await until(pilot, lambda: store.get_call(key).content == "leak", "amended after seal")
        amendment = store.amendments(key)[-1]
        assert amendment.who == "1024" and "after-call" in amendment.why


async def test_forbidden_phrase_in_notes_is_flagged(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c11", "13000000011", clock.now())
        app.screen.query_one("#content", TextArea).text = "大点声,听不见!"
        await until(pilot, lambda: "服务忌语" in screen_text(app), "flagged")


async def test_bad_follow_up_due_is_refused_and_keeps_the_screen(
    build: Build, flow: FakeFlow, clock: FakeClock, store
) -> None:
    key = store.open_call("hotline", clock.now(), caller_number="13000000012", sip_call_id="c12")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c12", "13000000012", clock.now())
        flow.emit(CallFinished(clock.now(), "c12", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: "话后处理" in screen_text(app))
        app.screen.query_one("#follow_up_due", Input).value = "tomorrow"
        await pilot.press("f10")
        await until(pilot, lambda: "YYYY-MM-DD HH:MM" in screen_text(app), "error shown")
        assert screen_name(app) == "CallScreen"
        app.screen.query_one("#follow_up_due", Input).value = "2026-03-03 10:00"
        classify(app)  # F10 also refuses notes without a category
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: len(store.follow_ups(owner="1024")) == 1, "follow-up opened")
    assert store.follow_ups(owner="1024")[0].call_key == key  # linked to its call


async def test_no_headset_gate_alarm_and_failed_line_are_shown(
    build: Build, flow: FakeFlow, clock: FakeClock, line: FakeLine
) -> None:
    app = build(headset=Headset(FakeAudio([])))
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: "耳机: 无耳机" in screen_text(app), "no headset")
        flow.emit(GatePostAlarm(clock.now(), "sip:gate@127.0.0.1", "no answer to OPTIONS"))
        await until(pilot, lambda: "门岗: 无应答!" in screen_text(app), "gate alarm")
        line.set_status(LineStatus.FAILED)
        await until(pilot, lambda: "注册失败" in screen_text(app), "line failed")


async def test_english_labels_by_config(build: Build) -> None:
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(150, 45)) as pilot:
        await until(pilot, lambda: "Agent login" in screen_text(app), "english login")
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: "Today's calls" in screen_text(app))
        assert "1024 Ready" in screen_text(app)


async def test_escalate_files_an_event_report_against_the_call(
    build: Build, flow: FakeFlow, clock: FakeClock, store
) -> None:
    """F9: the script marks the escalation and an event report (pre-filled from the notes)
    lands in the duty record against the call; an empty summary is refused, Escape files
    nothing."""
    key = store.open_call("hotline", clock.now(), caller_number="13200000012", sip_call_id="c12")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c12", "13200000012", clock.now())
        app.screen.query_one("#content", TextArea).text = "3号楼电梯困人"
        await pilot.press("f9")
        await until(pilot, lambda: screen_name(app) == "EventReportScreen", "asks a summary")
        summary = app.screen.query_one("#event-summary", Input)
        assert summary.value == "3号楼电梯困人"
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "escape files nothing")
        assert store.event_reports() == []
        await pilot.press("f9")
        await until(pilot, lambda: screen_name(app) == "EventReportScreen")
        app.screen.query_one("#event-summary", Input).value = "   "
        await pilot.press("enter")
        await until(pilot, lambda: "请填写事件摘要" in screen_text(app), "empty refused")
        assert screen_name(app) == "EventReportScreen"
        app.screen.query_one("#event-summary", Input).value = "3号楼电梯困人,已通知维保"
        await pilot.press("enter")
        await until(pilot, lambda: len(store.event_reports()) == 1, "report filed")
        await until(pilot, lambda: "事件报告已提交" in screen_text(app), "agent told")
    report = store.event_reports()[0]
    assert report.call_key == key and report.reporter == "1024"
    assert report.summary == "3号楼电梯困人,已通知维保"
