"""What the call flow tells the world: small event dataclasses and a thread-safe bus.

The flow runs on line and call threads; a UI (Textual's `post_message` is thread-safe) or
the headless logger subscribes here. Every event is also logged on "console.callflow".
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime

log = logging.getLogger("console.callflow")


class CallStep(enum.Enum):
    """Where a call is in the script; the record keeps the step a call ended at."""

    RINGING = "ringing"
    GREETING = "greeting"
    HOLD = "hold"
    WAITING = "waiting"
    """A second call, held with a prompt while the seat is busy."""
    CONVERSATION = "conversation"
    MESSAGE = "message"
    AFTER_HOURS = "after_hours"
    FORWARDING = "forwarding"
    FALLBACK = "fallback"
    SURVEY = "survey"
    THANKS = "thanks"
    WAIT_HANGUP = "wait_hangup"
    DONE = "done"


class Mode(enum.Enum):
    """How a call is handled, decided when it rings."""

    STAFFED = "staffed"
    NIGHT = "night"
    WAITING = "waiting"
    """The seat was busy: held (or forwarded) per `busy_policy`."""


@dataclass(frozen=True)
class FlowEvent:
    """Base of every call-flow event; `at` is the injected clock's wall time."""

    at: datetime

    def describe(self) -> str:
        parts = [
            f"{f.name}={getattr(self, f.name)}" for f in fields(self) if f.name != "at"
        ]
        return f"{type(self).__name__} " + " ".join(
            p.replace("Mode.", "").replace("CallStep.", "") for p in parts
        )


@dataclass(frozen=True)
class CallArrived(FlowEvent):
    call_id: str
    caller: str
    mode: Mode


@dataclass(frozen=True)
class SeatRinging(FlowEvent):
    """The seat rings; an agent may take the call before `auto_answer_in` seconds."""

    call_id: str
    auto_answer_in: float


@dataclass(frozen=True)
class CallAnswered(FlowEvent):
    call_id: str
    answered_by: str
    """An agent ID, or "auto"."""
    rings: int
    seconds_to_answer: float


@dataclass(frozen=True)
class AnsweredElsewhere(FlowEvent):
    """Another seat of the hotline holds this call (it won the answer claim): this seat
    does not answer and rings on until the PBX cancels it; its banner says who."""

    call_id: str
    seat: str
    agent_id: str | None
    """The agent who took it there; None: that seat answered by itself."""
    holder: str
    """Who took it, as the banner shows it ("1001 @ seat-b", "auto @ seat-a")."""


@dataclass(frozen=True)
class StepChanged(FlowEvent):
    call_id: str
    step: CallStep


@dataclass(frozen=True)
class PromptPlayed(FlowEvent):
    call_id: str
    prompt: str
    completed: bool


@dataclass(frozen=True)
class HandedOver(FlowEvent):
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class ForwardAttempted(FlowEvent):
    call_id: str
    target: str
    method: str
    outcome: str
    attempt: int


@dataclass(frozen=True)
class MessageTaken(FlowEvent):
    call_id: str
    seconds: float


@dataclass(frozen=True)
class FollowUpOpened(FlowEvent):
    call_id: str
    reason: str
    owner: str | None = None
    """Who owns it (首问负责: the agent who served the call, else the configured default)."""
    due_at: datetime | None = None


@dataclass(frozen=True)
class SurveyScored(FlowEvent):
    call_id: str
    score: int | None
    """1 satisfied, 2 average, 3 dissatisfied; None = no rating."""


@dataclass(frozen=True)
class SupervisorAlert(FlowEvent):
    call_id: str
    reason: str


@dataclass(frozen=True)
class GatePostChecked(FlowEvent):
    target: str
    reachable: bool


@dataclass(frozen=True)
class GatePostAlarm(FlowEvent):
    """The gate post did not answer OPTIONS: a night forward would leave the line unreachable."""

    target: str
    detail: str


@dataclass(frozen=True)
class RecordAlarm(FlowEvent):
    """The duty record's news: `db_down` / `db_back`, `outbox_at_risk` / `outbox_safe`,
    `record_refused`, `record_lost`. Calls go on either way (their facts wait in the
    outbox); the seat shows it so nobody thinks the record is keeping up when it is not."""

    kind: str
    detail: str
    pending: int = 0
    """Writes waiting in the outbox."""
    unsaved: int = 0
    """Of those, writes only in memory (the outbox's disk is full)."""


@dataclass(frozen=True)
class RecordingAlarm(FlowEvent):
    """A call (or a message) could not be recorded, or its recording stopped: the call goes on."""

    call_id: str
    detail: str


@dataclass(frozen=True)
class CallRefused(FlowEvent):
    call_id: str
    caller: str
    reason: str


@dataclass(frozen=True)
class CallFinished(FlowEvent):
    call_id: str
    step: CallStep
    """The step the call was in when it ended."""
    reason: str
    answered_by: str | None


Subscriber = Callable[[FlowEvent], None]


class EventBus:
    """Thread-safe fan-out of `FlowEvent`s; a failing subscriber is logged, never fatal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber (called on the flow's threads: be quick); returns unsubscribe."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: FlowEvent) -> None:
        log.info("%s", event.describe())
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed on %s", subscriber, type(event).__name__)
