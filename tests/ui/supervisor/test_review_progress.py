"""Integrity and export tabs show real progress: records checked of all, rows written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, Input, ProgressBar, Select

from console.app import DutyConsoleApp
from console.store import DutyRecord
from console.store.review import chained_records
from console.ui.texts import text
from console.widgets.review.export import ExportPane
from console.widgets.review.integrity import IntegrityPane
from tests.store.helpers import raw
from tests.ui.helpers import press_button, screen_text, until
from tests.ui.supervisor.test_review_screens import open_review
from tests.ui.supervisor.test_review_tabs import show_tab

Build = Callable[..., DutyConsoleApp]


@pytest.fixture
def fine_grained(monkeypatch: pytest.MonkeyPatch) -> None:
    """Report every few records and show every report (the test data verifies in a blink)."""
    monkeypatch.setattr(IntegrityPane, "VERIFY_STEP", 7)
    monkeypatch.setattr(IntegrityPane, "PROGRESS_INTERVAL", 0.0)
    monkeypatch.setattr(ExportPane, "PROGRESS_INTERVAL", 0.0)


def bar(app: DutyConsoleApp, widget_id: str) -> tuple[float | None, float]:
    found = app.screen.query_one(widget_id, ProgressBar)
    return found.total, found.progress


async def test_verify_shows_records_checked_of_the_total_then_the_result(
    build: Build, store: DutyRecord, week: list[str], fine_grained: None
) -> None:
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        total = chained_records(store)  # the week, and the login's audit entry
        await show_tab(pilot, app, "tab-integrity")
        pane = app.screen.query_one(IntegrityPane)
        await press_button(pilot, "i-run")
        await until(pilot, lambda: pane.result is not None, "verify")
        assert pane.result is not None and pane.result.report.ok
        shown = pane.progress_shown
        assert shown[0] == (0, total) and shown[-1] == (total, total)
        steps = [n for n, _ in shown]
        assert steps == sorted(steps) and len(steps) >= total // 7  # real steps, in order
        assert bar(app, "#i-progress") == (total, total)
        assert f"已校验 {total} / {total}" in screen_text(app)


async def test_a_tampered_record_stops_the_bar_and_is_named(
    build: Build, store: DutyRecord, week: list[str], fine_grained: None
) -> None:
    raw(
        store,
        f"UPDATE calls SET content = 'rewritten' WHERE key = '{week[30]}'",
        bypass_triggers=True,
    )
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-integrity")
        pane = app.screen.query_one(IntegrityPane)
        await press_button(pilot, "i-run")
        await until(pilot, lambda: pane.result is not None, "verify")
        assert pane.result is not None
        report = pane.result.report
        assert not report.ok and week[30] in (report.problem or "")
        total = pane.progress_shown[0][1]
        assert 0 < report.checked < total
        assert bar(app, "#i-progress") == (total, report.checked)
        assert text("rv.i.problem").split("{")[0] in screen_text(app)
        assert any(n.title == text("rv.i.failed") for n in app._notifications)
        assert not app.screen.query_one("#i-run", Button).disabled  # can run again


async def test_export_bar_follows_the_rows_written(
    build: Build, store: DutyRecord, week: list[str], tmp_path: Path, fine_grained: None
) -> None:
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        log = await open_review(pilot, app)
        await show_tab(pilot, app, "tab-export")
        pane = app.screen.query_one(ExportPane)
        app.screen.query_one("#e-dir", Input).value = str(tmp_path)
        app.screen.query_one("#e-format", Select).value = "csv"
        await press_button(pilot, "e-run")
        await until(pilot, lambda: pane.last is not None, "export")
        assert pane.last is not None
        rows = pane.last.rows
        assert rows == log.total and rows > 0
        assert pane.progress_shown == [(n, rows) for n in range(1, rows + 1)]
        assert bar(app, "#e-progress") == (rows, rows)
        # A failing export leaves the bar where it was and says why.
        app.screen.query_one("#e-dir", Input).value = str(tmp_path / "week.csv" / "nested")
        (tmp_path / "week.csv").write_text("a file where a folder should be")
        await press_button(pilot, "e-run")
        await until(pilot, lambda: not app.screen.query_one("#e-run", Button).disabled, "failed")
        assert pane.last.rows == rows
        assert any(n.severity == "error" for n in app._notifications)
