"""Pilot tests of the other review tabs: morning review, handovers, integrity, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Button, DataTable, Input, Select, TabbedContent

from console.app import DutyConsoleApp
from console.store import ANSWERED_BY_GATE_POST, CallOutcome, DutyRecord
from console.ui.texts import text
from console.widgets.review.export import ExportPane
from console.widgets.review.handovers import HandoverPane
from console.widgets.review.integrity import IntegrityPane
from console.widgets.review.morning import MorningPane, night_bounds
from tests.ui.conftest import START, TZ
from tests.ui.helpers import press_button, screen_text, until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]


def night_call(store: DutyRecord, hour: int, note: str) -> str:
    ring = dt.datetime(2026, 3, 1, hour, 10, tzinfo=TZ)
    key = store.open_call("hotline", ring, caller_number="13700001111")
    store.seal_call(
        key,
        CallOutcome.FORWARDED,
        forwarded_to="gate-south",
        forwarded_at=ring + dt.timedelta(seconds=2),
        forward_result="answered",
        answered_by=ANSWERED_BY_GATE_POST,
        answered_at=ring + dt.timedelta(seconds=9),
        notes=note,
    )
    return key


async def show_tab(pilot, app: DutyConsoleApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one("#review-tabs", TabbedContent).active = tab
    await pilot.pause()


async def test_morning_review_lists_last_night_and_signs_off(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    night = night_call(store, 23, "南门岗: 水管漏水,已通知维修")
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-morning")
        pane = app.screen.query_one(MorningPane)
        await until(pilot, lambda: pane.calls is not None, "night calls")
        expected = store.gate_post_calls(*night_bounds(TZ, START.date()))
        assert [c.key for c in pane.calls or []] == [c.key for c in expected]
        assert night in [c.key for c in expected]
        assert "水管漏水" in screen_text(app)
        await press_button(pilot, "m-sign")
        await until(
            pilot,
            lambda: any(a.action == "morning_review_signed" for a in store.audit_log()),
            "signed",
        )
        entry = next(a for a in store.audit_log() if a.action == "morning_review_signed")
        assert entry.who == "9001" and night in entry.detail
        # A bad date is named; the list stays.
        app.screen.query_one("#m-day", Input).value = "03/02"
        pane.reload()
        await pilot.pause()
        assert text("rv.bad_date").format(what=text("rv.m.day"), value="03/02") in screen_text(app)
        assert pane.calls is not None and night in [c.key for c in pane.calls]


async def test_handovers_show_who_accepted_and_the_supervisor_signs(build: Build, store) -> None:  # type: ignore[no-untyped-def]
    written = store.write_handover("1024", "平静的一天", "3号楼电梯待回访")
    store.accept_handover(written.key, "2048")
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-handovers")
        pane = app.screen.query_one(HandoverPane)
        await until(pilot, lambda: pane.handovers is not None, "handovers")
        row = [str(c) for c in app.screen.query_one("#h-table", DataTable).get_row(written.key)]
        assert row[1] == "1024" and row[2] == "2048" and row[4] == "未签"
        await press_button(pilot, "h-sign")
        await until(pilot, lambda: store.handovers()[0].signed_by == "9001", "signed")
        await until(
            pilot,
            lambda: str(app.screen.query_one("#h-table", DataTable).get_row(written.key)[4])
            == "9001",
            "shown signed",
        )
        await press_button(pilot, "h-sign")  # twice: the record refuses, the screen says so
        await until(pilot, lambda: text("rv.h.already").format(who="9001") in screen_text(app),
                    "refusal")


async def test_integrity_runs_verify_in_a_worker_and_shows_the_archive(
    build: Build, store, week
) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-integrity")
        pane = app.screen.query_one(IntegrityPane)
        await press_button(pilot, "i-run")
        await until(pilot, lambda: pane.result is not None, "verify")
        assert pane.result is not None and pane.result.report.ok
        assert pane.result.report.checked >= len(week)
        assert pane.result.archive.calls_held == len(week)
        assert text("rv.i.verdict").format(verdict=text("rv.i.sound")) in screen_text(app)
        assert not app.screen.query_one("#i-run", Button).disabled
        assert any(a.action == "verify" and a.who == "9001" for a in store.audit_log())


async def test_export_of_the_current_filter_and_a_month(
    build: Build, store, week, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        log = await open_review(pilot, app)
        await show_tab(pilot, app, "tab-export")
        pane = app.screen.query_one(ExportPane)
        app.screen.query_one("#e-dir", Input).value = str(tmp_path / "out")
        app.screen.query_one("#e-format", Select).value = "csv"
        await press_button(pilot, "e-run")
        await until(pilot, lambda: pane.last is not None, "filter export")
        assert pane.last is not None and pane.last.rows == log.total
        assert pane.last.path.exists() and pane.last.path.suffix == ".csv"
        first = pane.last
        app.screen.query_one("#e-what", Select).value = "month"
        app.screen.query_one("#e-format", Select).value = "xlsx"
        await press_button(pilot, "e-run")
        await until(pilot, lambda: pane.last is not first, "month export")
        assert pane.last is not None and pane.last.path.suffix == ".xlsx"
        march = [c for c in store.calls() if c.ring_at.astimezone(TZ).month == 3]
        assert pane.last.rows == len(march)
        exports = [a for a in store.audit_log() if a.action == "export"]
        assert len(exports) == 2 and all(a.who == "9001" for a in exports)
        # Bad input: a month that is not one; a search in the filter the export can't apply.
        app.screen.query_one("#e-month", Input).value = "2026-13"
        await press_button(pilot, "e-run")
        await until(pilot, lambda: text("rv.bad_date").format(
            what=text("rv.e.month_what"), value="2026-13-01") in screen_text(app), "bad month")
        app.screen.query_one("#e-what", Select).value = "filter"
        app.screen.query_one("#f-text", Input).value = "电梯"
        log.reload()
        await until(pilot, lambda: log.filter.text == "电梯" and not log.busy, "search")
        await press_button(pilot, "e-run")
        await until(pilot, lambda: text("rv.e.no_search")[:12] in screen_text(app), "refused")
        assert len([a for a in store.audit_log() if a.action == "export"]) == 2


async def test_quality_scores_from_the_detail_and_counts_per_agent(
    build: Build, store, week
) -> None:  # type: ignore[no-untyped-def]
    from console.screens.supervisor.detail import CallDetailScreen
    from console.widgets.review.quality import QualityPane

    answered = next(
        c for c in store.calls() if c.answered_by == "1024" and c.ring_at.date() >= START.date()
    )
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-quality")
        pane = app.screen.query_one(QualityPane)
        await until(pilot, lambda: pane.view is not None, "quality")
        assert pane.view is not None and pane.view.per_agent == {"1024": 0, "2048": 0}
        app.push_screen(CallDetailScreen(answered.key))
        await until(
            pilot,
            lambda: isinstance(app.screen, CallDetailScreen) and app.screen.detail is not None,
            "detail",
        )
        for bad in ("", "abc", "101", "-5"):
            app.screen.query_one("#score-value", Input).value = bad
            await press_button(pilot, "score-submit")
            # The reason is scrolled into view, which takes a frame on a loaded machine.
            await until(pilot, lambda: "0..100" in screen_text(app), f"the reason for {bad!r}")
        app.screen.query_one("#score-value", Input).value = "85"
        app.screen.query_one("#score-notes", Input).value = "规范用语到位"
        await press_button(pilot, "score-submit")
        await until(pilot, lambda: "已评分" in screen_text(app), "scored")
        await pilot.press("escape")
        await until(
            pilot, lambda: pane.view is not None and pane.view.per_agent["1024"] == 1, "count"
        )
        assert len(pane.view.reviews) == 1 and pane.view.reviews[0].score == 85
        assert "✗ 差 1" in screen_text(app)
