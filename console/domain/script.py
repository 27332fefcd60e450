"""The call script (服务流程, duty rules §3) as a state machine the seat screen follows.

Each step carries what the agent should do or say; the agent (or the call flow, for an
auto-answered call) moves it on with events. A caller who hangs up leaves the machine in
HUNG_UP with `hung_up_at` naming the step, so the record says where the call was lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from console.domain.labels import Language
from console.domain.machine import Step, TransitionTable


class ScriptStep(enum.Enum):
    """Steps of the script, with what the seat screen shows."""

    GREET = ("greet", "问候", "Greet", "您好!{centre},工号 {agent_id} 为您服务")
    ASK_NAME = ("ask_name", "询问称呼", "Ask the caller's name", "请问您贵姓?(称呼 X先生/X女士)")
    LISTEN = (
        "listen",
        "倾听",
        "Listen, don't interrupt",
        "X先生/女士,对不起,我没听清楚,请您再复述一遍好吗?",
    )
    CLASSIFY = ("classify", "分类", "Classify the call", "咨询 · 投诉 · 报修 · 求助 · 建议 · 其他")
    RECORD = ("record", "记录", "Record the details", "号码、姓名、联系方式、地址/单元、内容、处理")
    RESOLVE = (
        "resolve",
        "处理",
        "Solve, or promise a reply",
        "首问负责:承诺回复时间,建立跟进或转部门",
    )
    ESCALATE = ("escalate", "上报", "Escalate to the supervisor", "突发事件:上报主管,填写事件报告")
    SURVEY = (
        "survey",
        "满意度评价",
        "Invite the caller to rate",
        "满意请按1,一般请按2,不满意请按3",
    )
    WAIT_HANGUP = (
        "wait_hangup",
        "等待挂机",
        "Wait for the caller to hang up",
        "要等对方挂掉电话后方可挂断",
    )
    DONE = ("done", "结束", "Done (caller hung up first)", "")
    ENDED_BY_US = ("ended_by_us", "超时挂断", "Ended by us after the wait", "")
    TRANSFERRED = ("transferred", "已转部门", "Transferred to a department", "")
    HUNG_UP = ("hung_up", "客户挂断", "Caller hung up mid-call", "")

    zh: str
    en: str
    hint: str
    """The line the agent says or the checklist for the step (zh)."""

    def __new__(cls, value: str, zh: str, en: str, hint: str) -> ScriptStep:
        member = object.__new__(cls)
        member._value_ = value
        member.zh = zh
        member.en = en
        member.hint = hint
        return member

    def label(self, language: Language = Language.ZH) -> str:
        return self.zh if language is Language.ZH else self.en


class ScriptEvent(enum.Enum):
    NEXT = "next"
    """The agent (or the call flow) finished the step."""
    ESCALATE = "escalate"
    WRAP_UP = "wrap_up"
    """Go straight to the survey (the caller's matter is done early)."""
    TRANSFER = "transfer"
    SURVEY_DONE = "survey_done"
    CALLER_HUNG_UP = "caller_hung_up"
    TIMEOUT = "timeout"
    """The wait for the caller to hang up ran out; we end the call."""


_S = ScriptStep
_V = ScriptEvent
_TALKING = (_S.GREET, _S.ASK_NAME, _S.LISTEN, _S.CLASSIFY, _S.RECORD, _S.RESOLVE)
_rows: dict[tuple[ScriptStep, ScriptEvent], ScriptStep] = {}
for _a, _b in zip(_TALKING, (*_TALKING[1:], _S.SURVEY), strict=True):
    _rows[(_a, _V.NEXT)] = _b
for _a in _TALKING:
    _rows[(_a, _V.ESCALATE)] = _S.ESCALATE
    _rows[(_a, _V.CALLER_HUNG_UP)] = _S.HUNG_UP
    if _a is not _S.GREET:
        _rows[(_a, _V.WRAP_UP)] = _S.SURVEY
        _rows[(_a, _V.TRANSFER)] = _S.TRANSFERRED
_rows[(_S.ESCALATE, _V.NEXT)] = _S.RESOLVE
_rows[(_S.ESCALATE, _V.WRAP_UP)] = _S.SURVEY
_rows[(_S.ESCALATE, _V.CALLER_HUNG_UP)] = _S.HUNG_UP
_rows[(_S.SURVEY, _V.SURVEY_DONE)] = _S.WAIT_HANGUP
_rows[(_S.SURVEY, _V.CALLER_HUNG_UP)] = _S.HUNG_UP
_rows[(_S.WAIT_HANGUP, _V.CALLER_HUNG_UP)] = _S.DONE
_rows[(_S.WAIT_HANGUP, _V.TIMEOUT)] = _S.ENDED_BY_US

SCRIPT_TABLE: TransitionTable[ScriptStep, ScriptEvent] = TransitionTable(
    name="call script",
    rows=_rows,
    terminal=frozenset({_S.DONE, _S.ENDED_BY_US, _S.TRANSFERRED, _S.HUNG_UP}),
)


@dataclass
class CallScript:
    """One call's progress through the script; time is passed in."""

    hangup_timeout: float = 10.0
    """Seconds to wait for the caller to hang up after the survey before we end the call."""
    step: ScriptStep = ScriptStep.GREET
    hung_up_at: ScriptStep | None = None
    """The step the caller hung up in (None if they did not hang up mid-call)."""
    escalated: bool = False
    deadline: float | None = None
    history: list[Step[ScriptStep, ScriptEvent]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.step in SCRIPT_TABLE.terminal

    def fire(self, event: ScriptEvent, now: float) -> ScriptStep:
        """Apply `event`; TransitionError if the step does not allow it."""
        source = self.step
        target = SCRIPT_TABLE.next(source, event)
        if target is ScriptStep.HUNG_UP:
            self.hung_up_at = source
        if target is ScriptStep.ESCALATE:
            self.escalated = True
        self.step = target
        self.deadline = now + self.hangup_timeout if target is ScriptStep.WAIT_HANGUP else None
        self.history.append(Step(now, source, event, target))
        return target

    def tick(self, now: float) -> ScriptStep:
        """Clock tick: ends the wait for the caller's hang-up once the deadline passes."""
        if self.deadline is not None and now >= self.deadline:
            return self.fire(ScriptEvent.TIMEOUT, now)
        return self.step
