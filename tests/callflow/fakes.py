"""Fakes for the call flow: a line and calls that record what was done, a record, prompts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.callflow.events import CallStep, FlowEvent, Mode
from sip.api import (
    AudioDirection,
    AudioTap,
    CallEnded,
    CallRinging,
    CallState,
    CallStateError,
    DtmfReceived,
    EndReason,
    EventSink,
    PlaybackFinished,
    Prompt,
    TransferOutcome,
)


class FakeCall:
    """A call driven by the test as the caller; records every action of the console."""

    def __init__(self, sink: EventSink, call_id: str, caller: str = "13800000000",
                 from_tag: str = "") -> None:
        self.sink = sink
        self._id = call_id
        self._from_tag = from_tag or f"tag-{call_id}"
        self._caller = caller
        self._state = CallState.RINGING
        self._started = time.monotonic()
        self._ended = threading.Event()
        self.actions: list[str] = []
        self.played: list[str] = []
        self.transfer_outcomes: list[TransferOutcome] = []
        self.lock = threading.Lock()
        self.tap: AudioTap | None = None
        self.tap_error: Exception | None = None
        """Raised by `tap_audio` when set (a call that cannot be tapped)."""
        self.playback_gate: threading.Event | None = None
        """When set: a prompt plays until `stop_playback` (or the end of the call)."""
        self._playing: list[str] = []
        """Prompts held by `playback_gate`, each owed a `PlaybackFinished` (as the line does)."""

    @property
    def call_id(self) -> str:
        return self._id

    @property
    def from_tag(self) -> str:
        return self._from_tag

    @property
    def caller_number(self) -> str:
        return self._caller

    @property
    def caller_name(self) -> str:
        return ""

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def ring_started(self) -> float:
        return self._started

    def ring_elapsed(self) -> float:
        return time.monotonic() - self._started

    def _end(self, reason: EndReason) -> None:
        with self.lock:
            if self._state is CallState.ENDED:
                return
            self._state = CallState.ENDED
            dropped, self._playing = self._playing, []
        for name in dropped:
            self.sink(PlaybackFinished(self, name, False))
        self._ended.set()
        self.sink(CallEnded(self, reason))

    # console side
    def answer(self, at: float | None = None) -> None:
        with self.lock:
            if self._state is not CallState.RINGING:
                raise CallStateError(f"answer in {self._state.value}")
            self._state = CallState.ANSWERED
        self.actions.append("answer")

    def refuse(self, code: int = 486, reason: str = "Busy Here") -> None:
        self.actions.append(f"refuse {code}")
        self._end(EndReason.REFUSED)

    def redirect(self, target_uri: str) -> None:
        self.actions.append(f"redirect {target_uri}")
        self._end(EndReason.REDIRECTED)

    def transfer(self, target_uri: str, timeout: float = 15.0) -> TransferOutcome:
        outcome = self.transfer_outcomes.pop(0) if self.transfer_outcomes else (
            TransferOutcome.SUCCESS
        )
        self.actions.append(f"transfer {target_uri} {outcome.value}")
        if outcome is TransferOutcome.SUCCESS:
            self._end(EndReason.TRANSFERRED)
        return outcome

    def hangup(self) -> None:
        self.actions.append("hangup")
        self._end(EndReason.LOCAL_HANGUP)

    def play(self, prompt: Prompt) -> None:
        if self._state is not CallState.ANSWERED:
            raise CallStateError(f"play in {self._state.value}")
        self.played.append(prompt.name)
        if self.playback_gate is not None and not self.playback_gate.is_set():
            with self.lock:
                self._playing.append(prompt.name)
        else:  # played out at once
            self.sink(PlaybackFinished(self, prompt.name, True))

    def stop_playback(self) -> None:
        self.actions.append("stop_playback")
        if self.playback_gate is not None:
            self.playback_gate.set()
        with self.lock:
            dropped, self._playing = self._playing, []
        for name in dropped:
            self.sink(PlaybackFinished(self, name, False))

    def wait_playback(self, timeout: float | None = None) -> bool:
        gate = self.playback_gate
        if gate is not None and not gate.wait(timeout):
            return False
        return self._state is CallState.ANSWERED

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def tap_audio(self, tap: AudioTap | None) -> None:
        if self.tap_error is not None and tap is not None:
            raise self.tap_error
        self.tap = tap

    def media(self, direction: AudioDirection, pcm: bytes) -> None:
        """The line's media thread: one 20 ms frame each way it went (if tapped)."""
        tap = self.tap
        if tap is not None:
            tap(direction, pcm)

    # caller side
    def press(self, digit: str) -> None:
        self.sink(DtmfReceived(self, digit))

    def caller_hangs_up(self) -> None:
        if self._state is CallState.RINGING:
            self._end(EndReason.CANCELLED)
        else:
            self._end(EndReason.REMOTE_BYE)

    def completed_elsewhere(self) -> None:
        """The PBX cancels this seat's ringing: another seat answered (RFC 3326 cause 200)."""
        self._end(EndReason.COMPLETED_ELSEWHERE)


