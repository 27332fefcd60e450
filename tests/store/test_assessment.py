"""The weekly and monthly assessment report (duty rules §6) on a hand-made week.

Each figure is worked out by hand from the week below, and the team's totals are checked
against a raw SQL recount of the calls table (the report must equal the record).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.domain.agent import AttendancePolicy
from console.domain.assessment import (
    Finding,
    ReportKind,
    ReportPeriod,
    is_report_day,
    qa_listens_required,
)
from console.domain.errors import DomainError
from console.store import AgentRole, AgentState, CallOutcome, DutyRecord, InvalidFact
from console.store.assessment import assessment_report, export_report
from console.store.review import add_quality_review

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # the week 2026-03-02 .. 2026-03-08
POLICY = AttendancePolicy(timezone=UTC)


def _call(store: DutyRecord, ring: datetime, agent: str | None, to_answer: float | None,
          talk: float | None = None, sat: int | None = None,
          outcome: CallOutcome = CallOutcome.ANSWERED) -> str:
    key = store.open_call("hotline", ring)
    facts: dict[str, object] = {}
    if to_answer is not None:
        answered = ring + timedelta(seconds=to_answer)
        facts.update(answered_at=answered, answered_by=agent)
        if talk is not None:
            facts["ended_at"] = answered + timedelta(seconds=talk)
    if sat is not None:
        facts["satisfaction"] = sat
    store.seal_call(key, outcome, **facts)
    return key


def _week(store: DutyRecord, clock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    store.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    store.create_agent("1025", "李雷", AgentRole.AGENT, "s3cret-1025")
    store.create_agent("9001", "赵主管", AgentRole.SUPERVISOR, "s3cret-9001")
    day = MONDAY + timedelta(hours=9)
    keys = {
        "a": _call(store, day, "1024", 5, 100, 1),
        "b": _call(store, day + timedelta(hours=1), "1024", 20, 60, 3),  # beyond 15 s
        "c": _call(store, day + timedelta(days=1), "1025", 10, 30, None),
        "d": _call(store, day + timedelta(days=2), "auto", 15, 40, 2),
        "e": _call(store, day + timedelta(days=2, hours=1), None, None,
                   outcome=CallOutcome.ABANDONED),
    }
    _call(store, MONDAY + timedelta(days=7, hours=9), "1024", 3, 10, 1)  # next week: not in it
    clock.now = MONDAY + timedelta(days=4, hours=12)
    add_quality_review(store, keys["a"], "9001", 90)
    add_quality_review(store, keys["b"], "9001", 70)
    add_quality_review(store, keys["c"], "9001", 80)
    # 1024: in at 08:00, out at 18:00 on Monday; 1025 late on Tuesday (09:10), early out
    # (16:00), and away 20 minutes (over the 15-minute limit).
    store.set_agent_state("1024", AgentState.READY, at=MONDAY + timedelta(hours=8))
    store.set_agent_state("9001", AgentState.READY, at=MONDAY + timedelta(hours=10))  # late,
    # but a supervisor: not in the agents' report
    store.set_agent_state("1024", AgentState.LOGGED_OUT, at=MONDAY + timedelta(hours=18))
    tue = MONDAY + timedelta(days=1)
    store.set_agent_state("1025", AgentState.READY, at=tue + timedelta(hours=9, minutes=10))
    store.set_agent_state("1025", AgentState.AWAY, "lunch", at=tue + timedelta(hours=12))
    store.set_agent_state("1025", AgentState.READY, at=tue + timedelta(hours=12, minutes=20))
    store.set_agent_state("1025", AgentState.LOGGED_OUT, at=tue + timedelta(hours=16))
    store.add_follow_up("1025", "call back", MONDAY + timedelta(days=3), keys["c"])  # overdue
    store.add_follow_up("1024", "send form", MONDAY + timedelta(days=9), keys["a"])  # not yet
    return keys


def test_the_week_per_agent_and_for_the_team(store: DutyRecord, clock) -> None:  # type: ignore[no-untyped-def]
    _week(store, clock)
    report = assessment_report(store, ReportPeriod.week_of(dt.date(2026, 3, 4)), POLICY)
    assert report.period.first == dt.date(2026, 3, 2) and report.period.last == dt.date(2026, 3, 8)
    team = report.team
    assert (team.total, team.answered, team.answered_within_limit, team.abandoned) == (5, 4, 3, 1)
    assert report.answer_rate_met is True  # 4 of 5 = 80 %
    assert report.qa_required == 2
    by_id = {a.agent_id: a for a in report.agents}
    assert list(by_id) == ["1024", "1025"], "agents only: no supervisor, no auto"
    wang, li = by_id["1024"], by_id["1025"]
    assert (wang.name, wang.calls_taken, wang.within_limit) == ("王芳", 2, 1)
    assert wang.kpis is not None and wang.kpis.avg_seconds_to_answer == pytest.approx(12.5)
    assert wang.kpis.avg_handling_seconds == pytest.approx(80)
    assert wang.kpis.satisfaction == {1: 1, 3: 1}
    assert (wang.listens, wang.qa_average) == (2, 80)
    assert (wang.late_days, wang.early_days, wang.overdue_aways) == (0, 0, 0)
    assert (wang.open_follow_ups, wang.overdue_follow_ups) == (1, 0)
    assert wang.findings == ()
    assert (li.calls_taken, li.listens, li.qa_average) == (1, 1, 80)
    assert (li.late_days, li.early_days, li.overdue_aways) == (1, 1, 1)
    assert (li.open_follow_ups, li.overdue_follow_ups) == (1, 1)
    assert li.findings == (Finding.QA_SHORT, Finding.LATE, Finding.EARLY, Finding.AWAY_OVERDUE,
                           Finding.FOLLOW_UPS_OVERDUE)
    assert report.by_console["auto"].answered == 1
    # the agents' and the console's answers add up to the team's, as do follow-ups
    assert sum(a.calls_taken for a in report.agents) + 1 == team.answered
    assert sum(a.open_follow_ups for a in report.agents) == team.open_follow_ups


def test_the_team_totals_equal_a_raw_recount(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "duty.db"
    store = DutyRecord(f"sqlite:///{path}", tz=UTC, clock=clock)
    try:
        _week(store, clock)
        month = assessment_report(store, ReportPeriod.month_of(dt.date(2026, 3, 20)), POLICY)
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        total, answered, within = db.execute(
            "SELECT count(*), count(answered_at), "
            "sum(answered_at IS NOT NULL AND seconds_to_answer <= 15) FROM calls "
            "WHERE ring_at >= '2026-03-01' AND ring_at < '2026-04-01'"
        ).fetchone()
        per_agent = dict(db.execute(
            "SELECT answered_by, count(*) FROM calls WHERE answered_by IN ('1024', '1025') "
            "GROUP BY answered_by"
        ).fetchall())
    assert (month.team.total, month.team.answered, month.team.answered_within_limit) == (
        total, answered, within) == (6, 5, 4)
    assert {a.agent_id: a.calls_taken for a in month.agents} == per_agent == {"1024": 3,
                                                                               "1025": 1}
    assert month.qa_required == 10, "March: 31 days, 5 started weeks, 2 each"


def test_the_export_is_a_workbook_and_audited(store: DutyRecord, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _week(store, clock)
    report = assessment_report(store, ReportPeriod.week_of(dt.date(2026, 3, 2)), POLICY)
    out = tmp_path / "week.xlsx"
    digest = export_report(store, report, out, "9001")
    with zipfile.ZipFile(out) as book:
        names = book.namelist()
        agents = book.read("xl/worksheets/sheet2.xml").decode()
        team = book.read("xl/worksheets/sheet1.xml").decode()
    assert "xl/workbook.xml" in names
    assert "王芳" in agents and "质检监听不足、迟到、早退、示忙超时、跟进逾期" in agents
    assert "接通率" in team and "周报" in team
    entry = [e for e in store.audit_log() if e.action == "export"][-1]
    assert entry.who == "9001" and digest in entry.detail and "week" in entry.detail
    for bad in (tmp_path / "week.csv", tmp_path / "missing" / "w.xlsx"):
        with pytest.raises(InvalidFact):
            export_report(store, report, bad, "9001")


def test_periods_and_their_rules() -> None:
    week = ReportPeriod.week_of(dt.date(2026, 3, 8))  # a Sunday: still its Monday's week
    assert (week.first, week.due_on) == (dt.date(2026, 3, 2), dt.date(2026, 3, 6))
    assert is_report_day(week.due_on) and not is_report_day(week.first)
    feb = ReportPeriod.parse(ReportKind.MONTH, "2026-02")
    assert (feb.first, feb.last, qa_listens_required(feb)) == (
        dt.date(2026, 2, 1), dt.date(2026, 2, 28), 8)
    for kind, text in ((ReportKind.MONTH, "2026-13"), (ReportKind.WEEK, "next week"),
                       (ReportKind.WEEK, "2026-02-30"), (ReportKind.MONTH, "")):
        with pytest.raises(DomainError, match="expected"):
            ReportPeriod.parse(kind, text)


def test_the_report_command_prints_writes_and_refuses_bad_input_in_one_line(
    tmp_path: Path, clock, capsys  # type: ignore[no-untyped-def]
) -> None:
    from console.cli import main

    path = tmp_path / "duty.db"
    store = DutyRecord(f"sqlite:///{path}", tz=UTC, clock=clock)
    try:
        _week(store, clock)
    finally:
        store.close()
    base = ["--config", str(tmp_path / "none.toml"), "report"]
    db = ["--db", str(path), "--tz", "UTC"]
    out = tmp_path / "w.xlsx"
    assert main([*base, "week", "2026-03-04", *db, "--out", str(out), "--who", "9001"]) == 0
    printed = capsys.readouterr()
    assert "来电总数: 5" in printed.out and "1025\t李雷\t1" in printed.out and out.is_file()
    assert "from the duty rules" in printed.err  # no config: the defaults, said so
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("[ring_limit]\nrings = 99\n", encoding="utf-8")
    for argv in (
        [*base, "week", "next", *db],
        [*base, "month", "2026-13", *db],
        [*base, "week", "2026-03-04", "--db", str(tmp_path / "missing.db")],
        [*base, "week", "2026-03-04", *db, "--out", str(tmp_path / "w.csv")],
        ["--config", str(bad_config), "report", "week", "2026-03-04", *db],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0], (argv, err)
    assert not (tmp_path / "missing.db").exists()
