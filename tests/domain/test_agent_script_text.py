"""Agent states (15-minute away limit), the call script, labels, prompt texts, forbidden phrases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from console.domain import (
    AGENT_TABLE,
    SCRIPT_TABLE,
    Agent,
    AgentState,
    AttendancePolicy,
    CallScript,
    Category,
    DomainError,
    Language,
    Outcome,
    PromptText,
    ScriptEvent,
    ScriptStep,
    TemplateError,
    TransitionError,
    find_forbidden_phrases,
)

SH = ZoneInfo("Asia/Shanghai")
POLICY = AttendancePolicy(timezone=SH)
T0 = dt.datetime(2025, 9, 22, 8, 0, tzinfo=SH)


def agent_away(at: dt.datetime) -> Agent:
    a = Agent("1024", POLICY)
    a.login(T0)
    a.go_away("洗手间", at)
    return a


@pytest.mark.parametrize(
    ("away_for", "overdue"),
    [
        (dt.timedelta(minutes=14, seconds=59), False),
        (dt.timedelta(minutes=15), False),
        (dt.timedelta(minutes=15, microseconds=1000), True),
        (dt.timedelta(hours=2), True),
    ],
)
def test_away_overdue_boundary(away_for: dt.timedelta, overdue: bool) -> None:
    start = T0 + dt.timedelta(hours=1)
    a = agent_away(start)
    assert a.is_overdue(start + away_for) is overdue
    assert a.overdue_at() == start + dt.timedelta(minutes=15)


def test_supervisor_approval_clears_overdue() -> None:
    start = T0 + dt.timedelta(hours=1)
    a = agent_away(start)
    with pytest.raises(DomainError, match="own"):
        a.approve_away("1024")
    a.approve_away("9001")
    assert not a.is_overdue(start + dt.timedelta(hours=1))
    change = a.back(start + dt.timedelta(hours=1))
    assert change.target is AgentState.READY and a.away_reason == ""


def test_back_overdue_is_noted() -> None:
    start = T0 + dt.timedelta(hours=1)
    a = agent_away(start)
    assert a.back(start + dt.timedelta(minutes=16)).note == "back overdue"


def test_after_call_work_does_not_block_the_next_call() -> None:
    a = Agent("1024", POLICY)
    a.login(T0)
    a.call_started(T0 + dt.timedelta(minutes=1))
    a.call_ended(T0 + dt.timedelta(minutes=5))
    assert a.state is AgentState.AFTER_CALL_WORK
    a.call_started(T0 + dt.timedelta(minutes=6))
    assert a.state is AgentState.ON_CALL


@pytest.mark.parametrize(
    ("steps", "event"),
    [
        ([], "call_started"),
        ([], "logout"),
        (["login", "call_started"], "logout"),
        (["login", "call_started"], "go_away"),
        (["login"], "back"),
        (["login"], "login"),
    ],
)
def test_agent_refuses(steps: list[str], event: str) -> None:
    a = Agent("1024", POLICY)
    now = T0
    for name in steps:
        now += dt.timedelta(minutes=1)
        getattr(a, name)(now)
    before = a.state
    with pytest.raises(TransitionError):
        if event == "go_away":
            a.go_away("x", now)
        else:
            getattr(a, event)(now)
    assert a.state is before and len(a.changes) == len(steps)


@pytest.mark.parametrize("agent_id", ["", "  ", "10\n24"])
def test_bad_agent_id(agent_id: str) -> None:
    with pytest.raises(DomainError):
        Agent(agent_id)


def test_away_needs_reason_and_time_goes_forward() -> None:
    a = Agent("1024", POLICY)
    a.login(T0)
    with pytest.raises(DomainError, match="reason"):
        a.go_away(" ", T0)
    with pytest.raises(DomainError, match="before"):
        a.go_away("x", T0 - dt.timedelta(seconds=1))
    with pytest.raises(DomainError, match="time zone"):
        a.go_away("x", dt.datetime(2025, 9, 22, 9, 0))


@pytest.mark.parametrize(
    ("login", "late"),
    [((8, 30, 0), False), ((8, 30, 1), True), ((7, 55, 0), False), ((9, 0, 0), True)],
)
def test_late_login(login: tuple[int, int, int], late: bool) -> None:
    a = Agent("1024", POLICY)
    change = a.login(dt.datetime(2025, 9, 22, *login, tzinfo=SH))
    assert a.late_login is late and (change.note == "late login") is late


@pytest.mark.parametrize(
    ("logout", "early"), [((17, 34, 59), True), ((17, 35, 0), False), ((21, 0, 0), False)]
)
def test_early_logout(logout: tuple[int, int, int], early: bool) -> None:
    a = Agent("1024", POLICY)
    a.login(T0)
    a.logout(dt.datetime(2025, 9, 22, *logout, tzinfo=SH))
    assert a.early_logout is early and a.state is AgentState.LOGGED_OUT


def test_attendance_uses_config_zone() -> None:
    # 00:31 UTC is 08:31 in Shanghai: late
    assert POLICY.is_late(dt.datetime(2025, 9, 22, 0, 31, tzinfo=dt.UTC))


# ---------------------------------------------------------------- call script


def test_script_full_path() -> None:
    s = CallScript(hangup_timeout=10.0)
    for t in range(6):
        s.fire(ScriptEvent.NEXT, float(t))
    assert s.step is ScriptStep.SURVEY
    s.fire(ScriptEvent.SURVEY_DONE, 20.0)
    assert s.step is ScriptStep.WAIT_HANGUP and s.deadline == 30.0
    assert s.tick(29.999) is ScriptStep.WAIT_HANGUP
    s.fire(ScriptEvent.CALLER_HUNG_UP, 25.0)
    assert s.step is ScriptStep.DONE and s.hung_up_at is None


def test_script_we_end_after_timeout() -> None:
    s = CallScript(hangup_timeout=10.0, step=ScriptStep.SURVEY)
    s.fire(ScriptEvent.SURVEY_DONE, 0.0)
    assert s.tick(10.0) is ScriptStep.ENDED_BY_US


@pytest.mark.parametrize(
    "step", [ScriptStep.GREET, ScriptStep.LISTEN, ScriptStep.ESCALATE, ScriptStep.SURVEY]
)
def test_caller_hangs_up_mid_call_records_step(step: ScriptStep) -> None:
    s = CallScript(step=step)
    s.fire(ScriptEvent.CALLER_HUNG_UP, 1.0)
    assert s.step is ScriptStep.HUNG_UP and s.hung_up_at is step
    with pytest.raises(TransitionError):
        s.fire(ScriptEvent.NEXT, 2.0)


def test_escalation_returns_to_resolve() -> None:
    s = CallScript(step=ScriptStep.LISTEN)
    s.fire(ScriptEvent.ESCALATE, 0.0)
    s.fire(ScriptEvent.NEXT, 1.0)
    assert s.step is ScriptStep.RESOLVE and s.escalated


def test_tables_print_and_have_no_exit_from_terminals() -> None:
    for table in (SCRIPT_TABLE, AGENT_TABLE):
        text = table.describe()
        assert text.count("-->") == len(table.rows)
    for terminal in SCRIPT_TABLE.terminal:
        assert SCRIPT_TABLE.events_from(terminal) == []
    assert ScriptStep.LISTEN.hint.startswith("X先生/女士")


# ---------------------------------------------------------------- labels and texts


def test_categories_are_the_six_of_the_rules() -> None:
    assert [c.zh for c in Category] == ["咨询", "投诉", "报修", "求助", "建议", "其他"]
    assert Category.parse("投诉") is Category.COMPLAINT
    assert Category.parse("Repair / FAULT") is Category.REPAIR
    assert Outcome.FORWARDED.label(Language.EN) == "Forwarded to the gate post"
    with pytest.raises(ValueError, match="咨询"):
        Category.parse("闲聊")


def test_prompt_text_renders() -> None:
    t = PromptText("greeting", "您好!{centre},工号 {agent_id} 为您服务{{!}}")
    assert t.fields == {"centre", "agent_id"}
    assert t.render("XX客服中心", "1024") == "您好!XX客服中心,工号 1024 为您服务{!}"


@pytest.mark.parametrize(
    ("template", "match"),
    [
        ("{agent}", "unknown placeholder"),
        ("{0}", "positional"),
        ("{}", "positional"),
        ("{centre!r}", "format spec"),
        ("{agent_id:>6}", "format spec"),
        ("{centre.upper}", "unknown placeholder"),
        ("您好 {centre", "literal braces"),
        ("}", "literal braces"),
        ("   ", "empty"),
    ],
)
def test_prompt_text_refuses(template: str, match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        PromptText("greeting", template)


@pytest.mark.parametrize(
    ("note", "phrases"),
    [
        ("你不是说明天来吗?", ["你不是说……吗?"]),
        ("不是告诉你了,怎么还不明白?", ["不是告诉你了,怎么还不明白?"]),
        ("大点声!听不见!", ["大点声,听不见!"]),
        ("大 点 声 , 听 不 见", ["大点声,听不见!"]),
        ("这个不是我办的,不知道,不清楚", ["不是我办的,不知道,不清楚"] * 2),
        ("客户反映楼道灯坏了,已派单维修。", []),
        ("", []),
    ],
)
def test_forbidden_phrases(note: str, phrases: list[str]) -> None:
    hits = find_forbidden_phrases(note)
    assert [h.phrase for h in hits] == phrases
    for h in hits:
        assert note[h.start :].startswith(h.excerpt)
