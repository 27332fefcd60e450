"""What the call flow needs from the rest of the console, as small protocols.

The flow is written against these so it runs (and is tested) with fakes, and so the
duty record (`console.store`) and the schedule (`console.domain`) plug in through thin
adapters without the flow knowing their internals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from console.callflow.events import CallStep, Mode
from console.domain.answer_claim import AnswerClaim
from console.domain.errors import DomainError
from console.domain.labels import Satisfaction
from console.domain.ring import RingLimit
from console.domain.security import SecurityKind
from console.domain.survey import DEFAULT_SURVEY_DIGITS, survey_keys


class FlowError(Exception):
    """Base of call-flow failures; `title` is the headline a screen or log shows."""

    title = "Call flow"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class Clock(Protocol):
    """Injected time: wall time for schedules and records, monotonic time for waits."""

    def now(self) -> datetime: ...
    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock, read in the line's time zone once `settle` has told it which.

    One object serves the flow, the seat and the duty record (the runner hands its `now`
    to all three), so every time shown, stored and exported comes from it (issue 11).
    """

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz) if self.tz is not None else datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()

    def settle(self, tz: tzinfo, latest: datetime | None = None) -> None:
        """Read the time in `tz` (the line's); `latest` is for pretend clocks only."""
        self.tz = tz


