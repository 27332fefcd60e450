"""The duty rules as plain Python (stdlib only): schedule and holiday calendar, ring limit,
survey, agent states.

Nothing here touches SIP, the UI or the database (import-linter enforces it), and nothing
reads the clock: every decision takes the time as an argument, so it is tested by tables.
"""

from __future__ import annotations

from console.domain.agent import (
    AGENT_TABLE,
    Agent,
    AgentChange,
    AgentEvent,
    AgentState,
    AttendancePolicy,
)
from console.domain.calendar import (
    CalendarProblem,
    Coverage,
    CoverageLevel,
    DayChange,
    DayInfo,
    changes,
    check_year,
    coverage,
    overlay,
    with_year,
    year_days,
)
from console.domain.errors import (
    DomainError,
    ErrorCode,
    OverrideError,
    ScheduleError,
    TemplateError,
    TransitionError,
    WrapUpError,
)
from console.domain.labels import Category, Language, Outcome, Satisfaction
from console.domain.machine import Step, TransitionTable
from console.domain.night import DecisionSource, NightDecision, NightMode, Override, OverrideKind
from console.domain.ring import RingLimit
from console.domain.schedule import (
    DEFAULT_ROSTERS,
    DayKind,
    HolidayCalendar,
    HolidayPolicy,
    Roster,
    Schedule,
    ShiftState,
    parse_days,
)
from console.domain.script import SCRIPT_TABLE, CallScript, ScriptEvent, ScriptStep
from console.domain.survey import SURVEY_TABLE, Survey, SurveyAction, SurveyEvent, SurveyState
from console.domain.text import PLACEHOLDERS, PhraseHit, PromptText, find_forbidden_phrases

__all__ = [
    "AGENT_TABLE",
    "DEFAULT_ROSTERS",
    "PLACEHOLDERS",
    "SCRIPT_TABLE",
    "SURVEY_TABLE",
    "Agent",
    "AgentChange",
    "AgentEvent",
    "AgentState",
    "AttendancePolicy",
    "CalendarProblem",
    "CallScript",
    "Category",
    "Coverage",
    "CoverageLevel",
    "DayChange",
    "DayInfo",
    "DayKind",
    "DecisionSource",
    "DomainError",
    "ErrorCode",
    "HolidayCalendar",
    "HolidayPolicy",
    "Language",
    "NightDecision",
    "NightMode",
    "Outcome",
    "Override",
    "OverrideError",
    "OverrideKind",
    "PhraseHit",
    "PromptText",
    "RingLimit",
    "Roster",
    "Satisfaction",
    "Schedule",
    "ScheduleError",
    "ScriptEvent",
    "ScriptStep",
    "ShiftState",
    "Step",
    "Survey",
    "SurveyAction",
    "SurveyEvent",
    "SurveyState",
    "TemplateError",
    "TransitionError",
    "TransitionTable",
    "WrapUpError",
    "changes",
    "check_year",
    "coverage",
    "find_forbidden_phrases",
    "overlay",
    "parse_days",
    "with_year",
    "year_days",
]
