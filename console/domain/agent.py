"""Agent (坐席) states and attendance flags (duty rules §4).

ready → on call → after-call work → ready; away (示忙) with a reason for up to 15 minutes,
after which it shows as overdue unless a supervisor approved longer; logged out. Login
after 08:30 and logout before 17:35 are flagged for supervisors. Time is passed in.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from console.domain.errors import DomainError, TransitionError
from console.domain.labels import Labelled
from console.domain.machine import TransitionTable


class AgentState(Labelled):
    """An agent's state (duty rules §4), the one definition: the seat's state machine
    (`AGENT_TABLE`) moves between them and the duty record logs each change by its value
    (`console.store` takes this enum). The values are the text the record has always
    stored, so rows written before stay readable and their hash chains unchanged."""

    LOGGED_OUT = ("logged_out", "已登出", "Logged out")
    READY = ("ready", "就绪", "Ready")
    ON_CALL = ("on_call", "通话中", "On call")
    AFTER_CALL_WORK = ("after_call", "话后处理", "After-call work")
    """Stored as "after_call" (the record's word since its first rows)."""
    AWAY = ("away", "示忙", "Away")
    LOGGED_IN = ("logged_in", "已登录", "Logged in")
    """Not a state the seat rests in: the record's line for the moment of a login ("late
    login" as its reason when late), logged just before the first state (ready)."""

    @classmethod
    def of(cls, value: AgentState | str) -> AgentState:
        """The state itself, or the one the record stores as `value` (ValueError if none)."""
        if isinstance(value, AgentState):
            return value
        for member in cls:
            if member.value == value:
                return member
        raise ValueError(f"{value!r} is not an agent state")


class AgentEvent(enum.Enum):
    LOGIN = "login"
    LOGOUT = "logout"
    CALL_START = "call_start"
    CALL_END = "call_end"
    WRAP_DONE = "wrap_done"
    GO_AWAY = "go_away"
    BACK = "back"


_A, _V = AgentState, AgentEvent
AGENT_TABLE: TransitionTable[AgentState, AgentEvent] = TransitionTable(
    name="agent",
    rows={
        (_A.LOGGED_OUT, _V.LOGIN): _A.READY,
        (_A.READY, _V.CALL_START): _A.ON_CALL,
        (_A.READY, _V.GO_AWAY): _A.AWAY,
        (_A.READY, _V.LOGOUT): _A.LOGGED_OUT,
        (_A.ON_CALL, _V.CALL_END): _A.AFTER_CALL_WORK,
        (_A.AFTER_CALL_WORK, _V.WRAP_DONE): _A.READY,
        # After-call work must not block the next call (duty rules §4).
        (_A.AFTER_CALL_WORK, _V.CALL_START): _A.ON_CALL,
        (_A.AFTER_CALL_WORK, _V.GO_AWAY): _A.AWAY,
        (_A.AFTER_CALL_WORK, _V.LOGOUT): _A.LOGGED_OUT,
        (_A.AWAY, _V.BACK): _A.READY,
        (_A.AWAY, _V.LOGOUT): _A.LOGGED_OUT,
    },
)
"""An agent on a call cannot log out or go away: the call ends first."""


@dataclass(frozen=True)
class AttendancePolicy:
    """Late login / early logout thresholds (local wall-clock, from the config)."""

    late_after: dt.time = dt.time(8, 30)
    """A login strictly after this is late."""
    early_before: dt.time = dt.time(17, 35)
    """A logout strictly before this is early."""
    away_limit: dt.timedelta = dt.timedelta(minutes=15)
    """Away longer than this (without a supervisor's approval) is overdue."""
    timezone: dt.tzinfo = dt.UTC

    def __post_init__(self) -> None:
        if self.away_limit <= dt.timedelta(0):
            raise DomainError(f"away limit {self.away_limit} must be positive", "Agent")

    def _wall(self, moment: dt.datetime) -> dt.time:
        if moment.tzinfo is None:
            raise DomainError(f"{moment.isoformat()} has no time zone", "Agent")
        return moment.astimezone(self.timezone).time().replace(tzinfo=None)

    def is_late(self, login_at: dt.datetime) -> bool:
        return self._wall(login_at) > self.late_after

    def is_early(self, logout_at: dt.datetime) -> bool:
        return self._wall(logout_at) < self.early_before


@dataclass(frozen=True)
class AgentChange:
    """One state change, for the log, the record and the supervisor's screen."""

    at: dt.datetime
    source: AgentState
    event: AgentEvent
    target: AgentState
    note: str = ""
    """The away reason, "late login", "early logout", an approval ..."""


@dataclass
class Agent:
    """One agent's seat state. Agent IDs (工号) are personal: no sharing, no borrowing."""

    agent_id: str
    policy: AttendancePolicy = field(default_factory=AttendancePolicy)
    state: AgentState = AgentState.LOGGED_OUT
    since: dt.datetime | None = None
    away_reason: str = ""
    away_approved_by: str = ""
    late_login: bool = False
    early_logout: bool = False
    changes: list[AgentChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.agent_id or not self.agent_id.strip() or not self.agent_id.isprintable():
            raise DomainError(f"agent ID {self.agent_id!r} is empty or not printable", "Agent")

    def login(self, now: dt.datetime) -> AgentChange:
        self.late_login = self.policy.is_late(now)
        self.early_logout = False
        return self._fire(AgentEvent.LOGIN, now, "late login" if self.late_login else "")

    def logout(self, now: dt.datetime) -> AgentChange:
        early = self.policy.is_early(now)
        change = self._fire(AgentEvent.LOGOUT, now, "early logout" if early else "")
        self.early_logout = early
        return change

    def call_started(self, now: dt.datetime) -> AgentChange:
        return self._fire(AgentEvent.CALL_START, now)

    def call_ended(self, now: dt.datetime) -> AgentChange:
        return self._fire(AgentEvent.CALL_END, now)

    def wrap_done(self, now: dt.datetime) -> AgentChange:
        return self._fire(AgentEvent.WRAP_DONE, now)

    def go_away(self, reason: str, now: dt.datetime) -> AgentChange:
        if not reason or not reason.strip():
            raise DomainError("going away needs a reason", "Agent")
        change = self._fire(AgentEvent.GO_AWAY, now, reason.strip())
        self.away_reason = reason.strip()
        self.away_approved_by = ""
        return change

    def back(self, now: dt.datetime) -> AgentChange:
        overdue = self.is_overdue(now)
        change = self._fire(AgentEvent.BACK, now, "back overdue" if overdue else "")
        self.away_reason = ""
        self.away_approved_by = ""
        return change

    def approve_away(self, supervisor_id: str) -> None:
        """A supervisor allows this absence to run past the limit."""
        if self.state is not AgentState.AWAY:
            raise TransitionError(f"agent {self.agent_id} is not away ({self.state.name})")
        if not supervisor_id or not supervisor_id.strip():
            raise DomainError("an approval needs the supervisor's ID", "Agent")
        if supervisor_id.strip() == self.agent_id:
            raise DomainError("an agent cannot approve their own absence", "Agent")
        self.away_approved_by = supervisor_id.strip()

    def away_for(self, now: dt.datetime) -> dt.timedelta:
        if self.state is not AgentState.AWAY or self.since is None:
            return dt.timedelta(0)
        return now - self.since

    def is_overdue(self, now: dt.datetime) -> bool:
        """Away strictly longer than the limit, without approval (15:00.000 is not overdue)."""
        return (
            self.state is AgentState.AWAY
            and not self.away_approved_by
            and self.away_for(now) > self.policy.away_limit
        )

    def overdue_at(self) -> dt.datetime | None:
        """First moment the absence counts as overdue (the limit itself is still fine)."""
        if self.state is not AgentState.AWAY or self.since is None or self.away_approved_by:
            return None
        return self.since + self.policy.away_limit

    def _fire(self, event: AgentEvent, now: dt.datetime, note: str = "") -> AgentChange:
        if now.tzinfo is None:
            raise DomainError(f"{now.isoformat()} has no time zone", "Agent")
        if self.since is not None and now < self.since:
            raise DomainError(
                f"agent {self.agent_id}: {event.name} at {now.isoformat()} is before the "
                f"last change at {self.since.isoformat()}",
                "Agent",
            )
        source = self.state
        target = AGENT_TABLE.next(source, event)
        self.state, self.since = target, now
        change = AgentChange(now, source, event, target, note)
        self.changes.append(change)
        return change
