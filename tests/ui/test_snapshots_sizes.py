"""Snapshots of the seat, call, after-call and review screens at 80×24 and 160×48, in both
languages (issue 11, "What to show"): a cut label, a footer that loses its keys or a word
left in the other language shows up as a changed picture. Clock frozen, no cursor blink,
no notifications; update with `--snapshot-update` in the same change as a Textual bump.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.domain.labels import Language
from console.headset import HeadsetState
from console.store import CallOutcome, DutyRecord
from console.widgets.review.call_log import CallLogPane
from console.widgets.review_table import ReviewTable
from sip.api import LineStatus
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import login, ring, screen_name, until
from tests.ui.supervisor.conftest import SUPERVISOR, fill_week

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
Step = Callable[[Pilot[int], DutyConsoleApp, FakeFlow, FakeClock], Awaitable[None]]


async def _settled(pilot: Pilot[int], app: DutyConsoleApp) -> None:
    await until(pilot, lambda: app.line_status is LineStatus.REGISTERED, "line polled")
    await until(pilot, lambda: app.headset_status.state is HeadsetState.READY, "headset")


def _still(app: DutyConsoleApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False
    app.screen.set_focus(None)
    app.clear_notifications()


async def _seat(pilot: Pilot[int], app: DutyConsoleApp, flow: FakeFlow,
                clock: FakeClock) -> None:
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
    await until(pilot, lambda: app.screen.query_one("#today").row_count == 1, "calls")


async def _call(pilot: Pilot[int], app: DutyConsoleApp, flow: FakeFlow,
                clock: FakeClock) -> None:
    await _seat(pilot, app, flow, clock)
    ring(flow, "c1", "13800000001", clock.now())
    await until(pilot, lambda: screen_name(app) == "RingingScreen", "ringing")
    await pilot.press("enter")
    await until(pilot, lambda: screen_name(app) == "CallScreen", "call")
    await until(pilot, lambda: app.screen.ready, "call screen up")  # type: ignore[attr-defined]
    await pilot.press("f2")


async def _after_call(pilot: Pilot[int], app: DutyConsoleApp, flow: FakeFlow,
                      clock: FakeClock) -> None:
    await _call(pilot, app, flow, clock)
    screen = app.screen
    flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
    await until(pilot, lambda: not screen.live, "after-call work")  # type: ignore[attr-defined]


async def _review(pilot: Pilot[int], app: DutyConsoleApp, flow: FakeFlow,
                  clock: FakeClock) -> None:
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
    pane = app.screen.query_one(CallLogPane)
    await until(pilot, lambda: pane.total is not None and not pane.busy, "call log")
    # The table widens its columns to the rows in its idle pass (DataTable's own); before
    # it the cells are drawn at the headers' widths ("03-02 0…"), a frame a user never
    # reads but a snapshot could take.
    table = app.screen.query_one("#log-table", ReviewTable)
    await until(pilot, lambda: not table._require_update_dimensions and not table._new_rows,
                "the columns measured")


SCREENS: dict[str, Step] = {
    "seat": _seat, "call": _call, "after_call": _after_call, "review": _review,
}


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("language", [Language.ZH, Language.EN], ids=lambda lang: lang.value)
@pytest.mark.parametrize("screen", SCREENS, ids=list(SCREENS))
def test_screen(snap_compare, build: Callable[..., DutyConsoleApp], store: DutyRecord,
                flow: FakeFlow, clock: FakeClock, screen: str, language: Language,
                size: str) -> None:
    if screen == "review":
        fill_week(store, per_day=4)
    else:
        key = store.open_call("hotline", clock.now(), caller_number="13800000009",
                              sip_call_id="s9")
        store.seal_call(key, CallOutcome.ANSWERED, answered_by="1024", category="repair",
                        ended_at=clock.now())
    app = build(settings={"language": language})
    step = SCREENS[screen]

    async def run_before(pilot: Pilot[int]) -> None:
        await _settled(pilot, app)
        await step(pilot, app, flow, clock)
        _still(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
