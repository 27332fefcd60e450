"""The call flow's own state machine: which step may follow which, as a table you can print.

A call session moves only by firing a `StepEvent`; `FLOW_TABLE` says which step it leads to
from where. The table is the map of the script the flow carries out (ring → answer →
greeting → hold or conversation → survey → thanks → wait for the caller's hang-up, or after
hours → forward → fallback → message), so a reader checks a path here rather than in the
session's code, and the flow's tests fail on any move the table does not allow
(`python -m console.callflow` prints it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from console.callflow.events import CallStep
from console.domain.machine import TransitionTable


class StepEvent(enum.Enum):
    """What moves a call to its next step; each leads to one step (`TARGETS`)."""

    ANSWER = "answer"
    """An agent took the ringing call, or the console answered at the ring limit."""
    AFTER_HOURS = "after_hours"
    """Night mode: the call is for the gate post."""
    WAIT = "wait"
    """The seat is busy: answered and held with the busy prompt."""
    HOLD = "hold"
    """On hold: after an auto-answer, or the agent put the caller on hold."""
    TALK = "talk"
    """An agent talks with the caller (answered, took over, resumed, a transfer failed)."""
    FORWARD = "forward"
    """An attempt to hand the call to the gate post (REFER or 302)."""
    FALL_BACK = "fall_back"
    """No forward reached the gate post (or none was possible)."""
    TAKE_MESSAGE = "take_message"
    SURVEY = "survey"
    THANK = "thank"
    AWAIT_HANGUP = "await_hangup"
    """Duty rules §3.8: the caller hangs up first."""
    END = "end"
    """The call ended, in whatever step (the record keeps the step it ended in)."""


_S = CallStep
_SPEC: Mapping[StepEvent, tuple[CallStep, tuple[CallStep, ...]]] = {
    StepEvent.ANSWER: (_S.GREETING, (_S.RINGING,)),
    StepEvent.AFTER_HOURS: (_S.AFTER_HOURS, (_S.RINGING,)),
    StepEvent.WAIT: (_S.WAITING, (_S.RINGING,)),
    StepEvent.HOLD: (_S.HOLD, (_S.GREETING, _S.CONVERSATION)),
    StepEvent.TALK: (_S.CONVERSATION, (_S.GREETING, _S.HOLD, _S.WAITING, _S.FORWARDING)),
    StepEvent.FORWARD: (
        _S.FORWARDING,
        (_S.RINGING, _S.AFTER_HOURS, _S.CONVERSATION, _S.HOLD, _S.FORWARDING),
    ),
    StepEvent.FALL_BACK: (_S.FALLBACK, (_S.RINGING, _S.AFTER_HOURS, _S.FORWARDING)),
    StepEvent.TAKE_MESSAGE: (_S.MESSAGE, (_S.HOLD, _S.WAITING, _S.FALLBACK)),
    StepEvent.SURVEY: (
        _S.SURVEY,
        (_S.CONVERSATION, _S.HOLD, _S.WAITING, _S.FALLBACK, _S.MESSAGE),
    ),
    StepEvent.THANK: (
        _S.THANKS,
        (_S.CONVERSATION, _S.HOLD, _S.WAITING, _S.FALLBACK, _S.MESSAGE, _S.SURVEY),
    ),
    StepEvent.AWAIT_HANGUP: (_S.WAIT_HANGUP, (_S.THANKS,)),
    StepEvent.END: (_S.DONE, tuple(s for s in CallStep if s is not _S.DONE)),
}

TARGETS: Mapping[StepEvent, CallStep] = {event: target for event, (target, _) in _SPEC.items()}
"""The step each event leads to (from every step the table allows it in)."""

FLOW_TABLE: TransitionTable[CallStep, StepEvent] = TransitionTable(
    name="call flow",
    rows={
        (source, event): target
        for event, (target, sources) in _SPEC.items()
        for source in sources
    },
    terminal=frozenset({CallStep.DONE}),
)
"""Every move a call session may make; any other is a bug in the flow (logged, flagged)."""
