"""People's and the network's words are shown as written, never read as Textual markup.

Labels, Statics, toasts and DataTable string cells parse markup: a caller whose SIP display
name is "[/]…" (the INVITE's From header, chosen by whoever calls) or a note typed as
"[/]门口" raised MarkupError while drawing and stopped the console, "[b]x" styled itself and
"[@click=…]" made a clickable action. Each test puts such text where a screen shows it and
checks the screen shows it verbatim while the console keeps running.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import Input, TextArea

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.domain.night import NightMode
from console.screens.call import CallScreen
from console.screens.handover import HandoverAcceptScreen
from console.screens.ringing import RingingScreen
from console.screens.seat import SeatScreen
from console.store import CallOutcome, DutyRecord
from console.ui.messages import LineStatusPosted
from sip.api import LineStatus
from tests.ui.conftest import START
from tests.ui.fakes import FakeClock, FakeFlow, FakeLine, FakeSipCall
from tests.ui.helpers import answer_call, classify, login, ring, screen_name, screen_text, until
from tests.ui.markup import CALLER, NAME, NOTE, assert_alive, shown, toasts

Build = Callable[..., DutyConsoleApp]






async def test_a_caller_named_in_markup_rings_and_waits_as_sent(
    build: Build, flow: FakeFlow, line: FakeLine, clock: FakeClock
) -> None:
    line.sip_calls.append(FakeSipCall("c1", CALLER, NAME))
    app = build()
    async with app.run_test(size=(160, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        ring(flow, "c1", CALLER, clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "ring banner")
        await until(pilot, lambda: f"{NAME} <{CALLER}>" in screen_text(app), "caller in banner")
        seat = app.screen_stack[-2]
        assert isinstance(seat, SeatScreen)
        # The seat under the banner lists the call waiting, number as sent.
        await until(pilot, lambda: CALLER in shown(seat.query_one("#waiting")), "waiting list")
        await pilot.press("escape")  # hide the banner: the seat is drawn with its list
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat again")
        await until(pilot, lambda: f"· {CALLER} " in screen_text(app), "waiting list drawn")
        assert_alive(app)
        await pilot.press("a")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "on call")
        head = app.screen.query_one("#call-head")
        await until(pilot, lambda: f"{CALLER} ({NAME})" in shown(head), "call head")
        assert f"{CALLER} ({NAME})" in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_a_second_caller_and_a_caller_who_hangs_up_are_named_as_sent(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    other = "[b]x[/b][/]"
    app = build()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        # A call that ends while ringing: the banner's toast names its caller.
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        ring(flow, "c0", CALLER, clock.now())
        await until(pilot, lambda: isinstance(app.screen, RingingScreen), "ringing")
        flow.emit(CallFinished(clock.now(), "c0", CallStep.RINGING, "caller_cancel", None))
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "banner gone")
        await until(pilot, lambda: any(CALLER in t for t in toasts(app)), "toast naming the caller")
        # On a call, a second caller is named in the waiting line and in a toast.
        await answer_call(pilot, flow, "c1", "13800000001", clock.now(), log_in=False)
        ring(flow, "c2", other, clock.now())
        screen = app.screen
        assert isinstance(screen, CallScreen)
        await until(pilot, lambda: other in shown(screen.query_one("#call-waiting")), "waiting")
        await until(pilot, lambda: any(other in t for t in toasts(app)), "toast drawn")
        await pilot.pause()
        assert other in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_notes_in_markup_on_the_call_screen_and_in_the_follow_up(
    build: Build, flow: FakeFlow, clock: FakeClock, store: DutyRecord
) -> None:
    app = build()
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await answer_call(pilot, flow, "c1", CALLER, clock.now())
        screen = app.screen
        assert isinstance(screen, CallScreen)
        screen.query_one("#content", TextArea).text = NOTE
        screen.query_one("#caller_name", Input).value = "[red]"
        flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: not screen.live, "after-call work")
        # A malformed due time quoting markup is refused by a toast that quotes it as typed.
        screen.query_one("#follow_up_due", Input).value = "[/]9:00"
        classify(app)
        await pilot.press("f10")
        await until(pilot, lambda: any("“[/]9:00”" in t for t in toasts(app)), "refusal toast")
        assert screen_name(app) == "CallScreen"
        assert_alive(app)
        screen.query_one("#follow_up_due", Input).value = "2026-03-03 09:00"
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await until(pilot, lambda: len(store.follow_ups(owner="1024")) == 1, "follow-up filed")
        assert store.follow_ups(owner="1024")[0].description == f"[red] {NOTE}"
        seat = app.screen
        seat.action_reload()  # type: ignore[attr-defined]
        await until(pilot, lambda: NOTE in shown(seat.query_one("#followups")), "follow-up")
        assert f"1024: [red] {NOTE}" in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_todays_calls_show_the_caller_number_as_sent(
    build: Build, store: DutyRecord
) -> None:
    ring_at = START - dt.timedelta(minutes=30)
    key = store.open_call("hotline", ring_at, caller_number=CALLER)
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        answered_at=ring_at + dt.timedelta(seconds=3),
        ended_at=ring_at + dt.timedelta(seconds=60),
        answered_by="[i]1024",  # as stored in the record
    )
    app = build()
    async with app.run_test(size=(160, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        table = app.screen.query_one("#today")
        await until(pilot, lambda: table.row_count == 1, "today's call")  # type: ignore[attr-defined]
        cells = [getattr(c, "plain", c) for c in table.get_row(key)]  # type: ignore[attr-defined]
        assert cells[1] == CALLER and cells[3] == "[i]1024"
        await pilot.pause()
        text = screen_text(app)
        assert CALLER in text and "[i]1024" in text
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_a_handover_in_markup_is_shown_to_the_next_shift_as_written(
    build: Build, store: DutyRecord, clock: FakeClock
) -> None:
    store.write_handover("2048", NOTE, "[b]3号楼[/i] 待回访")
    store.add_follow_up("2048", f"回访 {NOTE}", clock.now() + dt.timedelta(hours=2))
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot)
        await until(pilot, lambda: isinstance(app.screen, HandoverAcceptScreen), "handover")
        screen = app.screen
        await until(
            pilot, lambda: NOTE in shown(screen.query_one("#handover-followups")), "follow-ups"
        )
        assert shown(screen.query_one("#handover-notes")) == NOTE
        assert shown(screen.query_one("#handover-open")) == "[b]3号楼[/i] 待回访"
        await pilot.pause()
        text = screen_text(app)
        assert NOTE in text and "[b]3号楼[/i] 待回访" in text
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_a_line_failure_reason_from_the_registrar_is_quoted_as_sent(
    build: Build, line: FakeLine
) -> None:
    reason = "403 [/]Forbidden [b]realm"  # the registrar's reason phrase, over the network
    app = build()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        line.set_status(LineStatus.FAILED)
        app.post_message(LineStatusPosted(LineStatus.FAILED, reason))
        await until(pilot, lambda: any(reason in t for t in toasts(app)), "toast drawn")
        await until(pilot, lambda: f"({reason})" in screen_text(app), "status bar")
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_a_night_switch_reason_in_markup_is_shown_as_typed(
    build: Build, night: NightMode, clock: FakeClock
) -> None:
    reason = "[/]停电 [b]提前"
    app = build()
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
        app.screen.query_one("#night-reason", Input).value = reason
        app.screen.query_one("#early").press()  # type: ignore[attr-defined]
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "switched")
        assert night.override is not None
        detail = night.decide(clock.now()).reason
        assert reason in detail
        # the toast words the decision in the seat's language, the reason as it was typed
        await until(pilot, lambda: any(reason in t for t in toasts(app)), "toast drawn")
        await pilot.press("n")  # the dialog states the decision, the typed reason in it
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
        assert reason in shown(app.screen.query_one("#night-now"))
        await pilot.pause()
        assert reason in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)


async def test_the_event_and_follow_up_dialogs_name_caller_and_item_as_sent(
    build: Build, flow: FakeFlow, clock: FakeClock, store: DutyRecord
) -> None:
    store.add_follow_up("1024", f"回访 {NOTE}", clock.now() + dt.timedelta(hours=2))
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await answer_call(pilot, flow, "c1", CALLER, clock.now())
        await pilot.press("f9")
        await until(pilot, lambda: screen_name(app) == "EventReportScreen", "event dialog")
        assert CALLER in shown(app.screen.query_one(".dialog-title"))
        await pilot.pause()
        assert CALLER in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "CallScreen", "back on the call")
        flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: not app.screen.live, "after-call work")  # type: ignore[attr-defined]
        classify(app)
        await pilot.press("f10")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await pilot.press("f")
        await until(pilot, lambda: screen_name(app) == "FollowUpsScreen", "follow-ups")
        await until(pilot, lambda: app.screen.query_one("#fu-table").row_count == 1, "listed")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CloseFollowUpScreen", "close dialog")
        assert f"回访 {NOTE}" in shown(app.screen.query_one(".dialog-title"))
        await pilot.pause()
        assert f"回访 {NOTE}" in screen_text(app)
        assert_alive(app)
    assert app.return_code in (None, 0)