class FakeLine:
    """Places fake calls into the flow and answers OPTIONS probes as told."""

    def __init__(self, sink: EventSink | None = None) -> None:
        self.sink: EventSink = sink or (lambda event: None)
        self.gate_up = True
        self.probes: list[str] = []
        self.probe_timeouts: list[float] = []
        self._n = 0

    def ring(self, caller: str = "13800000000") -> FakeCall:
        self._n += 1
        call = FakeCall(self.sink, f"call-{self._n}", caller)
        self.sink(CallRinging(call))
        return call

    # the parts of sip.api.Line the flow uses
    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        self.probes.append(target_uri)
        self.probe_timeouts.append(timeout)
        return self.gate_up


@dataclass
class RecordRow:
    """What the memory record keeps about one call."""

    call_id: str
    caller: str
    rang_at: datetime
    mode: Mode
    answered_by: str | None = None
    rings: int | None = None
    rang_seconds: float | None = None
    steps: list[CallStep] = field(default_factory=list)
    forwards: list[tuple[str, str, str]] = field(default_factory=list)
    handed_to: str | None = None
    message_seconds: float | None = None
    message_recording: str | None = None
    recording: str | None = None
    recording_problems: list[str] = field(default_factory=list)
    follow_up_rows: list[tuple[str, str | None, datetime]] = field(default_factory=list)
    satisfaction: int | str | None = "unset"
    follow_ups: list[str] = field(default_factory=list)
    ended_step: CallStep | None = None
    end_reason: str | None = None
    agent_actions: list[str] = field(default_factory=list)


