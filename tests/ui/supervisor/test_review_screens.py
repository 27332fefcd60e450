"""Pilot tests of the supervisor review: role routing, call log filters, detail, amend, KPIs."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, TabbedContent

from console.app import DutyConsoleApp
from console.screens.supervisor import SupervisorScreen
from console.screens.supervisor.detail import CallDetailScreen
from console.store import CallFilter, CallOutcome, DutyRecord
from console.store.export import export_calls
from console.store.review import ReviewFilter, count_calls
from console.ui.texts import text
from console.widgets.review.call_log import PAGE, CallLogPane
from console.widgets.review.kpis import KpiPane, Period, period_bounds
from console.widgets.review_table import ReviewTable
from tests.ui.conftest import START, TZ
from tests.ui.helpers import login, press_button, screen_name, screen_text, until
from tests.ui.supervisor.conftest import SUPERVISOR, fill_week

Build = Callable[..., DutyConsoleApp]


def log_pane(app: DutyConsoleApp) -> CallLogPane:
    return app.screen.query_one(CallLogPane)


def table_keys(app: DutyConsoleApp) -> list[str]:
    table = app.screen.query_one("#log-table", DataTable)
    return [str(row.value) for row in table.rows]


async def open_review(pilot, app: DutyConsoleApp) -> CallLogPane:  # type: ignore[no-untyped-def]
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "supervisor screen")
    pane = log_pane(app)
    await until(pilot, lambda: pane.total is not None and not pane.busy, "call log")
    return pane


async def refilter(pilot, app: DutyConsoleApp, **values: str) -> CallLogPane:  # type: ignore[no-untyped-def]
    pane = log_pane(app)
    before = pane.generation
    for widget_id, value in values.items():
        widget = app.screen.query_one(f"#{widget_id}")
        if isinstance(widget, Input):
            widget.value = value
        elif isinstance(widget, Select):
            widget.value = value
    pane.reload()
    await until(
        pilot,
        lambda: (
            pane.generation > before
            and not pane.busy
            and pane.pages_read > 0
            and pane.total is not None
        ),
        "refreshed call log and its count",
    )
    return pane


async def test_supervisor_gets_the_call_log_of_the_last_week(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_review(pilot, app)
        assert pane.total == len(week)
        keys = table_keys(app)
        assert keys == list(reversed(week))  # newest first
        assert "SeatScreen" not in [type(s).__name__ for s in app.screen_stack]


async def test_an_agent_login_never_reaches_the_review(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "1024", "s3cret-1024")
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        assert not any(isinstance(s, SupervisorScreen) for s in app.screen_stack)
        assert not app.screen.query(CallLogPane)
        # Even pushed by mistake, the review screen shows only the refusal, no data.
        app.push_screen(SupervisorScreen())
        await until(pilot, lambda: bool(app.screen.query("#review-refused")), "refusal")
        assert not app.screen.query(CallLogPane)
        assert not app.screen.query(KpiPane)
        assert "13900000" not in screen_text(app)


FILTER_CASES: list[tuple[dict[str, str], ReviewFilter | None]] = [
    ({"f-agent": "1024"}, ReviewFilter(CallFilter(agent="1024"))),
    ({"f-category": "repair"}, ReviewFilter(CallFilter(category="repair"))),
    ({"f-outcome": "abandoned"}, ReviewFilter(CallFilter(outcome=CallOutcome.ABANDONED))),
    ({"f-outcome": "forwarded"}, ReviewFilter(CallFilter(outcome=CallOutcome.FORWARDED))),
    ({"f-sat": "3"}, ReviewFilter(CallFilter(satisfaction=3))),
    ({"f-sat": "none"}, ReviewFilter(CallFilter(unrated=True))),  # 未评价 (issue 11)
    ({"f-shift": "noon"}, ReviewFilter(CallFilter(hours=(11, 14)))),
    ({"f-limit": "in"}, ReviewFilter(within_limit=True)),
    ({"f-limit": "out"}, ReviewFilter(within_limit=False)),
    ({"f-text": "电梯"}, ReviewFilter(text="电梯")),
    ({"f-since": "2026-03-01", "f-until": "2026-03-01"}, None),
]
"""Each filter widget alone (values typed) → the same selection through the store."""


async def test_each_filter_shows_what_the_store_selects(  # type: ignore[no-untyped-def]
    build: Build, store: DutyRecord, week
) -> None:
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        for values, case in FILTER_CASES:
            await press_button(pilot, "f-clear")
            app.screen.query_one("#f-since", Input).value = "2026-02-24"
            app.screen.query_one("#f-until", Input).value = "2026-03-02"
            pane = await refilter(pilot, app, **values)
            if case is None:  # one day: 2026-03-01 local
                since, until_ = store.day_bounds(dt.date(2026, 3, 1))
                flt = ReviewFilter(CallFilter(since=since, until=until_))
            else:
                flt = ReviewFilter(
                    CallFilter(
                        **{
                            **case.base.__dict__,
                            "since": dt.datetime(2026, 2, 24, tzinfo=TZ),
                            "until": dt.datetime(2026, 3, 3, tzinfo=TZ),
                        }
                    ),
                    text=case.text,
                    within_limit=case.within_limit,
                )
            newest_first = sorted(store.calls(flt.base), key=lambda c: c.ring_at, reverse=True)
            if flt.text or flt.within_limit is not None:
                expected_count = count_calls(store, flt)
                assert pane.total == expected_count, values
                assert len(table_keys(app)) == expected_count, values
            else:
                assert table_keys(app) == [c.key for c in newest_first], values
                assert pane.total == len(newest_first), values
            assert 0 < (pane.total or 0) < len(week), values


async def test_bad_filter_input_is_named_and_the_table_kept(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_review(pilot, app)
        before = table_keys(app)
        for widget_id, bad in [("f-since", "yesterday"), ("f-until", "2026-02-30")]:
            app.screen.query_one(f"#{widget_id}", Input).value = bad
            pane.reload()
            await pilot.pause()
            what = text("rv.since" if widget_id == "f-since" else "rv.until")
            assert text("rv.bad_date").format(what=what, value=bad) in screen_text(app)
            assert table_keys(app) == before
            app.screen.query_one(f"#{widget_id}", Input).value = ""
        app.screen.query_one("#f-since", Input).value = "2026-03-02"
        app.screen.query_one("#f-until", Input).value = "2026-03-01"
        pane.reload()
        await pilot.pause()
        assert text("rv.until_before") in screen_text(app)
        assert table_keys(app) == before


async def test_scrolling_reads_the_next_page_only_when_needed(build: Build, store) -> None:  # type: ignore[no-untyped-def]
    keys = fill_week(store, per_day=40)  # 7 × 40 minus the future ones
    assert len(keys) > 2 * PAGE
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_review(pilot, app)
        assert len(table_keys(app)) == PAGE  # one page, never everything
        table = app.screen.query_one("#log-table", DataTable)
        table.focus()
        table.move_cursor(row=PAGE - 1)
        await until(pilot, lambda: pane.pages_read == 2, "second page")
        table.move_cursor(row=table.row_count - 1)
        await until(pilot, lambda: pane.next_cursor is None and not pane.busy, "last page")
        newest_first = sorted(store.calls(), key=lambda c: c.ring_at, reverse=True)
        assert table_keys(app) == [c.key for c in newest_first]
        assert sorted(table_keys(app)) == sorted(keys)


async def test_detail_shows_timeline_and_amend_adds_a_correction(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    answered = next(c for c in store.calls() if c.outcome is CallOutcome.ANSWERED)
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        app.push_screen(CallDetailScreen(answered.key))
        await until(
            pilot,
            lambda: isinstance(app.screen, CallDetailScreen) and app.screen.detail is not None,
            "detail",
        )
        seen = screen_text(app)
        assert all(text(f"rv.d.{w}") in seen for w in ("ring", "answer", "sealed"))
        assert answered.caller_number in seen
        # Bad input first: no field, then no reason, then a value the record refuses.
        await press_button(pilot, "amend-submit")
        assert text("rv.d.need_field") in screen_text(app)
        app.screen.query_one("#amend-field", Select).value = "satisfaction"
        app.screen.query_one("#amend-value", Input).value = "7"
        await press_button(pilot, "amend-submit")
        assert text("rv.d.need_reason") in screen_text(app)
        app.screen.query_one("#amend-why", Input).value = "caller called back"
        await press_button(pilot, "amend-submit")
        await until(
            pilot,
            lambda: text("call.score") in str(app.screen.query_one("#amend-error").render()),
            "refused",
        )
        assert store.amendments(answered.key) == []
        app.screen.query_one("#amend-field", Select).value = "category"
        app.screen.query_one("#amend-value", Input).value = "complaint"
        app.screen.query_one("#amend-why", Input).value = "caller complained, misfiled"
        await press_button(pilot, "amend-submit")
        await until(pilot, lambda: len(store.amendments(answered.key)) == 1, "amendment")
        await until(pilot, lambda: "misfiled" in screen_text(app), "amendment shown")
        amendment = store.amendments(answered.key)[0]
        assert (amendment.who, amendment.field, amendment.new_value) == (
            "9001",
            "category",
            "complaint",
        )
        assert "原值" in screen_text(app)  # the sealed value is still shown
        assert store.get_call(answered.key, amended=False).category == answered.category
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "back")
        table = app.screen.query_one("#log-table", ReviewTable)
        assert "✎" in table.text_row(answered.key)


@pytest.mark.parametrize("period", list(Period))
async def test_kpi_screen_equals_kpis_and_export_totals(  # type: ignore[no-untyped-def]
    build: Build, store: DutyRecord, week, tmp_path: Path, period: Period
) -> None:
    app = build()
    async with app.run_test(size=(160, 60)) as pilot:
        await open_review(pilot, app)
        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-kpis"
        pane = app.screen.query_one(KpiPane)
        app.screen.query_one("#k-period", Select).value = period.value
        await until(
            pilot,
            lambda: (
                pane.view is not None
                and pane.view.until - pane.view.since >= dt.timedelta(days=1)
                and period_bounds(store, period, START.date())[0] == pane.view.since
            ),
            "kpis",
        )
        since, until_ = period_bounds(store, period, START.date())
        k = store.kpis(since, until_)
        overall = app.screen.query_one("#k-overall", DataTable)
        shown = {
            str(overall.get_row_at(i)[0]): str(overall.get_row_at(i)[1])
            for i in range(overall.row_count)
        }
        assert shown["来电总数"] == str(k.total)
        assert shown["接听数"] == str(k.answered)
        assert shown["来电放弃"] == str(k.abandoned)
        assert shown["已转接"] == str(k.forwarded)
        assert shown["限时内接听"] == str(k.answered_within_limit)
        assert shown["满意"] == str(k.satisfaction.get(1, 0))
        result = export_calls(store, since, until_, tmp_path / "k.csv", who="9001")
        with (tmp_path / "k.csv").open(encoding="utf-8-sig") as fh:
            exported = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
        for label in (
            "来电总数",
            "接听数",
            "接通率",
            "未接",
            "来电放弃",
            "已转接",
            "满意",
            "不满意",
        ):
            assert shown[label] == exported[label], label
        assert result.rows == k.total
        agents = app.screen.query_one("#k-agents", DataTable)
        answered_by_agents = sum(int(str(agents.get_row_at(i)[1])) for i in range(agents.row_count))
        assert answered_by_agents == k.answered
        assert f" {max(k.calls_per_hour.values())}" in screen_text(app) or period is Period.DAY


async def test_text_that_looks_like_markup_shows_as_typed(build: Build, store) -> None:  # type: ignore[no-untyped-def]
    ring = START - dt.timedelta(hours=2)
    key = store.open_call("hotline", ring, caller_number="[b]139[/b]")
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        answered_at=ring + dt.timedelta(seconds=3),
        ended_at=ring + dt.timedelta(seconds=60),
        answered_by="1024",
        content="漏水 [/] [red]急",
    )
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        pane = await open_review(pilot, app)
        assert pane.total == 1
        table = app.screen.query_one("#log-table", ReviewTable)
        assert table.text_row(key)[1] == "[b]139[/b]"
        text = screen_text(app)  # rendered: a markup parse would have raised or eaten the tags
        assert "漏水 [/] [red]急" in text and "[b]139[/b]" in text


async def test_a_week_on_the_kpi_tab_carries_its_assessment_report_and_exports_it(  # type: ignore[no-untyped-def]
    build: Build, store: DutyRecord, week, tmp_path: Path
) -> None:
    """Duty rules §6: the weekly report per agent (quality reviews, attendance, follow-ups,
    what each is short on), the record's own figures, exported as XLSX and audited."""
    from console.domain.agent import AttendancePolicy
    from console.domain.assessment import ReportPeriod
    from console.store.assessment import assessment_report

    app = build()
    async with app.run_test(size=(160, 60)) as pilot:
        await open_review(pilot, app)
        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-kpis"
        pane = app.screen.query_one(KpiPane)
        assert not app.screen.query_one("#k-assess").display, "a day has no assessment"
        app.screen.query_one("#k-period", Select).value = Period.WEEK.value
        await until(pilot, lambda: pane.view is not None and pane.view.assessment is not None,
                    "the week's assessment")
        expected = assessment_report(store, ReportPeriod.week_of(START.date()),
                                     AttendancePolicy(timezone=TZ))
        table = app.screen.query_one("#k-assess", ReviewTable)
        assert table.display and table.row_count == len(expected.agents) > 0
        assert [line.agent_id for line in expected.agents] == ["1024", "2048"], "no supervisor"
        for line in expected.agents:
            row = table.text_row(line.agent_id)
            assert row[1] == str(line.calls_taken) != "0" and "质检监听不足" in row[-1], row
        # The title is set with the rows, and painted a frame later (ci20 read it before).
        await until(pilot, lambda: "每人质检至少 2 次" in screen_text(app), "the report's title")
        await press_button(pilot, "k-export")
        path = tmp_path / "exports" / f"assessment-week-{expected.period.first}.xlsx"
        await until(pilot, lambda: path.is_file() and "考核表已导出" in screen_text(app),
                    "exported")
        assert any(e.action == "export" and path.name in e.detail and e.who == "9001"
                   for e in store.audit_log())
