"""The weekly and monthly assessment report (duty rules §6), read from the duty record.

Per agent and for the team: calls taken, answered within the ring limit, average answer
and handling times, the satisfaction split, quality reviews (listens and their scores),
attendance (late, early, overdue absences) and follow-ups. The figures come from the
record's own KPI reads (`kpis`, `agent_kpis`: the numbers the KPI tab shows), so the
report's totals are the record's; what an agent falls short on is decided by
`console.domain.assessment`. The XLSX export is audited like every export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from console.domain.agent import AttendancePolicy
from console.domain.assessment import (
    Finding,
    ReportPeriod,
    answer_rate_met,
    findings,
    qa_listens_required,
)
from console.domain.attendance import StateEntry, day_attendance, log_entries
from console.store.errors import InvalidFact
from console.store.export import totals
from console.store.review import agent_kpis, quality_reviews
from console.store.values import ANSWERED_BY_ZH, NOT_AGENTS, AgentRole, FollowUpStatus, Kpis
from console.store.xlsx import BOLD, Workbook, XlsxError

if TYPE_CHECKING:
    from console.store.record import DutyRecord



@dataclass(frozen=True)
class AgentAssessment:
    """One agent's line of the report."""

    agent_id: str
    name: str
    kpis: Kpis | None
    """Calls the agent answered in the period (None: none)."""
    listens: int
    qa_average: float | None
    late_days: int
    early_days: int
    overdue_aways: int
    open_follow_ups: int
    overdue_follow_ups: int
    findings: tuple[Finding, ...]

    @property
    def calls_taken(self) -> int:
        return self.kpis.answered if self.kpis else 0

    @property
    def within_limit(self) -> int:
        return self.kpis.answered_within_limit if self.kpis else 0


@dataclass(frozen=True)
class AssessmentReport:
    period: ReportPeriod
    team: Kpis
    """Every call that rang in the period (callers, not legs)."""
    agents: list[AgentAssessment]
    by_console: dict[str, Kpis] = field(default_factory=dict)
    """Calls answered by the console itself (`auto`) or the gate post, by that name."""
    qa_required: int = 0
    answer_rate_met: bool | None = None


def assessment_report(
    record: DutyRecord,
    period: ReportPeriod,
    policy: AttendancePolicy,
    ring_limit_seconds: float | None = None,
    *,
    team: Kpis | None = None,
    per_agent: dict[str, Kpis] | None = None,
) -> AssessmentReport:
    """Read the period's report (blocking: from a worker or the CLI).

    `team` and `per_agent`: the period's `kpis` and `agent_kpis` when the caller has read
    them already (the KPI tab reads them side by side), so they are not read twice.
    """
    since, until = period.bounds(record.tz)
    if team is None:
        team = record.kpis(since, until, ring_limit_seconds)
    if per_agent is None:
        per_agent = agent_kpis(record, since, until, ring_limit_seconds)
    reviews = quality_reviews(record, since, until)
    listens = Counter(r.agent for r in reviews)
    scores: dict[str, list[int]] = {}
    for r in reviews:
        scores.setdefault(r.agent, []).append(r.score)
    now = record._now()
    attendance = _attendance(record, period, policy, min(now, until))
    follow = _follow_ups(record, until, min(now, until))
    known = {a.agent_id: a for a in record.agents()}
    agents = {i: a for i, a in known.items() if a.role is AgentRole.AGENT}
    # Agents only: every active one (a week with no call is a finding too), and any ID the
    # period's calls, reviews, state log or follow-ups name that is not a supervisor's
    # (an agent since removed still answers for the calls it took).
    named = set(per_agent) | set(listens) | set(attendance) | set(follow)
    ids = sorted(
        {a for a, x in agents.items() if x.active}
        | {a for a in named if a not in NOT_AGENTS and (a in agents or a not in known)}
    )
    lines = []
    for agent_id in ids:
        late, early, overdue = attendance.get(agent_id, (0, 0, 0))
        open_n, overdue_n = follow.get(agent_id, (0, 0))
        mine = scores.get(agent_id, [])
        lines.append(
            AgentAssessment(
                agent_id=agent_id,
                name=agents[agent_id].name if agent_id in agents else "",
                kpis=per_agent.get(agent_id),
                listens=listens.get(agent_id, 0),
                qa_average=sum(mine) / len(mine) if mine else None,
                late_days=late,
                early_days=early,
                overdue_aways=overdue,
                open_follow_ups=open_n,
                overdue_follow_ups=overdue_n,
                findings=findings(
                    period,
                    listens=listens.get(agent_id, 0),
                    late_days=late,
                    early_days=early,
                    overdue_aways=overdue,
                    overdue_follow_ups=overdue_n,
                ),
            )
        )
    return AssessmentReport(
        period=period,
        team=team,
        agents=lines,
        by_console={a: k for a, k in per_agent.items() if a in NOT_AGENTS},
        qa_required=qa_listens_required(period),
        answer_rate_met=answer_rate_met(team.answered, team.total),
    )


