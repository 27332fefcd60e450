"""Snapshot tests of the supervisor's call log and KPI tab: frozen clock, no cursor blink.

The data is `fill_week` (no random content; call keys are not on these screens). Update
with `pytest tests/ui/supervisor/test_review_snapshots.py --snapshot-update` together with
a Textual bump.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from console.app import DutyConsoleApp
from console.headset import HeadsetState
from console.widgets.review.call_log import CallLogPane
from console.widgets.review.kpis import KpiPane
from sip.api import LineStatus
from tests.ui.helpers import login, screen_name, until
from tests.ui.supervisor.conftest import SUPERVISOR

SIZE = (160, 45)


async def _review(pilot: Pilot[int]) -> DutyConsoleApp:
    app = pilot.app
    assert isinstance(app, DutyConsoleApp)
    await until(pilot, lambda: app.line_status is LineStatus.REGISTERED, "line polled")
    await until(pilot, lambda: app.headset_status.state is HeadsetState.READY, "headset")
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
    pane = app.screen.query_one(CallLogPane)
    await until(pilot, lambda: pane.total is not None and not pane.busy, "call log")
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    app.clear_notifications()
    return app


def test_call_log(snap_compare, build: Callable[..., DutyConsoleApp], week) -> None:  # type: ignore[no-untyped-def]
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _review(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_kpis_of_the_week(snap_compare, build: Callable[..., DutyConsoleApp], week) -> None:  # type: ignore[no-untyped-def]
    app = build()

    async def run_before(pilot: Pilot[int]) -> None:
        await _review(pilot)
        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-kpis"
        pane = app.screen.query_one(KpiPane)
        await until(pilot, lambda: pane.view is not None, "kpis")
        shown = pane.shown
        app.screen.query_one("#k-period").value = "week"  # type: ignore[attr-defined]
        await until(pilot, lambda: pane.shown > shown, "week kpis")
        for widget in app.screen.query(Input):
            widget.cursor_blink = False
        app.screen.query_one("#k-overall").focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
