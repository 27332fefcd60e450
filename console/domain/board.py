"""The team board's rules (issue 13): what a seat shows the team, and what counts as waiting.

Each seat of a hotline publishes one `SeatPresence`: its agent's state, widened by the one
state the agent chain does not know (ringing), its line's registration and its gate-post
check, and the callers waiting on it. A supervisor's board and every seat's strip fold the
presences of all seats into a `Board`. These are rules, not storage: plain Python, the time
passed in, tested by tables.

*Waiting* (duty rules §2: a second call waits, it is not lost): a caller is waiting from the
moment the call arrives until an agent talks to them or the call ends, so a call ringing at
a seat, and one the console answered at the ring limit and keeps on hold, both wait. A
ring-all call rings at every seat under one dialog: the board counts it once (the earliest
arrival any seat saw), however many seats report it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from console.domain.agent import AgentState
from console.domain.errors import DomainError
from console.domain.labels import Labelled


class BoardError(DomainError):
    """A presence that cannot be read (another version's, or damaged)."""

    title = "Team board"


class BoardState(Labelled):
    """A seat as the team sees it: the agent's state, with ringing and gone added."""

    READY = ("ready", "就绪", "Ready")
    RINGING = ("ringing", "振铃", "Ringing")
    ON_CALL = ("on_call", "通话中", "On call")
    AFTER_CALL_WORK = ("after_call_work", "话后处理", "After-call work")
    AWAY = ("away", "示忙", "Away")
    LOGGED_OUT = ("logged_out", "已登出", "Logged out")
    OFFLINE = ("offline", "未运行", "Not running")
    """The seat's process is not running (stopped, or never said it runs)."""



_STATES = {s.value: s for s in BoardState}

_FROM_AGENT = {
    AgentState.READY: BoardState.READY,
    AgentState.ON_CALL: BoardState.ON_CALL,
    AgentState.AFTER_CALL_WORK: BoardState.AFTER_CALL_WORK,
    AgentState.AWAY: BoardState.AWAY,
    AgentState.LOGGED_OUT: BoardState.LOGGED_OUT,
}


def board_state(agent: AgentState | None, ringing: bool) -> BoardState:
    """The seat's board state: on a call or away beats ringing (the agent is busy; the
    call waits), ringing beats ready and after-call work (the agent may answer now), no
    agent logged in is logged out (the seat's console may still answer by itself)."""
    state = _FROM_AGENT[agent] if agent is not None else BoardState.LOGGED_OUT
    if ringing and state in (BoardState.READY, BoardState.AFTER_CALL_WORK):
        return BoardState.RINGING
    return state


class LineWord(enum.Enum):
    """The seat's SIP registration, as the board shows it."""

    REGISTERED = "registered"
    REGISTERING = "registering"
    FAILED = "failed"
    STOPPED = "stopped"


class GateWord(enum.Enum):
    """The seat's last gate-post check (duty rules §1: the gate post must answer)."""

    OK = "ok"
    ALARM = "alarm"
    UNKNOWN = "unknown"
    """Not checked yet (the watch starts after the line)."""


def gate_word(reachable: bool | None) -> GateWord:
    return GateWord.UNKNOWN if reachable is None else GateWord.OK if reachable else GateWord.ALARM


@dataclass(frozen=True)
class WaitingCall:
    """A caller waiting at a seat: the call's dialog (the same on every ring-all branch)
    and when the seat saw it arrive."""

    dialog: str
    since: dt.datetime


@dataclass(frozen=True)
class SeatPresence:
    """What one seat tells the team now. Coordination, not the record: the agent's state
    changes are chained facts of their own (`agent_states`); this is only the latest."""

    seat: str
    state: BoardState
    since: dt.datetime
    """When the seat entered `state` (away minutes, call time are counted from it)."""
    agent_id: str | None = None
    away_reason: str = ""
    away_approved: bool = False
    """A supervisor approved a longer absence (duty rules §4): never shown overdue."""
    line: LineWord = LineWord.STOPPED
    gate_post: GateWord = GateWord.UNKNOWN
    waiting: tuple[WaitingCall, ...] = ()
    at: dt.datetime | None = None
    """When the seat published it (the newest state wins)."""

    def __post_init__(self) -> None:
        for moment in (self.since, self.at, *(w.since for w in self.waiting)):
            if moment is not None and moment.tzinfo is None:
                raise BoardError(f"{moment.isoformat()} has no time zone")

    def same_as(self, other: SeatPresence | None) -> bool:
        """Equal but for the publishing moment (nothing new to tell the team)."""
        return other is not None and other == replace(self, at=other.at)

    def to_json(self) -> str:
        return json.dumps({
            "v": 1, "seat": self.seat, "state": self.state.value, "since": self.since.isoformat(),
            "agent_id": self.agent_id, "away_reason": self.away_reason,
            "away_approved": self.away_approved, "line": self.line.value,
            "gate_post": self.gate_post.value,
            "waiting": [[w.dialog, w.since.isoformat()] for w in self.waiting],
            "at": self.at.isoformat() if self.at else None,
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SeatPresence:
        """Read a published presence; `BoardError` (one line) if it is not one."""
        try:
            data: Mapping[str, Any] = json.loads(text)
            if data.get("v") != 1:
                raise BoardError(f"presence version {data.get('v')!r} is not 1")
            return cls(
                seat=str(data["seat"]), state=_STATES[data["state"]],
                since=dt.datetime.fromisoformat(data["since"]), agent_id=data.get("agent_id"),
                away_reason=str(data.get("away_reason") or ""),
                away_approved=bool(data.get("away_approved", False)),
                line=LineWord(data["line"]),
                gate_post=GateWord(data["gate_post"]),
                waiting=tuple(WaitingCall(str(d), dt.datetime.fromisoformat(s))
                              for d, s in data.get("waiting") or ()),
                at=dt.datetime.fromisoformat(data["at"]) if data.get("at") else None,
            )
        except BoardError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BoardError(f"not a seat presence ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class TeamFigures:
    """Today's team figures on the board (duty rules §6): callers, not legs."""

    total: int = 0
    answered: int = 0
    within_limit: int = 0

    @property
    def answer_rate(self) -> float | None:
        """接通率: answered / all callers (None before the first call)."""
        return self.answered / self.total if self.total else None

    @property
    def within_share(self) -> float | None:
        """Share of answered callers answered within the ring limit."""
        return self.within_limit / self.answered if self.answered else None


@dataclass(frozen=True)
class Board:
    """Every seat of the team, today's figures, and when it was read."""

    seats: tuple[SeatPresence, ...]
    figures: TeamFigures = field(default_factory=TeamFigures)
    read_at: dt.datetime | None = None

    def waiting(self) -> list[WaitingCall]:
        """The callers waiting anywhere, each once (ring-all), longest-waiting first."""
        return waiting_calls(self.seats)

    def count(self, state: BoardState) -> int:
        return sum(1 for s in self.seats if s.state is state)


def waiting_calls(seats: Iterable[SeatPresence]) -> list[WaitingCall]:
    """Each waiting dialog once, at the earliest arrival a running seat saw, oldest first."""
    first: dict[str, dt.datetime] = {}
    for seat in seats:
        if seat.state is BoardState.OFFLINE:
            continue  # a stopped seat's callers are gone with its line
        for w in seat.waiting:
            if w.dialog not in first or w.since < first[w.dialog]:
                first[w.dialog] = w.since
    return sorted((WaitingCall(d, s) for d, s in first.items()), key=lambda w: (w.since, w.dialog))


def seconds_since(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds from `moment` to `now` (0 if the clocks disagree a little)."""
    return max(0, int((now - moment).total_seconds()))


def away_minutes(presence: SeatPresence, now: dt.datetime) -> int | None:
    """Minutes away (示忙) so far, or None when the seat is not away."""
    if presence.state is not BoardState.AWAY:
        return None
    return seconds_since(presence.since, now) // 60


def away_overdue(presence: SeatPresence, now: dt.datetime, limit: dt.timedelta) -> bool:
    """Away longer than the limit (duty rules §4: 15 minutes by default) shows as overdue."""
    return (presence.state is BoardState.AWAY and not presence.away_approved
            and now - presence.since > limit)


def presence_of(seat: str, agent_state: AgentState | None, agent_since: dt.datetime | None,
                now: dt.datetime, *, agent_id: str | None = None, away_reason: str = "",
                away_approved: bool = False, waiting: Iterable[WaitingCall] = (),
                line: str = "stopped", gate_ok: bool | None = None) -> SeatPresence:
    """A seat's presence from what it knows: its agent (None: nobody logged in), the
    callers it could hand an agent now (`waiting`: ringing here, or held by the console),
    its line's status word and its gate-post check."""
    calls = tuple(sorted(waiting, key=lambda w: (w.since, w.dialog)))
    state = board_state(agent_state, bool(calls))
    since = agent_since or now
    if state is BoardState.RINGING:
        since = calls[0].since
    try:
        line_word = LineWord(line)
    except ValueError:
        raise BoardError(f"line status {line!r} is not one of "
                         f"{', '.join(w.value for w in LineWord)}") from None
    return SeatPresence(seat, state, since, agent_id=agent_id,
                        away_reason=away_reason if state is BoardState.AWAY else "",
                        away_approved=away_approved and state is BoardState.AWAY,
                        line=line_word, gate_post=gate_word(gate_ok), waiting=calls)