def _attendance(
    record: DutyRecord, period: ReportPeriod, policy: AttendancePolicy, until: dt.datetime
) -> dict[str, tuple[int, int, int]]:
    """Agent → (late days, early days, overdue absences), folded one local day at a time."""
    since, _ = period.bounds(record.tz)
    log = [
        StateEntry(c.agent_id, c.state.value, c.at, c.reason)
        for c in record.agent_states(since=since)
    ]
    totals: dict[str, list[int]] = {}
    for day in period.dates():
        start = dt.datetime(day.year, day.month, day.day, tzinfo=record.tz)
        end = start + dt.timedelta(days=1)
        if start >= until:
            break
        for line in day_attendance(log_entries(log, start, end), policy, min(end, until)):
            t = totals.setdefault(line.agent_id, [0, 0, 0])
            t[0] += int(line.late)
            t[1] += int(line.early)
            t[2] += line.overdue_aways
    return {a: (t[0], t[1], t[2]) for a, t in totals.items()}


def _follow_ups(
    record: DutyRecord, until: dt.datetime, now: dt.datetime
) -> dict[str, tuple[int, int]]:
    """Owner → (open, overdue), counted as the KPIs count them (open now, created before
    the period's end, overdue when due before now), so the agents' sum is the team's."""
    found: dict[str, list[int]] = {}
    for f in record.follow_ups(status=FollowUpStatus.OPEN):
        if f.created_at >= until:
            continue
        t = found.setdefault(f.owner, [0, 0])
        t[0] += 1
        t[1] += int(f.due_at < now)
    return {a: (t[0], t[1]) for a, t in found.items()}


# ---------------------------------------------------------------- the export

AGENT_COLUMNS = (
    "工号", "姓名", "接听", "限时内接听", "平均应答秒", "平均处理秒", "满意", "一般", "不满意",
    "未评价", "质检监听", "质检均分", "迟到天数", "早退天数", "示忙超时", "未完成跟进",
    "逾期跟进", "待改进",
)
"""The agents sheet's header row (the office's spreadsheet is in Chinese, as every export)."""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def agent_row(line: AgentAssessment) -> list[object]:
    k = line.kpis
    sat = k.satisfaction if k else {}
    return [
        line.agent_id,
        line.name,
        line.calls_taken,
        line.within_limit,
        _round(k.avg_seconds_to_answer) if k else None,
        _round(k.avg_handling_seconds) if k else None,
        sat.get(1, 0),
        sat.get(2, 0),
        sat.get(3, 0),
        sat.get(None, 0),
        line.listens,
        _round(line.qa_average),
        line.late_days,
        line.early_days,
        line.overdue_aways,
        line.open_follow_ups,
        line.overdue_follow_ups,
        "、".join(f.zh for f in line.findings),
    ]


def team_rows(report: AssessmentReport) -> list[tuple[str, object]]:
    """The team sheet: the period, then the export's own totals block (the KPI tab's rows),
    then what the assessment adds."""
    met = {None: "—", True: "是", False: "否"}[report.answer_rate_met]
    return [
        ("报告", report.period.kind.zh),
        ("期间", report.period.label),
        *totals(report.team),
        ("接通率达标", met),
        ("每人质检要求", report.qa_required),
    ]


def export_report(
    record: DutyRecord, report: AssessmentReport, path: Path, who: str
) -> str:
    """Write the report as XLSX (team sheet, agents sheet) and audit it; its sha256."""
    if path.suffix.lower() != ".xlsx":
        raise InvalidFact(f"report file {path.name!r}: the report is written as .xlsx")
    if not path.parent.is_dir():
        raise InvalidFact(f"report folder {path.parent} does not exist")
    book = Workbook(path.parent)
    try:
        team = book.add_sheet("团队")
        for label, value in team_rows(report):
            team.append([label, value])
        agents = book.add_sheet("坐席", frozen_header=True)
        agents.append(list(AGENT_COLUMNS), style=BOLD)
        for line in report.agents:
            agents.append(agent_row(line))
        for name, k in sorted(report.by_console.items()):
            label = ANSWERED_BY_ZH.get(name, name)
            agents.append([name, label, k.answered, k.answered_within_limit,
                           _round(k.avg_seconds_to_answer), _round(k.avg_handling_seconds)])
        book.save(path)
    except (XlsxError, OSError) as exc:
        book.discard()
        raise InvalidFact(f"report {path.name}: cannot be written: {exc}") from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record.audit(
        "export",
        who,
        f"{path.name} {report.period.kind.value} {report.period.label} "
        f"agents={len(report.agents)} sha256={digest}",
    )
    return digest