class ShiftedClock:
    """Wall time that starts at `start` and runs at real speed (end-to-end tests, demos).

    A start without an offset is in the line's time zone (`settle`), not the machine's:
    `--clock-start 2026-03-02T10:00` is 10:00 where the hotline is.
    """

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        start = self._start if self._start.tzinfo is not None else self._start.astimezone()
        return start + timedelta(seconds=time.monotonic() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic()

    def settle(self, tz: tzinfo, latest: datetime | None = None) -> None:
        """The line's time zone for a naive start, and continue after `latest` (the duty
        record's last moment) when that is later than the start: each run of a demo goes
        on from the last one instead of starting its pretend morning over."""
        now = self.now() if self._start.tzinfo is not None else None
        start = self._start.replace(tzinfo=tz) if now is None else now
        if latest is not None and latest >= start:
            start = latest + timedelta(seconds=1)
        self._start = start.astimezone(tz)
        self._t0 = time.monotonic()


class Staffing(Protocol):
    """Is the line staffed at `at` (schedule, holidays, 调休, manual override)?"""

    def is_staffed(self, at: datetime) -> bool: ...


class CallRecords(Protocol):
    """The duty record as the flow writes it; every method returns quickly."""

    def call_rang(self, call_id: str, caller: str, at: datetime, mode: Mode) -> None: ...
    def call_answered(
        self, call_id: str, at: datetime, answered_by: str, rings: int, seconds: float
    ) -> None: ...
    def call_rang_out(self, call_id: str, rings: int, seconds: float) -> None:
        """The call ended unanswered by us (abandoned, redirected, refused) after `rings`
        rings over `seconds`: the record keeps the rings of every call (duty rules §5)."""
        ...

    def call_step(self, call_id: str, step: CallStep, at: datetime) -> None: ...
    def forward_attempt(
        self, call_id: str, target: str, method: str, outcome: str, at: datetime
    ) -> None: ...
    def handed_over(self, call_id: str, agent_id: str, at: datetime) -> None: ...
    def message_taken(self, call_id: str, seconds: float, recording: str | None) -> None: ...
    def satisfaction(self, call_id: str, score: int | None) -> None: ...
    def follow_up(
        self, call_id: str, reason: str, at: datetime, owner: str | None, due_at: datetime
    ) -> None:
        """A follow-up the call needs; `owner` None: nobody to own it (no default configured)."""
        ...

    def recording(self, call_id: str, path: str | None, problem: str = "") -> None:
        """The call's recording file (at answer), or why there is none or why it stopped."""
        ...

    def call_ended(
        self, call_id: str, at: datetime, step: CallStep, reason: str
    ) -> None: ...
    def call_refused(self, call_id: str, caller: str, at: datetime, reason: str) -> None: ...
    def agent_action(self, call_id: str, text: str, at: datetime) -> None:
        """What the agent did to the call (hold, resume, transfer, hang up), in words."""
        ...

    def alarm(self, kind: str, detail: str, at: datetime) -> None: ...
    def security_event(
        self, kind: SecurityKind, source: str, method: str, count: int, detail: str,
        at: datetime,
    ) -> None:
        """Requests that were no call (scanner, garbage): the security log, not the calls."""
        ...


class ClaimTicket(Protocol):
    """A claim on its way to the shared record (`AnswerClaims.claim`)."""

    @property
    def result(self) -> AnswerClaim | None:
        """None until the record has settled the claim."""
        ...


class AnswerClaims(Protocol):
    """The seats of one hotline agree which of them answers a call the PBX rang at all
    of them (ring-all, issue 13): `console.store.claims.AnswerClaims` in the product."""

    shared: bool
    """Other seats may claim too (the record of a team): a busy seat then leaves a new call
    to the free seats until the ring limit instead of answering it with the busy prompt."""

    def claim(self, call_id: str, from_tag: str, agent_id: str | None,
              wake: Callable[[], None]) -> ClaimTicket:
        """Claim the caller's call for this seat (`agent_id` None: the seat answers by
        itself); returns at once, `wake` is called when the ticket's result is there."""
        ...

    def warm(self) -> None:
        """Get ready for the first claim (connect) without waiting for it."""
        ...

    def close(self) -> None:
        """No more claims (the flow stops): a claim after this is undecided at once."""
        ...


@dataclass(frozen=True)
class ForwardTarget:
    """One gate-post destination in the fallback chain (fixed by config, never by a caller)."""

    uri: str
    method: str = "refer"
    """"refer" (answer, announce, REFER) or "redirect" (302 before answering)."""
    attempts: int = 1
    """How often to try this target before the next one (a retry is attempts=2)."""


@dataclass(frozen=True)
class FlowSettings:
    """Timings and policies of the flow; all come from `console.toml`."""

    ring_limit_seconds: float = 15.0
    ring_cadence: float = 5.0
    agent_id_when_auto: str = ""
    """The seat's agent ID spoken in an auto-answered greeting (empty: none spoken)."""
    handover_timeout: float = 60.0
    """Seconds on hold after an auto-answer before the console takes a message."""
    message_seconds: float = 60.0
    digit_timeout: float = 8.0
    """Seconds to wait for a survey digit (once more after the retry prompt)."""
    hangup_timeout: float = 10.0
    """Seconds to let the caller hang up first before the console ends the call."""
    transfer_timeout: float = 15.0
    busy_policy: str = "hold"
    """Second call while the seat is busy: "hold" (prompt, wait for the seat) or "forward"."""
    busy_wait: float = 120.0
    """Longest hold for a waiting call before it gets the message path."""
    gate_chain: tuple[ForwardTarget, ...] = field(default_factory=tuple)
    probe_interval: float = 300.0
    probe_timeout: float = 2.0
    """Seconds one OPTIONS probe of the gate post may take (`gate_post.probe_timeout_seconds`)."""
    survey_digits: str = DEFAULT_SURVEY_DIGITS
    """The keys for satisfied, average, dissatisfied, in that order (`prompts.survey_digits`)."""
    survey: bool = True
    """Play the satisfaction survey at the end of a call (after a conversation or a message)."""
    take_message: bool = True
    """Last step of every fallback: record a message (False: only a follow-up and thanks)."""
    max_waiting: int = 3
    """Calls that may wait on hold while the seat is busy; beyond it they are forwarded."""
    follow_up_owner: str = ""
    """Agent ID owning follow-ups of calls no agent served (auto, gate post, message);
    empty: such follow-ups stay text in the call and raise an alarm."""
    follow_up_hours: float = 24.0
    """A follow-up is due this many hours after it was opened."""
    recording_dir: str = ""
    """Where recordings go; empty: nothing is recorded (neither calls nor messages)."""
    record_calls: bool = False
    """Record every answered call (both directions); messages are recorded regardless."""
    agent_greeting_by_tts: bool = True
    """Play the greeting when an agent answers; False: the agent says it themselves."""
    claim_timeout: float = 0.4
    """Seconds a seat waits for the shared record to settle its answer claim (ring-all);
    the claim starts this much (and 0.1 s) before the ring limit so that the answer is
    still made at the limit. Past it the claim counts as won (duty rules §1)."""

    @property
    def ring_limit(self) -> RingLimit:
        """The ring limit as the domain's `RingLimit` (rings × cadence)."""
        return RingLimit.of_seconds(self.ring_limit_seconds, self.ring_cadence)

    @property
    def survey_keys(self) -> dict[str, Satisfaction]:
        """Key → answer for the survey (`console.domain.survey.survey_keys`)."""
        return dict(survey_keys(self.survey_digits))

    def validate(self) -> None:
        """Raise FlowError naming the setting that is unusable."""
        for name in (
            "ring_limit_seconds", "ring_cadence", "handover_timeout", "message_seconds",
            "digit_timeout", "hangup_timeout", "transfer_timeout", "busy_wait",
            "probe_interval", "probe_timeout", "follow_up_hours", "claim_timeout",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value <= 0:
                raise FlowError(f"{name}: {value!r} must be seconds > 0", "Call flow settings")
        try:
            self.ring_limit  # noqa: B018 - built to be checked
        except DomainError as exc:
            raise FlowError(f"ring_limit_seconds: {exc}", "Call flow settings") from None
        try:
            survey_keys(self.survey_digits)
        except DomainError as exc:
            raise FlowError(f"survey_digits: {exc}", "Call flow settings") from None
        if isinstance(self.max_waiting, bool) or not isinstance(self.max_waiting, int) or not (
            0 <= self.max_waiting <= 100
        ):
            raise FlowError(
                f"max_waiting: {self.max_waiting!r} must be a whole number 0-100",
                "Call flow settings",
            )
        if self.record_calls and not self.recording_dir:
            raise FlowError("record_calls needs a recording_dir", "Call flow settings")
        if self.busy_policy not in ("hold", "forward"):
            raise FlowError(
                f"busy_policy: {self.busy_policy!r}; expected 'hold' or 'forward'",
                "Call flow settings",
            )
        for target in self.gate_chain:
            if not target.uri.startswith("sip:"):
                raise FlowError(f"gate post {target.uri!r} is not a sip: URI", "Gate post")
            if target.method not in ("refer", "redirect"):
                raise FlowError(
                    f"gate post method {target.method!r}; expected 'refer' or 'redirect'",
                    "Gate post",
                )
            if target.attempts < 1:
                raise FlowError(f"gate post attempts {target.attempts!r} < 1", "Gate post")
