"""Benchmark of the supervisor's review screens (issue 6) on a generated duty record.

Generates N calls with the store benchmark's generator (`scripts/bench_store.py`: same day
spread, outcomes, agents, hash chain), then drives the real TUI headless (fakes for the line
and the flow, a frozen clock at the end of the data) as a supervisor and times, each from
the action to the moment the screen has its new content and has been repainted:

- login → call log shown (scrypt of the login included; first page + count of 7 days);
- filter change → table refreshed (first page shown), over a rotation of filters (agent,
  category, outcome, satisfaction, shift, ring limit, full-text search); goal ≤ 100 ms;
  and, from the same action, the matching count shown (it follows the page in a worker);
- page scroll: the cursor reaching the end of the rows read → next page appended;
- KPI month on screen (overall + per agent + calls per hour); goal ≤ 300 ms;
- XLSX export of one month through the export tab.

The same queries without the UI (`call_page`, `count_calls`, `kpis` + `agent_kpis`) are
timed in the same run, so the UI's share is a ratio, not a guess; and `call_page` against
the raw `sqlite3` driver running the very statements it sent (captured at the cursor, with
their parameters) and fetching every row: the store's own overhead as a ratio (issue 3's
review goal ≤ 1.5×), store and raw taking turns on the same filter. Writes its table
between the `<!-- bench_review -->` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_store import bulk_load  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from console.app import make_app  # noqa: E402
from console.headset import Headset  # noqa: E402
from console.store import AgentRole, CallFilter, DutyRecord  # noqa: E402
from console.store.review import ReviewFilter, call_page, count_calls  # noqa: E402
from console.ui.settings import UiSettings  # noqa: E402
from console.widgets.review.call_log import CallLogPane  # noqa: E402
from console.widgets.review.export import ExportPane  # noqa: E402
from console.widgets.review.kpis import KpiPane, Period, load_kpis  # noqa: E402
from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine  # noqa: E402

MARK = "<!-- bench_review -->"
END = "<!-- /bench_review -->"
SECRET = "s3cret-9001"

FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("agent", {"f-agent": "1003"}),
    ("category", {"f-category": "complaint"}),
    ("outcome", {"f-outcome": "abandoned"}),
    ("satisfaction", {"f-sat": "3"}),
    ("shift", {"f-shift": "noon"}),
    ("ring limit", {"f-limit": "out"}),
    ("search", {"f-text": "物业费"}),
    ("search, no match", {"f-text": "电梯困人"}),
]


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


async def wait(pilot: Any, condition: Callable[[], bool], limit: float = 120.0) -> None:
    """Poll tightly (2 ms) until `condition()`, then paint the whole screen once, synchronously.

    The paint is what the terminal would get next frame: every visible line rendered.
    Settling afterwards (`pilot.pause`) is left out of the time by the caller.
    """
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not get there in time")
        await asyncio.sleep(0.002)
    pilot.app.screen._compositor.render_strips()


def set_values(app: Any, values: dict[str, Any]) -> None:
    """Set filter widgets as one user action: no reload per widget (the caller reloads once)."""
    from textual.widgets import Input, Select

    for widget_id, value in values.items():
        widget = app.screen.query_one(f"#{widget_id}")
        with widget.prevent(Select.Changed, Input.Changed, Input.Submitted):
            if isinstance(widget, Input):
                widget.value = value
            elif isinstance(widget, Select):
                if value is None:
                    widget.clear()
                else:
                    widget.value = value


async def drive(store: DutyRecord, clock: FakeClock, tmp: Path, reps: int) -> dict[str, Any]:
    from textual.widgets import DataTable, Input, TabbedContent

    app = make_app(
        FakeLine(),
        store,
        clock,
        UiSettings(drafts_dir=tmp / "drafts", timezone=store.tz),
        FakeFlow(),
        headset=Headset(FakeAudio([HEADSET], 0)),
    )
    out: dict[str, Any] = {}
    async with app.run_test(size=(160, 50)) as pilot:
        await wait(pilot, lambda: type(app.screen).__name__ == "LoginScreen")
        app.screen.query_one("#agent-id", Input).value = "9001"
        app.screen.query_one("#secret", Input).value = SECRET
        app.screen.query_one("#secret", Input).focus()
        t0 = time.perf_counter()
        await pilot.press("enter")

        def log_shown() -> bool:
            panes = list(app.screen.query(CallLogPane).results(CallLogPane))
            return bool(panes) and panes[0].total is not None and not panes[0].busy

        await wait(pilot, log_shown)
        out["login"] = time.perf_counter() - t0
        pane = app.screen.query_one(CallLogPane)
        out["week_total"] = pane.total

        per_filter: dict[str, list[float]] = {}
        counted: dict[str, list[float]] = {}
        for rep in range(reps):
            name, values = FILTERS[rep % len(FILTERS)]
            before = pane.generation
            set_values(app, values)
            t0 = time.perf_counter()
            pane.reload()
            await wait(pilot, lambda b=before: pane.generation > b and not pane.busy)
            per_filter.setdefault(name, []).append(time.perf_counter() - t0)
            await wait(pilot, lambda: pane.total is not None)
            counted.setdefault(name, []).append(time.perf_counter() - t0)
            await pilot.pause()
            set_values(
                app,
                {
                    k: (
                        None
                        if k in ("f-category", "f-outcome", "f-sat", "f-shift", "f-limit")
                        else ""
                    )
                    for k in values
                },
            )
        out["filters"] = per_filter
        out["counted"] = counted

        before = pane.generation
        pane.reload()
        await wait(pilot, lambda: pane.generation > before and not pane.busy)
        table = app.screen.query_one("#log-table", DataTable)
        table.focus()
        scrolls = []
        for _ in range(min(reps, 20)):
            if pane.next_cursor is None:
                break
            pages = pane.pages_read
            t0 = time.perf_counter()
            table.move_cursor(row=table.row_count - 1)
            await wait(pilot, lambda p=pages: pane.pages_read > p and not pane.busy)
            scrolls.append(time.perf_counter() - t0)
            await pilot.pause()
        out["scroll"] = scrolls
        out["rows_held"] = table.row_count

        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-kpis"
        kpane = app.screen.query_one(KpiPane)
        await wait(pilot, lambda: kpane.view is not None)
        kpi_times = []
        for rep in range(max(3, reps // 4)):
            gen = kpane.generation
            t0 = time.perf_counter()
            if rep == 0:
                set_values(app, {"k-period": Period.MONTH.value})
            kpane.reload()
            await wait(pilot, lambda g=gen: kpane.shown > g)
            assert kpane.view is not None
            assert kpane.view.until - kpane.view.since > dt.timedelta(days=20)
            kpi_times.append(time.perf_counter() - t0)
            await pilot.pause()
        out["kpi_month"] = kpi_times
        assert kpane.view is not None
        out["kpi_total"] = kpane.view.overall.total
        out["report"] = kpane.view.assessment
        out["report_bounds"] = (kpane.view.since, kpane.view.until)
        month_since = kpane.view.since

        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-export"
        epane = app.screen.query_one(ExportPane)
        await pilot.pause()
        set_values(
            app,
            {
                "e-what": "month",
                "e-format": "xlsx",
                "e-dir": str(tmp / "exports"),
                "e-month": f"{month_since:%Y-%m}",
            },
        )
        t0 = time.perf_counter()
        epane.run_export()
        await wait(pilot, lambda: epane.last is not None, limit=600)
        out["export"] = time.perf_counter() - t0
        assert epane.last is not None
        out["export_rows"] = epane.last.rows
        out["export_bytes"] = epane.last.path.stat().st_size
    return out


def captured(store: DutyRecord, flt: ReviewFilter) -> list[tuple[str, Any]]:
    """The statements `call_page(store, flt)` sends to the driver, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        sent.append((statement, params))

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        call_page(store, flt, size=100)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    return [(sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]


def headless(store: DutyRecord, db: Path, end: dt.date, reps: int) -> dict[str, Any]:
    """The same queries with no UI: the floor the screens stand on, and the raw driver's."""
    since = dt.datetime.combine(end - dt.timedelta(days=6), dt.time(), tzinfo=store.tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=store.tz)
    week = CallFilter(since=since, until=until)
    cases = {
        "agent": ReviewFilter(CallFilter(since=since, until=until, agent="1003")),
        "whole week": ReviewFilter(week),
        "search": ReviewFilter(week, text="物业费"),
    }
    raw = sqlite3.connect(str(db))
    pages: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, list[float]] = {}
    try:
        for name, flt in cases.items():
            statements = captured(store, flt)
            assert statements, "call_page sent no SELECT"

            def store_page(f: ReviewFilter = flt) -> None:
                call_page(store, f, size=100)

            def raw_page(sql: list[tuple[str, Any]] = statements) -> None:
                for statement, params in sql:
                    raw.execute(statement, params).fetchall()

            got: dict[str, list[float]] = {"store": [], "raw": []}
            for rep in range(max(reps, 20)):  # taking turns at going first
                order: list[tuple[str, Callable[[], None]]] = [
                    ("store", store_page),
                    ("raw", raw_page),
                ]
                for who, fn in order if rep % 2 == 0 else order[::-1]:
                    t0 = time.perf_counter()
                    fn()
                    got[who].append(time.perf_counter() - t0)
            pages[name] = got
            samples = []
            for _ in range(max(5, reps // 4)):
                t0 = time.perf_counter()
                count_calls(store, flt)
                samples.append(time.perf_counter() - t0)
            counts[name] = samples
    finally:
        raw.close()

    from console.widgets.review.context import ReviewContext

    ctx = ReviewContext(store, "9001", store.tz)
    kpi = []
    for _ in range(max(3, reps // 4)):
        t0 = time.perf_counter()
        load_kpis(ctx, Period.MONTH, end)
        kpi.append(time.perf_counter() - t0)
    return {"pages": pages, "counts": counts, "kpi": statistics.median(kpi)}


def recount(db: Path, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """The month's figures straight from the file with the `sqlite3` driver, written from
    the rules (duty-rules §6), not from the store's statements: sealed calls that rang in
    [since, until), a leg another seat answered left out; a call is answered when someone
    answered it (`answered_at`: a call the console's crash interrupted was answered too);
    answered per agent; the survey's answers among answered calls."""

    def utc(t: dt.datetime) -> str:
        return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ",
                                                                   timespec="microseconds")

    # One seat's generated record: each row is a caller's call (no legs to group). A
    # callback (an outgoing call) is no caller's call.
    where = ("sealed_at IS NOT NULL AND ring_at >= ? AND ring_at < ? "
             "AND outcome != 'taken_elsewhere' AND coalesce(kind, '') != 'callback'")
    args = (utc(since), utc(until))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        outcomes = dict(conn.execute(
            f"SELECT outcome, count(*) FROM calls WHERE {where} GROUP BY outcome", args))
        (answered,) = conn.execute(
            f"SELECT count(*) FROM calls WHERE {where} AND answered_at IS NOT NULL",
            args).fetchone()
        agents = dict(conn.execute(
            f"SELECT answered_by, count(*) FROM calls WHERE {where} "
            "AND answered_at IS NOT NULL GROUP BY answered_by", args))
        survey = dict(conn.execute(
            f"SELECT satisfaction, count(*) FROM calls WHERE {where} "
            "AND answered_at IS NOT NULL GROUP BY satisfaction", args))
    finally:
        conn.close()
    return {"total": sum(outcomes.values()), "answered": answered, "outcomes": outcomes,
            "agents": agents, "survey": survey}


def report_matches(report: Any, raw: dict[str, Any]) -> list[str]:
    """What differs between the report on screen and the raw recount (empty: they agree)."""
    team = report.team
    wrong = []
    if team.total != raw["total"]:
        wrong.append(f"total {team.total} vs {raw['total']}")
    if team.answered != raw["answered"]:
        wrong.append(f"answered {team.answered} vs {raw['answered']}")
    for name in ("missed", "abandoned", "forwarded", "interrupted"):
        if getattr(team, name) != raw["outcomes"].get(name, 0):
            wrong.append(f"{name} {getattr(team, name)} vs {raw['outcomes'].get(name, 0)}")
    if {k: v for k, v in team.satisfaction.items() if v} != raw["survey"]:
        wrong.append(f"satisfaction {team.satisfaction} vs {raw['survey']}")
    shown = {a.agent_id: a.calls_taken for a in report.agents if a.calls_taken}
    shown.update({name: k.answered for name, k in report.by_console.items() if k.answered})
    if shown != raw["agents"]:
        wrong.append(f"per agent {shown} vs {raw['agents']}")
    return wrong


def section(n: int, out: dict[str, Any], raw: dict[str, Any], load_s: float, total_s: float) -> str:
    filters = [t for ts in out["filters"].values() for t in ts]
    counted = [t for ts in out["counted"].values() for t in ts]
    rows = [
        ("login → call log shown, count included (scrypt included)", ms(out["login"]), "—", ""),
        (
            f"filter change → table refreshed, {len(filters)} changes",
            f"median {ms(statistics.median(filters))}",
            f"p95 {ms(p95(filters))}",
            "goal ≤ 100 ms: " + ("met" if p95(filters) <= 0.1 else "NOT met"),
        ),
    ]
    for name, ts in out["filters"].items():
        rows.append(
            (
                f"  · {name}",
                f"median {ms(statistics.median(ts))}",
                f"max {ms(max(ts))}",
                f"count shown at median {ms(statistics.median(out['counted'][name]))}",
            )
        )
    rows.append(
        (
            "  same changes → count shown (in a worker, after the page)",
            f"median {ms(statistics.median(counted))}",
            f"p95 {ms(p95(counted))}",
            "",
        )
    )
    if out["scroll"]:
        rows.append(
            (
                f"page scroll (next 100 rows), {len(out['scroll'])} pages",
                f"median {ms(statistics.median(out['scroll']))}",
                f"p95 {ms(p95(out['scroll']))}",
                f"{out['rows_held']} rows held",
            )
        )
    kpi = out["kpi_month"]
    rows.append(
        (
            "KPI month on screen, the month's assessment report included",
            f"median {ms(statistics.median(kpi))}",
            f"max {ms(max(kpi))}",
            "goal ≤ 300 ms (issue 6): " + ("met" if statistics.median(kpi) <= 0.3 else "NOT met")
            + "; report ≤ 1 s (issue 13): " + ("met" if max(kpi) <= 1.0 else "NOT met"),
        )
    )
    wrong = out["recount_wrong"]
    rows.append(
        (
            f"month's report totals = raw SQL recount ({out['report_total']:,} calls, "
            f"{out['report_agents']} agents)",
            "equal" if not wrong else "DIFFER",
            "—",
            "; ".join(wrong)[:300] if wrong else "team outcomes, survey, answered per agent",
        )
    )
    rows.append(
        (
            f"XLSX export of one month ({out['export_rows']} calls, "
            f"{out['export_bytes'] // 1024} KiB)",
            ms(out["export"]),
            "—",
            "",
        )
    )
    ui_filter = statistics.median(out["filters"]["agent"])
    raw_rows = []
    for name, got in raw["pages"].items():
        store_t, raw_t = got["store"], got["raw"]
        raw_rows.append(
            f"| {name} | {ms(statistics.median(store_t))} / {ms(p95(store_t))} | "
            f"{ms(statistics.median(raw_t))} / {ms(p95(raw_t))} | "
            f"×{statistics.median(store_t) / statistics.median(raw_t):.2f} / "
            f"×{p95(store_t) / p95(raw_t):.2f} | {ms(statistics.median(raw['counts'][name]))} |"
        )
    ratios = [p95(g["store"]) / p95(g["raw"]) for g in raw["pages"].values()]
    agent_page = statistics.median(raw["pages"]["agent"]["store"])
    lines = [
        MARK,
        "## Supervisor review TUI (`scripts/bench_review`)",
        "",
        f"N = {n:,} generated calls (the store benchmark's generator), SQLite, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared, load average {os.getloadavg()[0]:.1f}; bulk load "
        f"{load_s:.0f} s. Headless Textual at 160×50, real screens and store, fakes for the "
        "line; each time runs from the action (one reload) until the content is in the "
        "widgets and the whole screen has been painted once.",
        "",
        "| step | typical | worst | note |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "One page of the call log (100 rows of a 7-day filter) through the store "
        "(`call_page`) and through the raw `sqlite3` driver running the same captured "
        "statements (page + its amendments) and fetching all rows; turns taken, same run:",
        "",
        "| filter | store median / p95 | raw median / p95 | store ÷ raw median / p95 | "
        "count alone, median |",
        "|---|---|---|---|---|",
        *raw_rows,
        "",
        "Review goal store ÷ raw ≤ 1.5× (p95): "
        + ("met" if max(ratios) <= 1.5 else f"NOT met (worst ×{max(ratios):.2f})")
        + ".",
        "",
        f"UI over the bare store: agent filter page {ms(agent_page)} without UI "
        f"(UI/store {ui_filter / agent_page:.1f}×), KPI month overall + "
        f"per agent {ms(raw['kpi'])} (UI/store {statistics.median(kpi) / raw['kpi']:.1f}×). "
        f"Week shown at login: {out['week_total']:,} calls; month KPIs total "
        f"{out['kpi_total']:,}. Reproduce: `scripts/bench_review --n {n}` "
        f"(this run took {total_s:.0f} s; `--n 1100000` for the issue's size, whose bulk "
        "load alone takes minutes).",
        "",
        "Reading it: the filter goal is judged on p95 of the first page shown; the count "
        "follows in its own worker (the status line says 计数中 counting until then). Page "
        "scroll is the worst case, a jump to the last row read; scrolling row by row reads "
        "the next page 10 rows ahead, so it is not waited for. The raw reference gets "
        "strings and tuples; the store builds aware datetimes, the outcome enum and named "
        "tuples, and opens a read transaction per page. Figures before commit 913c1bb are "
        "not comparable: the pane then used Textual's `loading`, whose spinner still "
        "covered the table when the paint was taken, so the spinner was timed, not the "
        "table. Since the previous run (commits e24dc59…f8f6d5d): the table draws a plain "
        "row in one pass and adds a page as one batch, the heap is frozen at start-up and "
        "once the login's screen is up (no longer after the call log's first page), and "
        "the XLSX export writes the sheets' XML itself (`console/store/xlsx.py`) instead "
        "of openpyxl's per-cell objects. What is left of a filter change is mostly "
        "Textual's: the layout pass the changed filter widget asks for, and the paint of "
        "the whole 160×50 screen.",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK in old and END in old:
        before, _, rest = old.partition(MARK)
        _, _, after = rest.partition(END)
        new = before + text + after
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="calls to generate")
    parser.add_argument("--reps", type=int, default=40, help="filter changes to time")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args()
    if args.n < 1000 or args.reps < 1:
        parser.error("--n must be at least 1000 and --reps at least 1")
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    end = dt.date(2026, 4, 1)  # data runs to 31 March: the clock's month is a full one
    with tempfile.TemporaryDirectory(prefix="bench_review_") as tmp_name:
        tmp = Path(tmp_name)
        last_day = end - dt.timedelta(days=1)
        clock = FakeClock(dt.datetime.combine(last_day, dt.time(20, 0), tzinfo=dt.UTC))
        store = DutyRecord(
            f"sqlite:///{tmp / 'duty.db'}",
            tz=dt.UTC,
            clock=clock.now,
        )
        try:
            store.create_agent("9001", "张主任", AgentRole.SUPERVISOR, SECRET)
            load_s, _ = bulk_load(store, args.n, end, args.seed)
            raw = headless(store, tmp / "duty.db", last_day, args.reps)
            out = asyncio.run(drive(store, clock, tmp, args.reps))
            report = out["report"]
            assert report is not None, "a month's KPI view carries its assessment report"
            counted = recount(tmp / "duty.db", *out["report_bounds"])
            out["recount_wrong"] = report_matches(report, counted)
            out["report_total"] = report.team.total
            out["report_agents"] = len(report.agents)
        finally:
            store.close()
    text = section(args.n, out, raw, load_s, time.perf_counter() - started)
    print(text)
    if not args.no_write:
        write_section(text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
