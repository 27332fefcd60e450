"""What the seat knows right now: its calls (rebuilt from flow events), the agent's state,
the line's and the headset's status, the gate post's and the record's health, and the notes
being typed, all on the UI loop.

Plain Python (no widgets, no Textual; issue 11: "a seat that owns its state"): the app holds
one `SeatModel`, folds each `FlowEvent` and each status change in, and the screens read it.
Because only the UI loop touches it, it needs no lock.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from console.callflow.events import (
    AnsweredElsewhere,
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    FlowEvent,
    ForwardAttempted,
    GatePostAlarm,
    GatePostChecked,
    HandedOver,
    Mode,
    RecordAlarm,
    SeatRinging,
    StepChanged,
    SurveyScored,
)
from console.domain.agent import Agent
from console.domain.board import Board, SeatPresence, WaitingCall, presence_of
from console.headset import HeadsetState, HeadsetStatus
from sip.api import LineStatus

if TYPE_CHECKING:  # the notes' module reads the duty record: not at the seat's cold start
    from console.ui.notes import CallNotes


def forward_failed(event: ForwardAttempted) -> bool:
    """The gate post did not get the call: refused, timed out, or skipped (not "success", not
    "redirected"; a redirect skipped because the call was already answered is no failure:
    the next target is tried)."""
    return event.outcome not in ("success", "redirected", "skipped: already answered")


TAKEABLE_STEPS = frozenset({CallStep.RINGING, CallStep.GREETING, CallStep.HOLD,
                            CallStep.WAITING})
"""The steps in which the flow lets an agent take a call (`CallSession.take`)."""


AGENT_ACTION_STEPS = frozenset({CallStep.RINGING, CallStep.GREETING, CallStep.CONVERSATION,
                                CallStep.HOLD})
"""The steps in which the flow serves the agent's hold, take-back and transfer of a call they
took (`CallSession.request`: its agent steps, and ringing before its answer went out)."""


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
    step_at: dt.datetime | None = None
    """When the flow entered `step` (the banner counts the hold or the message from it)."""
    seconds_to_answer: float | None = None
    answered_at: dt.datetime | None = None
    """When the caller was first answered (by the agent or the console)."""
    talking_since: dt.datetime | None = None
    """When the agent started talking (their answer, or taking it over): the call timer."""
    ended_at: dt.datetime | None = None
    score: int | None = None
    scored: bool = False
    end_reason: str = ""
    answering: bool = False
    """The agent pressed answer and the flow is claiming the call for them (the UI's own
    state, until the flow says taken or not)."""
    taken_elsewhere: str = ""
    """Another seat of the hotline took the call (ring-all): who, e.g. "1002 @ seat-b". This
    seat's branch rings on until the PBX cancels it, but it is nobody's here to answer."""

    @property
    def takeable(self) -> bool:
        """The agent can answer it or take it over now (the flow refuses it in any other
        step: once the caller leaves a message or rates the service, it is theirs; and a
        call another seat took is not this seat's)."""
        return (self.phase in (Phase.RINGING, Phase.HELD) and self.step in TAKEABLE_STEPS
                and not self.taken_elsewhere)

    @property
    def agent_may_act(self) -> bool:
        """The agent's call is in a step where the flow serves hold and transfer (F6, F4)."""
        return self.phase is Phase.AGENT and self.step in AGENT_ACTION_STEPS

    @property
    def console_has_it(self) -> bool:
        """Answered by the console (at the ring limit or while the seat was busy) and not
        taken by an agent: the caller hears prompts, the seat must see it."""
        return self.phase is Phase.HELD or (
            self.answered_by == "auto" and self.phase is not Phase.ENDED
            and self.mode is not Mode.NIGHT
        )


class SeatModel:
    """Calls by Call-ID plus the gate post's and the record's health, updated by `apply`."""

    record_down: RecordAlarm | None
    record_at_risk: RecordAlarm | None

    def _record_alarm(self, event: RecordAlarm) -> None:
        if event.kind == "db_down":
            self.record_down = event
        elif event.kind == "db_back":
            self.record_down = None
        elif event.kind == "outbox_at_risk":
            self.record_at_risk = event
        elif event.kind == "outbox_safe":
            self.record_at_risk = None
        elif event.kind in ("record_refused", "record_lost"):
            self.record_refused += 1

    def __init__(self) -> None:
        self.calls: dict[str, LiveCall] = {}
        self.gate_ok: bool | None = None
        self.gate_detail: str = ""
        self.forward_failures: int = 0
        """Forwards to the gate post that did not reach it since the seat started (each is a
        caller who got a message prompt instead of the gate post, duty rules §1)."""
        self.record_down: RecordAlarm | None = None
        """The database is away (`db_down`) until `db_back`: calls go on, their facts wait."""
        self.record_at_risk: RecordAlarm | None = None
        """The outbox's disk is full (`outbox_at_risk`) until `outbox_safe`."""
        self.record_refused: int = 0
        """Writes the database refused since the seat started (kept aside for a supervisor)."""
        self.agent: Agent | None = None
        """The logged-in agent's state (the domain's machine); None: nobody logged in."""
        self.line_status: LineStatus = LineStatus.STOPPED
        self.line_reason: str = ""
        """Why the line failed (the registrar's answer), shown beside `line_status`."""
        self.headset_status: HeadsetStatus = HeadsetStatus(HeadsetState.NO_HEADSET,
                                                           detail="looking")
        self.notes: dict[str, CallNotes] = {}
        """Latest notes per call while its screen is open (the drafts on disk follow them);
        forgotten when F10 has them in the record (`forget_notes`)."""
        self.typed: dict[str, int] = {}
        """The form's version of each call's notes in `notes` (forgotten with them)."""
        self.team_board: Board | None = None
        """The team board as last heard (`console.store.board`); None: none heard."""
        self.board_live: bool = False
        """The board's listener hears the database (False while it reconnects)."""

    def notes_edited(self, call_id: str, notes: CallNotes, version: int | None = None) -> None:
        """The agent's latest notes of a call (with the form's version, when it says)."""
        self.notes[call_id] = notes
        if version is not None:
            self.typed[call_id] = version

    def forget_notes(self, call_id: str) -> None:
        """The call's notes are final and in the record: the seat keeps nothing of them."""
        self.notes.pop(call_id, None)
        self.typed.pop(call_id, None)

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
        if isinstance(event, RecordAlarm):
            self._record_alarm(event)
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
        elif isinstance(event, AnsweredElsewhere):
            call.taken_elsewhere = event.holder
        elif isinstance(event, CallAnswered):
            call.answered_by = event.answered_by
            call.rings = event.rings
            call.seconds_to_answer = event.seconds_to_answer
            call.answered_at = call.answered_at or event.at
            if event.answered_by != "auto":
                call.talking_since = call.talking_since or event.at
            call.phase = Phase.HELD if event.answered_by == "auto" else Phase.AGENT
            if call.mode is Mode.NIGHT:
                call.phase = Phase.NIGHT
        elif isinstance(event, HandedOver):
            call.answered_by = event.agent_id
            call.phase = Phase.AGENT
            call.talking_since = call.talking_since or event.at
        elif isinstance(event, StepChanged):
            call.step = event.step
            call.step_at = event.at
            if event.step is CallStep.WAITING:
                call.phase = Phase.HELD
        elif isinstance(event, ForwardAttempted):
            if forward_failed(event):
                self.forward_failures += 1
                self.gate_ok = False
                self.gate_detail = f"{event.target}: {event.outcome}"
        elif isinstance(event, SurveyScored):
            call.score = event.score
            call.scored = True
        elif isinstance(event, CallFinished):
            call.phase = Phase.ENDED
            call.ended_at = event.at
            call.step = event.step
            call.end_reason = event.reason
        return call

    def ringing(self) -> list[LiveCall]:
        """Calls the agent could answer now, oldest first."""
        return sorted((c for c in self.calls.values() if c.takeable), key=lambda c: c.arrived_at)

    def presence(self, seat: str, now: dt.datetime,
                 since: dt.datetime | None = None) -> SeatPresence:
        """What this seat tells the team board now (`console.domain.board`): its agent's
        state (ringing while a caller waits for it), its line, its gate post, and the callers
        it could hand an agent (ringing here or held by the console). `since`: when a seat
        nobody is logged in at started (a headless line). `BoardError` if a word is unknown."""
        agent = self.agent
        waiting = [WaitingCall(c.call_id, c.arrived_at) for c in self.ringing()]
        return presence_of(
            seat, agent.state if agent else None, agent.since if agent else since, now,
            agent_id=agent.agent_id if agent else None,
            away_reason=agent.away_reason if agent else "",
            away_approved=bool(agent and agent.away_approved_by), waiting=waiting,
            line=self.line_status.value, gate_ok=self.gate_ok)

    def forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
