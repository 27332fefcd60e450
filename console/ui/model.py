"""What the seat knows about calls right now, rebuilt from flow events on the UI loop.

Plain Python (no widgets): the app applies each `FlowEvent` here and the screens read it.
Because only the UI loop touches it, it needs no lock.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from console.callflow.events import (
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    FlowEvent,
    GatePostAlarm,
    GatePostChecked,
    HandedOver,
    Mode,
    SeatRinging,
    StepChanged,
    SurveyScored,
)


class Phase(enum.Enum):
    """A call as the seat sees it."""

    RINGING = "ringing"
    """Ringing at the seat; the agent may answer."""
    HELD = "held"
    """Answered by the console (at the ring limit, or waiting while the seat was busy)."""
    AGENT = "agent"
    """An agent is talking (or the survey is running)."""
    NIGHT = "night"
    """After hours: the flow forwards it to the gate post; nothing for the seat to do."""
    ENDED = "ended"


@dataclass
class LiveCall:
    """One call the flow told us about."""

    call_id: str
    caller: str
    mode: Mode
    arrived_at: dt.datetime
    phase: Phase
    caller_name: str = ""
    auto_answer_in: float | None = None
    answered_by: str | None = None
    rings: int | None = None
    step: CallStep = CallStep.RINGING
    score: int | None = None
    scored: bool = False
    end_reason: str = ""

    @property
    def takeable(self) -> bool:
        """The agent can answer it or take it over now."""
        return self.phase in (Phase.RINGING, Phase.HELD)


class SeatModel:
    """Calls by Call-ID plus the gate post's health, updated by `apply`."""

    def __init__(self) -> None:
        self.calls: dict[str, LiveCall] = {}
        self.gate_ok: bool | None = None
        self.gate_detail: str = ""

    def apply(self, event: FlowEvent) -> LiveCall | None:
        """Fold one event in; returns the call it concerns (None for line-wide events)."""
        if isinstance(event, GatePostChecked):
            self.gate_ok = event.reachable
            self.gate_detail = event.target
            return None
        if isinstance(event, GatePostAlarm):
            self.gate_ok = False
            self.gate_detail = event.detail
            return None
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return None
        if isinstance(event, CallArrived):
            phase = Phase.NIGHT if event.mode is Mode.NIGHT else Phase.RINGING
            arrived = LiveCall(event.call_id, event.caller, event.mode, event.at, phase)
            self.calls[call_id] = arrived
            return arrived
        call = self.calls.get(call_id)
        if call is None:
            return None
        if isinstance(event, SeatRinging):
            call.auto_answer_in = event.auto_answer_in
        elif isinstance(event, CallAnswered):
            call.answered_by = event.answered_by
            call.rings = event.rings
            call.phase = Phase.HELD if event.answered_by == "auto" else Phase.AGENT
            if call.mode is Mode.NIGHT:
                call.phase = Phase.NIGHT
        elif isinstance(event, HandedOver):
            call.answered_by = event.agent_id
            call.phase = Phase.AGENT
        elif isinstance(event, StepChanged):
            call.step = event.step
            if event.step is CallStep.WAITING:
                call.phase = Phase.HELD
        elif isinstance(event, SurveyScored):
            call.score = event.score
            call.scored = True
        elif isinstance(event, CallFinished):
            call.phase = Phase.ENDED
            call.step = event.step
            call.end_reason = event.reason
        return call

    def ringing(self) -> list[LiveCall]:
        """Calls the agent could answer now, oldest first."""
        return sorted((c for c in self.calls.values() if c.takeable), key=lambda c: c.arrived_at)

    def forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
