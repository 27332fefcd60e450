"""Snapshot tests of the seat's screens, with the clock frozen and the cursor not blinking.

Update with `pytest tests/ui/test_snapshots.py --snapshot-update` in the same change as a
Textual bump (Textual is pinned exactly for this reason).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from console.app import DutyConsoleApp
from console.headset import HeadsetState
from console.store import CallOutcome
from sip.api import LineStatus
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import login, ring, screen_name, until

SIZE = (130, 40)


async def _settled(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, DutyConsoleApp)
    await until(pilot, lambda: app.line_status is LineStatus.REGISTERED, "line polled")
    await until(pilot, lambda: app.headset_status.state is HeadsetState.READY, "headset")


def _no_blink(app: DutyConsoleApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


def test_login_screen(snap_compare, build: Callable[..., DutyConsoleApp]) -> None:
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot)
        _no_blink(app)
        app.clear_notifications()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_seat_screen_with_todays_calls(
    snap_compare, build: Callable[..., DutyConsoleApp], store, clock: FakeClock
) -> None:
    key = store.open_call("hotline", clock.now(), caller_number="13800000001", sip_call_id="s1")
    store.seal_call(key, CallOutcome.ANSWERED, answered_by="1024", category="repair",
                    ended_at=clock.now())
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot)
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: app.screen.query_one("#today").row_count == 1, "calls")
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_ringing_banner(
    snap_compare, build: Callable[..., DutyConsoleApp], flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot)
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c1", "13800000001", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen")
        clock.advance(7)
        await until(pilot, lambda: "7 秒" in str(app.screen.query_one("#ring-banner").render()))
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_on_call_screen(
    snap_compare, build: Callable[..., DutyConsoleApp], flow: FakeFlow, clock: FakeClock
) -> None:
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot)
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c1", "13800000001", clock.now())
        await until(pilot, lambda: screen_name(app) == "RingingScreen")
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CallScreen")
        await pilot.press("f2")
        _no_blink(app)
        app.screen.set_focus(None)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_seat_screen_light_theme(snap_compare, build: Callable[..., DutyConsoleApp]) -> None:
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot)
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await pilot.press("f12")
        await until(pilot, lambda: app.theme == "textual-light", "light theme")
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