class MemoryRecords:
    """The duty record as the flow sees it (`console.callflow.ports.CallRecords`)."""

    def __init__(self) -> None:
        self.rows: dict[str, RecordRow] = {}
        self.refused: list[tuple[str, str]] = []
        self.alarms: list[tuple[str, str]] = []
        self.security: list[tuple[str, str, str, int, str]] = []
        self.lock = threading.Lock()
        self.closed = threading.Condition(self.lock)

    def call_rang(self, call_id: str, caller: str, at: datetime, mode: Mode) -> None:
        with self.lock:
            self.rows[call_id] = RecordRow(call_id, caller, at, mode)

    def call_answered(
        self, call_id: str, at: datetime, answered_by: str, rings: int, seconds: float
    ) -> None:
        with self.lock:
            self.rows[call_id].answered_by = answered_by
            self.rows[call_id].rings = rings
            self.rows[call_id].rang_seconds = seconds

    def call_rang_out(self, call_id: str, rings: int, seconds: float) -> None:
        with self.lock:
            self.rows[call_id].rings = rings
            self.rows[call_id].rang_seconds = seconds

    def call_step(self, call_id: str, step: CallStep, at: datetime) -> None:
        with self.lock:
            self.rows[call_id].steps.append(step)

    def forward_attempt(
        self, call_id: str, target: str, method: str, outcome: str, at: datetime
    ) -> None:
        with self.lock:
            self.rows[call_id].forwards.append((target, method, outcome))

    def handed_over(self, call_id: str, agent_id: str, at: datetime) -> None:
        with self.lock:
            self.rows[call_id].handed_to = agent_id

    def message_taken(self, call_id: str, seconds: float, recording: str | None) -> None:
        with self.lock:
            self.rows[call_id].message_seconds = seconds
            self.rows[call_id].message_recording = recording

    def satisfaction(self, call_id: str, score: int | None) -> None:
        with self.lock:
            self.rows[call_id].satisfaction = score

    def follow_up(
        self, call_id: str, reason: str, at: datetime, owner: str | None, due_at: datetime
    ) -> None:
        with self.lock:
            self.rows[call_id].follow_ups.append(reason)
            self.rows[call_id].follow_up_rows.append((reason, owner, due_at))

    def recording(self, call_id: str, path: str | None, problem: str = "") -> None:
        with self.lock:
            if path:
                self.rows[call_id].recording = path
            if problem:
                self.rows[call_id].recording_problems.append(problem)

    def call_ended(self, call_id: str, at: datetime, step: CallStep, reason: str) -> None:
        with self.closed:
            self.rows[call_id].ended_step = step
            self.rows[call_id].end_reason = reason
            self.closed.notify_all()

    def call_refused(self, call_id: str, caller: str, at: datetime, reason: str) -> None:
        with self.lock:
            self.refused.append((caller, reason))

    def agent_action(self, call_id: str, text: str, at: datetime) -> None:
        with self.lock:
            self.rows[call_id].agent_actions.append(text)

    def alarm(self, kind: str, detail: str, at: datetime) -> None:
        with self.lock:
            self.alarms.append((kind, detail))

    def security_event(self, kind: Any, source: str, method: str, count: int, detail: str,
                       at: datetime) -> None:
        with self.lock:
            self.security.append((kind.value, source, method, count, detail))

    def wait_closed(self, call_id: str, timeout: float = 5.0) -> RecordRow:
        with self.closed:
            ok = self.closed.wait_for(
                lambda: call_id in self.rows and self.rows[call_id].end_reason is not None,
                timeout,
            )
            assert ok, f"call {call_id} was never closed in the record"
            return self.rows[call_id]


class FixedStaffing:
    """Staffed or not, as the test says (the real schedule is tested in the domain)."""

    def __init__(self, staffed: bool = True) -> None:
        self.staffed = staffed

    def is_staffed(self, at: datetime) -> bool:
        return self.staffed


class TinyPrompts:
    """Prompts of 20 ms silence, named so tests can see what was played."""

    def get(self, name: str) -> Prompt:
        return Prompt(name, b"\x00\x00" * 160)

    def greeting_for(self, agent_id: str) -> Prompt:
        return Prompt(f"greeting:{agent_id}" if agent_id else "greeting_auto", b"\x00" * 320)


class EventLog:
    """Collects published flow events (a UI stand-in)."""

    def __init__(self) -> None:
        self.events: list[FlowEvent] = []
        self.cv = threading.Condition()

    def __call__(self, event: FlowEvent) -> None:
        with self.cv:
            self.events.append(event)
            self.cv.notify_all()

    def wait_for(self, kind: type, timeout: float = 5.0, **match: object) -> FlowEvent:
        def find() -> FlowEvent | None:
            for e in self.events:
                if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items()):
                    return e
            return None

        with self.cv:
            self.cv.wait_for(lambda: find() is not None, timeout)
            found = find()
        assert found is not None, f"no {kind.__name__} {match} in {self.events}"
        return found
