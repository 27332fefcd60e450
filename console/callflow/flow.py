"""The headless brain: line events in, duty-rule decisions, record writes, UI events out.

One `CallSession` per call walks the script (ring → answer → greeting → hold or
conversation → survey → wait for the caller to hang up), or, after hours, announces and
forwards to the gate post through the configured fallback chain. Every session is a
generator on the flow's one `Dispatcher` thread (no thread per call). The rules are the
domain's: the session moves only as `FLOW_TABLE` allows, counts rings with `RingLimit`,
runs the survey as `console.domain.survey.Survey` decides (feeding it every key, the
prompt's end and the clock) and names the call's end with `CallEnd`. Everything a caller
sends only ever selects a survey score: forward targets come from `FlowSettings` alone.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from console.callflow.dispatcher import Blocking, Dispatcher, Steps, Task, Wait
from console.callflow.events import (
    AnsweredElsewhere,
    CallAnswered,
    CallArrived,
    CallFinished,
    CallRefused,
    CallStep,
    EventBus,
    FlowEvent,
    FollowUpOpened,
    ForwardAttempted,
    GatePostAlarm,
    GatePostChecked,
    HandedOver,
    MessageTaken,
    Mode,
    PromptPlayed,
    RecordingAlarm,
    SeatRinging,
    StepChanged,
    SupervisorAlert,
    SurveyScored,
)
from console.callflow.heap_trim import HeapTrim
from console.callflow.ports import (
    AnswerClaims,
    CallRecords,
    Clock,
    FlowSettings,
    Staffing,
    SystemClock,
)
from console.callflow.recording import Recorder, Recording, RecordingError
from console.callflow.steps import FLOW_TABLE, TARGETS, StepEvent
from console.domain import reasons
from console.domain.answer_claim import AnswerClaim
from console.domain.machine import Step
from console.domain.outcome import CallEnd
from console.domain.prompt_names import PromptName
from console.domain.security import security_kind
from console.domain.survey import Survey, SurveyAction
from sip.api import (
    AudioDirection,
    Call,
    CallEnded,
    CallRinging,
    CallStateError,
    DtmfReceived,
    EndReason,
    Line,
    LineEvent,
    PlaybackFinished,
    Prompt,
    RequestRefused,
    SipError,
    TransferOutcome,
)

log = logging.getLogger("console.callflow")

class Prompts(Protocol):
    """What the flow plays (`console.prompts.PromptBook` in the product); names are
    `PromptName`s (plain strings to the book)."""

    def get(self, name: str) -> Prompt: ...
    def greeting_for(self, agent_id: str) -> Prompt: ...


_ENDED_GRACE = 2.0
"""Seconds a session waits for the line's "ended" event after the line refused an
operation because the call had ended."""

_CLAIM_MARGIN = 0.1
"""Seconds, beyond `FlowSettings.claim_timeout`, by which the answer claim goes out before
the ring limit (a settled claim wakes the call through the dispatcher)."""

_PRESS_CLAIM_SECONDS = 2.0
"""The longest an agent's press waits for its claim when the ring limit leaves time: an
undecided claim counts as won, so two presses undecided at once could both answer."""

_LOST_RING_SECONDS = 180.0
"""How long a seat that lost the answer claim rings on waiting for the PBX's CANCEL: past
RFC 3261 Timer C (§16.6 step 11, > 3 min) a proxy has given up the branch itself, so the
seat refuses it (480) rather than keep the call in memory."""


class CallGone(Exception):
    """The caller hung up (or the line stopped): unwind to the record-keeping."""


class AgentAction(enum.Enum):
    """What the agent may ask of a call they have taken; served by the call's script."""

    TRANSFER = "transfer"
    HOLD = "hold"
    RESUME = "resume"


@dataclass
class _Request:
    """One agent action waiting for the call's script; `done` is set with `ok` filled in."""

    action: AgentAction
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False

    def finish(self, ok: bool) -> None:
        self.ok = ok
        self.done.set()


_AGENT_STEPS = frozenset({CallStep.GREETING, CallStep.CONVERSATION, CallStep.HOLD})
"""Steps in which the agent who took the call may transfer it or put it on hold."""


class CallSession:
    """One call's walk through the script: a generator run by the flow's `Dispatcher`.

    Every wait of the script is a yielded `Wait` (resumed when an event for this call
    arrives or its deadline passes); every call into the line that blocks is a yielded
    `Blocking`. The signals below come from the line's event thread and the UI: they change
    the session's state under its lock and wake the script.
    """

    def __init__(self, flow: CallFlow, call: Call, mode: Mode, overflow: bool = False) -> None:
        self.flow = flow
        self.call = call
        self.mode = mode
        self.overflow = overflow
        self.rang_at = flow.clock.now() - timedelta(seconds=max(0.0, call.ring_elapsed()))
        """The line's ring start on the flow's clock: the record's ring moment, so that its
        seconds to answer are the line's own figure, not a few ms short of it."""
        """A waiting call beyond `max_waiting`: it goes the forward way whatever the policy."""
        self.step = CallStep.RINGING
        self.steps: list[Step[CallStep, StepEvent]] = []
        """Every move the session made (`FLOW_TABLE` rows), for the log and the tests."""
        self.answered_by: str | None = None
        self.end_reason: str = ""
        self.survey: Survey | None = None
        """The call's survey once it started (the domain's state machine)."""
        self._lock = threading.Lock()
        self._ended = False
        self._digits: deque[str] = deque()
        self._played = 0
        """Prompts this session queued on the call."""
        self._playbacks = 0
        """`PlaybackFinished` events seen: all queued prompts are out when it equals `_played`."""
        self._taken_by: str | None = None
        self._lost: AnswerClaim | None = None
        self._told_elsewhere = False
        """Another seat won the answer claim: this seat rings on, nobody here may take it."""
        self._claimed = False
        """This seat holds the answer claim (or it could not be decided): it may answer."""
        self._agent_done = False
        self._hang_up = False
        """The agent hung up: end right after the survey/thanks instead of waiting."""
        self._requests: deque[_Request] = deque()
        self._recordings: tuple[Recording, ...] = ()
        """Open recordings fed by the call's audio tap (the call, a message)."""
        self.recording_path: str | None = None
        self._prompt_until = 0.0
        """Monotonic time by which a survey prompt counts as played out in any case."""
        self._rang_for: float | None = None
        """Seconds the call rang until it ended unanswered (the rings of an abandoned call)."""
        self._task: Task | None = None
        self._done = threading.Event()
        """Set once the call is recorded as ended and forgotten by the flow."""

    # ------------------------------------------------------------ signals (any thread)

    def _wake(self) -> None:
        task = self._task
        if task is not None:
            task.wake()

    def ended(self, reason: str) -> None:
        with self._lock:
            if not self._ended:
                self._ended = True
                self.end_reason = self.end_reason or reason
                if self.answered_by is None:
                    self._rang_for = self.call.ring_elapsed()
        self._wake()

    def digit(self, digit: str) -> None:
        with self._lock:
            self._digits.append(digit)
        self._wake()

    def playback_finished(self) -> None:
        """The line played out (or stopped) a prompt of this call."""
        with self._lock:
            self._playbacks += 1
        self._wake()

    def take(self, agent_id: str) -> bool:
        """The agent takes the call; False when it is not to be had (ended, taken, past the
        steps an agent may take it in, or another seat of the hotline holds it).

        A call this seat has not claimed yet is claimed first, on the caller's thread (the
        UI's), for at most `claim_timeout`: the agent who lost learns it here, before the
        seat shows them on a call (ring-all, issue 13).
        """
        with self._lock:
            if self._ended or self._taken_by is not None or self._lost is not None:
                return False
            if self.step not in (CallStep.RINGING, CallStep.HOLD, CallStep.WAITING,
                                 CallStep.GREETING):
                return False
            claim_first = (self.flow.claims is not None and not self._claimed
                           and not self.flow.dispatcher.on_thread())
            if not claim_first:
                self._taken_by = agent_id
        if claim_first:
            claim = self._claim_now(agent_id)
            with self._lock:
                if not claim.won:
                    self._lost = self._lost or claim
                taken = claim.won and not self._ended and self._taken_by is None \
                    and self._lost is None
                if taken:
                    self._claimed = True
                    self._taken_by = agent_id
            if not claim.won:
                # Told here, on the agent's thread: the winner's answer makes the PBX cancel
                # this branch within milliseconds, and a script woken after that ends
                # without a word, so the agent who lost saw only "too late".
                self._taken_elsewhere(claim)
            self._wake()
            return taken
        self._wake()
        return True

    def _claim_now(self, agent_id: str) -> AnswerClaim:
        """Claim for the agent who pressed answer, waiting on this (the UI's) thread."""
        claims = self.flow.claims
        assert claims is not None
        settled = threading.Event()
        bound = self.flow.settings.claim_timeout
        # Pressed early: wait as long as the ring limit leaves (the seat's own claim at the
        # limit still has its bound), at most `_PRESS_CLAIM_SECONDS`.
        left = self.flow.ring_limit.remaining(max(0.0, self.call.ring_elapsed()))
        timeout = max(bound, min(_PRESS_CLAIM_SECONDS, left - bound - _CLAIM_MARGIN))
        ticket = claims.claim(self.cid, self.call.from_tag, agent_id, settled.set)
        settled.wait(timeout)
        return self._settled(ticket.result, agent_id, timeout)

    def _settled(self, result: AnswerClaim | None, agent_id: str | None,
                 timeout: float) -> AnswerClaim:
        """The claim's outcome; one the record did not settle in time counts as won (duty
        rules §1), logged and alarmed."""
        claim = result or AnswerClaim.undecided(
            agent_id, f"no answer from the record within {timeout * 1000:.0f} ms")
        if not claim.decided:
            log.error("call %s: answered without the seats' agreement (%s)", self.cid,
                      claim.problem)
            with self.flow.record("alarm", self.cid) as records:
                records.alarm("claim_undecided", f"call {self.cid}: answered without the "
                              f"seats' agreement: {claim.problem}", self.flow.clock.now())
        return claim

    def agent_done(self) -> None:
        with self._lock:
            self._agent_done = True
        self._wake()

    def request(self, action: AgentAction, timeout: float) -> bool:
        """Queue an agent action for the call's script and wait (on the caller's thread, the
        UI's) for its result.

        False when the call is not the agent's (not taken, ended, past the conversation)
        or the script did not serve it within `timeout`.
        """
        if self.flow.dispatcher.on_thread():  # a subscriber of the bus: it would wait for itself
            log.error("call %s: %s asked from the call-flow dispatcher (an event subscriber); "
                      "refused", self.cid, action.value)
            return False
        req = _Request(action)
        with self._lock:
            if self._ended or self._taken_by is None or self._agent_done:
                return False
            if self.step not in _AGENT_STEPS and self.step is not CallStep.RINGING:
                return False
            self._requests.append(req)
        self._wake()
        if not req.done.wait(timeout):
            log.warning("call %s: %s not served within %.0f s", self.cid, action.value, timeout)
            return False
        return req.ok

    def hang_up(self) -> bool:
        """The agent ends the call: the survey first when configured, then our BYE."""
        with self._lock:
            if self._ended or self._taken_by is None:
                return False
            self._hang_up = True
            self._agent_done = True
        self._wake()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the call is recorded as ended; False on timeout."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def taken_by(self) -> str | None:
        """The agent who took the call, if one has."""
        return self._taken_by

    @property
    def holds_seat(self) -> bool:
        """True while this call occupies the (single) seat."""
        return self.mode is Mode.STAFFED and self.step not in (CallStep.DONE,)

    # ------------------------------------------------------------ helpers

    @property
    def cid(self) -> str:
        return self.call.call_id

    def _emit(self, event: FlowEvent) -> None:
        self.flow.bus.publish(event)

    def _go(self, event: StepEvent) -> None:
        """Move on by `event`, as `FLOW_TABLE` says; a move it lacks is a bug in the flow:
        logged (and flagged for the tests), and the call still goes on."""
        now = self.flow.clock.now()
        with self._lock:
            source = self.step
            if FLOW_TABLE.allows(source, event):
                step = FLOW_TABLE.next(source, event)
            else:
                step = TARGETS[event]
                log.error(
                    "call %s: %s in %s is not in the flow's table (moving to %s anyway)",
                    self.cid, event.name, source.name, step.name,
                    extra={"flow_table_violation": (source, event)},
                )
            self.step = step
            self.steps.append(Step(self.flow.clock.monotonic(), source, event, step))
        if step is CallStep.DONE:
            return
        with self.flow.record("call_step", self.cid) as records:
            records.call_step(self.cid, step, now)
        self._emit(StepChanged(now, self.cid, step))

    def _wait(self, predicate: Callable[[], bool], timeout: float | None) -> Steps[bool]:
        """Wait until `predicate` or the timeout (None: no limit); CallGone if the call ended."""
        yield Wait(lambda: self._ended or predicate(),
                   None if timeout is None else max(0.0, timeout))
        if self._ended and not predicate():
            raise CallGone
        return predicate()

    def _gone_check(self) -> None:
        if self._ended:
            raise CallGone

    def _played_out(self) -> bool:
        return self._playbacks >= self._played

    def _play(self, name: PromptName, prompt: Prompt) -> Steps[None]:
        yield from self._start_play(prompt)
        yield Wait(lambda: self._ended or self._played_out(), prompt.seconds + 5.0)
        done = self._played_out() and not self._ended
        self._emit(PromptPlayed(self.flow.clock.now(), self.cid, name, done))
        self._gone_check()

    def _start_play(self, prompt: Prompt) -> Steps[None]:
        """Queue `prompt` (returns at once); CallGone if the caller is gone."""
        self._gone_check()
        try:
            self.call.play(prompt)
        except CallStateError as exc:
            # The caller's BYE crossed the prompt: the line ended the call before its
            # "ended" event (which carries the reason) reached this session. Wait for it
            # briefly, so the record says the caller hung up rather than "error".
            yield Wait(lambda: self._ended, _ENDED_GRACE)
            if self._ended:
                raise CallGone from exc
            raise
        with self._lock:
            self._played += 1

    def _claim(self, agent_id: str | None) -> Steps[None]:
        """Win the answer claim on the caller's call before answering it (ring-all, issue
        13): of the seats the PBX rang, only the one that holds the claim answers. A seat
        that lost rings on until the PBX cancels it (CallGone); a claim the record did not
        settle within `claim_timeout` counts as won (duty rules §1), logged and alarmed."""
        claims = self.flow.claims
        if claims is None or self._claimed:
            return
        if self._lost is None:
            timeout = self.flow.settings.claim_timeout
            ticket = claims.claim(self.cid, self.call.from_tag, agent_id, self._wake)
            yield Wait(lambda: ticket.result is not None or self._ended
                       or self._claimed or self._lost is not None, timeout)
            self._gone_check()
            if self._claimed:  # the agent's own claim (on the UI's thread) was settled first
                return
            if self._lost is None:
                won = self._settled(ticket.result, agent_id, timeout)
                with self._lock:
                    if won.won:
                        self._claimed = True
                        return
                    self._lost = won
        with self._lock:
            claim = self._lost
            self._taken_by = None
        assert claim is not None
        self._taken_elsewhere(claim)
        yield from self._ring_on()

    def _taken_elsewhere(self, claim: AnswerClaim) -> None:
        """Say once (in the record and to the seat) which seat and agent hold the call."""
        with self._lock:
            if self._told_elsewhere:
                return
            self._told_elsewhere = True
        log.info("call %s: taken at another seat (%s); ringing on until the PBX cancels",
                 self.cid, claim.holder())
        self._agent_action(reasons.TAKEN_ELSEWHERE(holder=claim.holder()))
        self._emit(AnsweredElsewhere(self.flow.clock.now(), self.cid, claim.seat,
                                     claim.agent_id, claim.holder()))

    def _ring_on(self) -> Steps[None]:
        """Another seat answers: ring until the PBX cancels this branch (its leg ends as
        taken elsewhere), or refuse it once the PBX has long given it up."""
        yield Wait(lambda: self._ended, _LOST_RING_SECONDS)
        self._gone_check()
        log.warning("call %s: no CANCEL %.0f s after another seat took the call; refusing",
                    self.cid, _LOST_RING_SECONDS)
        try:
            yield Blocking(lambda: self.call.refuse(480, "Temporarily Unavailable"))
        except SipError as exc:
            log.debug("call %s: refusing after a lost claim: %s", self.cid, exc)
        yield Wait(lambda: self._ended, _ENDED_GRACE)
        raise CallGone

    def _answer(self, by: str) -> None:
        try:
            self.call.answer()
        except CallStateError as exc:  # CANCEL crossed our answer (the line says whose)
            self.ended((exc.ended_by or EndReason.CANCELLED).value)
            raise CallGone from exc
        elapsed = self.call.ring_elapsed()
        # The console's own answer in a staffed call is the one at the ring limit.
        at_limit = by == "auto" and self.mode is Mode.STAFFED
        rings = self.flow.ring_limit.ring_count(max(0.0, elapsed), at_limit=at_limit)
        self.answered_by = by
        now = self.rang_at + timedelta(seconds=max(0.0, elapsed))
        with self.flow.record("call_answered", self.cid) as records:
            records.call_answered(self.cid, now, by, rings, elapsed)
        self._emit(CallAnswered(now, self.cid, by, rings, elapsed))
        if self.flow.settings.record_calls:
            rec = self._record_audio("call", 2)
            if rec is not None:
                self.recording_path = path = str(rec.path)
                with self.flow.record("recording", self.cid) as records:
                    records.recording(self.cid, path, "")

    def _follow_up(self, reason: str) -> None:
        """Open a follow-up owned (首问负责) by the agent who served the caller, else by the
        configured default owner; the record keeps it as text and as a follow-up row."""
        now = self.flow.clock.now()
        settings = self.flow.settings
        owner = self._taken_by or settings.follow_up_owner or None
        due = now + timedelta(hours=settings.follow_up_hours)
        with self.flow.record("follow_up", self.cid) as records:
            records.follow_up(self.cid, reason, now, owner, due)
        self._emit(FollowUpOpened(now, self.cid, reason, owner, due))

    # ------------------------------------------------------------ recording

    def _record_audio(self, kind: str, channels: int) -> Recording | None:
        """Start a recording fed by the call's audio tap; None (alarm raised) if impossible."""
        recorder = self.flow.recorder
        if recorder is None:
            return None
        now = self.flow.clock.now()
        try:
            path = recorder.file_for(now, self.call.caller_number, self.cid, kind)
            rec = recorder.open(path, channels, self.cid)
        except RecordingError as exc:
            self.flow._recording_alarm(self.cid, f"{kind} not recorded: {exc}")
            return None
        self._recordings = (*self._recordings, rec)
        if len(self._recordings) == 1:
            try:
                self.call.tap_audio(self._on_audio)
            except Exception as exc:  # e.g. a call that ended meanwhile
                self._stop_recording(rec)
                self.flow._recording_alarm(self.cid, f"{kind} not recorded: {exc}")
                return None
        return rec

    def _on_audio(self, direction: AudioDirection, pcm: bytes) -> None:
        for rec in self._recordings:
            rec.tap(direction, pcm)

    def _stop_recording(self, rec: Recording) -> None:
        self._recordings = tuple(r for r in self._recordings if r is not rec)
        rec.close()

    # ------------------------------------------------------------ the script

    def script(self) -> Steps[None]:
        """The whole call, for the dispatcher; ends with the record written."""
        try:
            if self.mode is Mode.NIGHT:
                yield from self._night()
            elif self.mode is Mode.WAITING:
                yield from self._waiting()
            else:
                yield from self._staffed()
        except CallGone:
            pass
        except SipError as exc:
            log.warning("call %s: %s: %s", self.cid, exc.title, exc)
            self.end_reason = self.end_reason or f"error: {exc}"
            yield from self._hang_up_quietly()
        except Exception:
            log.exception("call %s: the flow failed at %s", self.cid, self.step.value)
            self.end_reason = self.end_reason or "error"
            yield from self._hang_up_quietly()
        self._finish()

    def _hang_up_quietly(self) -> Steps[None]:
        """After a failure of the script: the caller must not be left on a dead line."""
        if self._ended:
            return
        try:
            yield Blocking(self.call.hangup)
        except Exception:
            log.debug("call %s: hang-up after a failure", self.cid, exc_info=True)

    def crashed(self, exc: BaseException) -> None:
        """The dispatcher's watchdog: the script itself raised (a bug past its own handlers).
        Hang up off the dispatcher, record the end, forget the call."""
        self.end_reason = self.end_reason or "error"
        if not self._ended:
            self.flow.dispatcher.post_blocking(self.call.hangup, f"hang up {self.cid}")
        if not self._done.is_set():
            try:
                self._finish()
            except Exception:
                log.debug("call %s: finishing after a crash", self.cid, exc_info=True)
                self.flow._forget(self)
                self._done.set()

    def _staffed(self) -> Steps[None]:
        settings = self.flow.settings
        remaining = self.flow.ring_limit.remaining(max(0.0, self.call.ring_elapsed()))
        self._emit(SeatRinging(self.flow.clock.now(), self.cid, remaining))
        # Ring-all: the claim goes out before the ring limit, so that the seat that wins it
        # still answers at the limit; an agent pressing answer claims at once.
        lead = (min(remaining, settings.claim_timeout + _CLAIM_MARGIN)
                if self.flow.claims is not None else 0.0)
        taken = yield from self._wait(
            lambda: self._taken_by is not None or self._lost is not None, remaining - lead)
        yield from self._claim(self._taken_by)
        if not taken:  # won: answer at the limit (an agent who presses meanwhile takes it)
            rest = self.flow.ring_limit.remaining(max(0.0, self.call.ring_elapsed()))
            taken = yield from self._wait(lambda: self._taken_by is not None, rest)
        if taken:
            agent = self._taken_by or ""
            self._answer(agent)
            self._go(StepEvent.ANSWER)
            if settings.agent_greeting_by_tts:
                yield from self._play(PromptName.GREETING, self.flow.prompts.greeting_for(agent))
            yield from self._conversation()
            return
        self._answer("auto")
        self._go(StepEvent.ANSWER)
        yield from self._play(PromptName.GREETING,
                              self.flow.prompts.greeting_for(settings.agent_id_when_auto))
        self._go(StepEvent.HOLD)
        yield from self._play(PromptName.HOLD, self.flow.prompts.get(PromptName.HOLD))
        if (yield from self._wait(lambda: self._taken_by is not None,
                                  settings.handover_timeout)):
            self._handover()
            yield from self._conversation()
        else:
            yield from self._message()

    def _handover(self) -> None:
        agent = self._taken_by or ""
        now = self.flow.clock.now()
        with self.flow.record("handed_over", self.cid) as records:
            records.handed_over(self.cid, agent, now)
        self._emit(HandedOver(now, self.cid, agent))

    def _conversation(self) -> Steps[None]:
        """Talk until the agent is done; serve transfer / hold / resume in the script."""
        self._go(StepEvent.TALK)
        held = False
        hold = self.flow.prompts.get(PromptName.HOLD)
        while True:
            yield from self._wait(lambda: self._agent_done or bool(self._requests),
                                  hold.seconds + 0.5 if held else None)
            with self._lock:
                req = self._requests.popleft() if self._requests else None
                done = self._agent_done
            if req is None:
                if done:
                    break
                if held:  # the hold prompt ran out: play it again
                    yield from self._start_play(hold)
                continue
            try:
                held = yield from self._serve(req, held, hold)
            finally:
                req.done.set()  # a CallGone (transfer done, caller gone) still answers it
        if held:
            self._stop_playback()
        yield from self._survey()

    def _serve(self, req: _Request, held: bool, hold: Prompt) -> Steps[bool]:
        """Carry out one agent action; returns whether the caller is on hold afterwards."""
        agent = self._taken_by or ""
        if req.action is AgentAction.HOLD:
            if not held:
                yield from self._start_play(hold)
                self._go(StepEvent.HOLD)
                self._agent_action(reasons.PUT_ON_HOLD(agent=agent))
            req.ok = True
            return True
        if req.action is AgentAction.RESUME:
            if held:
                self._stop_playback()
                self._go(StepEvent.TALK)
                self._agent_action(reasons.TAKEN_BACK(agent=agent))
            req.ok = held
            return False
        if held:
            self._stop_playback()
        yield from self._transfer(agent, req)
        return False

    def _transfer(self, agent: str, req: _Request) -> Steps[None]:
        """Blind transfer to the configured gate post; on failure the agent keeps the call."""
        targets = self.flow.settings.gate_chain
        if not targets:
            self._agent_action(reasons.NO_GATE_POST(agent=agent))
            return
        target = targets[0].uri  # fixed by config; nothing the caller sent chooses it
        self._go(StepEvent.FORWARD)
        outcome: TransferOutcome | None = None
        timeout = self.flow.settings.transfer_timeout
        try:
            outcome = yield Blocking(lambda: self.call.transfer(target, timeout=timeout))
            result = outcome.value if outcome is not None else "error"
        except SipError as exc:
            result = f"error: {exc}"[:64]
        self._attempt(target, "refer", result, 1)
        self._agent_action(reasons.TRANSFERRED(agent=agent, result=result))
        if outcome is TransferOutcome.SUCCESS:
            req.ok = True
            self.end_reason = EndReason.TRANSFERRED.value
            with self._lock:
                self._ended = True
            raise CallGone
        self._gone_check()
        self._go(StepEvent.TALK)

    def _stop_playback(self) -> None:
        try:
            self.call.stop_playback()
        except SipError as exc:
            log.debug("call %s: stop playback: %s", self.cid, exc)

    def _agent_action(self, text: str) -> None:
        with self.flow.record("agent_action", self.cid) as records:
            records.agent_action(self.cid, text, self.flow.clock.now())

    def _waiting(self) -> Steps[None]:
        settings = self.flow.settings
        if (settings.busy_policy == "forward" or self.overflow) and settings.gate_chain:
            yield from self._forward_chain()
            return
        claims = self.flow.claims
        if claims is not None and claims.shared:
            # A team: this seat is busy, another may be free. Ring like the free seats do
            # and claim only just after them (they claim `_CLAIM_MARGIN` earlier), so that
            # a free seat's agent, or its answer at the ring limit, takes the call first.
            limit = self.flow.ring_limit.remaining(max(0.0, self.call.ring_elapsed()))
            yield from self._wait(lambda: False, limit - settings.claim_timeout)
        yield from self._claim(None)
        self._answer("auto")
        self._go(StepEvent.WAIT)
        yield from self._play(PromptName.BUSY, self.flow.prompts.get(PromptName.BUSY))
        if (yield from self._wait(lambda: self._taken_by is not None, settings.busy_wait)):
            self._handover()
            yield from self._conversation()
        else:
            yield from self._message()

    def _night(self) -> Steps[None]:
        self._go(StepEvent.AFTER_HOURS)
        yield from self._forward_chain()

    def _forward_chain(self) -> Steps[None]:
        """Try each configured gate-post target in order, each attempt recorded; no loop."""
        settings = self.flow.settings
        attempt = 0
        if self.flow.gate_reachable is False:
            self._attempt(settings.gate_chain[0].uri if settings.gate_chain else "-",
                          "none", "skipped: gate post failed its last OPTIONS probe", 0)
        else:
            for target in settings.gate_chain:
                for _ in range(target.attempts):
                    attempt += 1
                    if target.method == "redirect":
                        if self.answered_by is not None:
                            self._attempt(target.uri, "redirect",
                                          "skipped: already answered", attempt)
                            break
                        self._go(StepEvent.FORWARD)
                        self.call.redirect(target.uri)
                        self._attempt(target.uri, "redirect", "redirected", attempt)
                        self.end_reason = EndReason.REDIRECTED.value
                        raise CallGone
                    if self.answered_by is None:
                        yield from self._claim(None)
                        self._answer("auto")
                        yield from self._play(PromptName.AFTER_HOURS,
                                              self.flow.prompts.get(PromptName.AFTER_HOURS))
                    self._go(StepEvent.FORWARD)
                    outcome = yield Blocking(functools.partial(
                        self.call.transfer, target.uri, timeout=settings.transfer_timeout))
                    self._attempt(target.uri, "refer", outcome.value, attempt)
                    if outcome is TransferOutcome.SUCCESS:
                        self.end_reason = EndReason.TRANSFERRED.value
                        raise CallGone
                    self._gone_check()
        self._go(StepEvent.FALL_BACK)
        if self.answered_by is None:
            yield from self._claim(None)
            self._answer("auto")
        yield from self._message()

    def _attempt(self, target: str, method: str, outcome: str, attempt: int) -> None:
        now = self.flow.clock.now()
        with self.flow.record("forward_attempt", self.cid) as records:
            records.forward_attempt(self.cid, target, method, outcome, now)
        self._emit(ForwardAttempted(now, self.cid, target, method, outcome, attempt))

    def _message(self) -> Steps[None]:
        """Nobody can take the call: a message (if configured), a follow-up, the survey."""
        settings = self.flow.settings
        caller = self.call.caller_number or reasons.UNKNOWN_CALLER[0]
        if not settings.take_message:
            self._follow_up(reasons.CALL_BACK_NO_MESSAGE(caller=caller))
            yield from self._survey()
            return
        self._go(StepEvent.TAKE_MESSAGE)
        yield from self._play(PromptName.FALLBACK, self.flow.prompts.get(PromptName.FALLBACK))
        message = self._record_audio("message", 1)
        start = self.flow.clock.monotonic()
        try:
            yield from self._wait(lambda: False, settings.message_seconds)
        except CallGone:
            pass
        seconds = self.flow.clock.monotonic() - start
        if message is not None:
            self._stop_recording(message)
        path = str(message.path) if message is not None else None
        with self.flow.record("message_taken", self.cid) as records:
            records.message_taken(self.cid, seconds, path)
        self._emit(MessageTaken(self.flow.clock.now(), self.cid, seconds))
        self._follow_up(reasons.CALL_BACK_MESSAGE(caller=caller))
        self._gone_check()
        yield from self._survey()

    def _survey(self) -> Steps[None]:
        """The survey as the domain's `Survey` decides, then thanks and the wait for hang-up."""
        settings = self.flow.settings
        if settings.survey:
            self._go(StepEvent.SURVEY)
            with self._lock:
                self._digits.clear()  # keys pressed during the conversation do not rate
            survey = self.survey = Survey(settings.digit_timeout, keys=settings.survey_keys)
            actions = survey.start(self.flow.clock.monotonic())
            try:
                while True:
                    yield from self._carry_out(survey, actions)
                    if survey.finished:
                        break
                    actions = yield from self._survey_input(survey)
            except CallGone:
                yield from self._carry_out(survey, survey.hang_up(self.flow.clock.monotonic()))
                raise
        self._go(StepEvent.THANK)
        yield from self._play(PromptName.THANKS, self.flow.prompts.get(PromptName.THANKS))
        yield from self._wait_hangup()

    def _survey_input(self, survey: Survey) -> Steps[tuple[SurveyAction, ...]]:
        """Wait for what the survey waits for; feed it every key, the prompt's end or the
        clock (`tick`); return what it asks the flow to do."""
        clock = self.flow.clock
        if survey.prompting:
            # A key barges in; the line's PlaybackFinished (or the prompt's own length and
            # a margin, should it never come) ends the prompt.
            yield from self._wait(lambda: bool(self._digits) or self._played_out(),
                                  self._prompt_until - clock.monotonic())
            done = self._played_out()
            if done or clock.monotonic() >= self._prompt_until:
                self._emit(PromptPlayed(clock.now(), self.cid, survey.prompt, done))
                return survey.prompt_finished(clock.monotonic()) + self._feed_keys(survey)
            return self._feed_keys(survey)
        deadline = survey.deadline if survey.deadline is not None else clock.monotonic()
        yield from self._wait(lambda: bool(self._digits), deadline - clock.monotonic())
        return self._feed_keys(survey) or survey.tick(clock.monotonic())

    def _feed_keys(self, survey: Survey) -> tuple[SurveyAction, ...]:
        """Every key the caller pressed since the last look, in order, to the survey."""
        with self._lock:
            keys = list(self._digits)
            self._digits.clear()
        actions: tuple[SurveyAction, ...] = ()
        for key in keys:
            actions += survey.digit(key, self.flow.clock.monotonic())
        if survey.invalid_digits and keys:
            log.debug("call %s: survey keys %s (not rating: %s)",
                      self.cid, keys, survey.invalid_digits)
        return actions

    def _carry_out(self, survey: Survey, actions: tuple[SurveyAction, ...]) -> Steps[None]:
        """Do what the survey decided, in its order. Recording the score (and the alert)
        touches only the record and the bus, so it is done for a caller who hung up too."""
        for action in actions:
            if action is SurveyAction.PLAY_PROMPT:
                prompt = self.flow.prompts.get(survey.prompt)
                yield from self._start_play(prompt)
                self._prompt_until = self.flow.clock.monotonic() + prompt.seconds + 5.0
            elif action is SurveyAction.STOP_PLAYBACK:
                if not survey.hung_up:
                    self._stop_playback()
            elif action is SurveyAction.RECORD_SCORE:
                score = survey.score.score if survey.score is not None else None
                with self.flow.record("satisfaction", self.cid) as records:
                    records.satisfaction(self.cid, score)
                self._emit(SurveyScored(self.flow.clock.now(), self.cid, score))
            elif action is SurveyAction.ALERT_SUPERVISOR:
                now = self.flow.clock.now()
                reason = reasons.DISSATISFIED(key=survey.rated_key)
                self._emit(SupervisorAlert(now, self.cid, reason))
                with self.flow.record("alarm", self.cid) as records:
                    records.alarm("dissatisfied", f"call {self.cid}", now)
            elif action is SurveyAction.OPEN_FOLLOW_UP:
                self._follow_up(reasons.DISSATISFIED_CALL_BACK())
            elif action is SurveyAction.PLAY_THANKS:
                pass  # the thanks follow every survey's end (and a call without survey)

    def _wait_hangup(self) -> Steps[None]:
        """The caller hangs up first (duty rules §3.8); we end it after a timeout (or at once
        when the agent hung up)."""
        self._go(StepEvent.AWAIT_HANGUP)
        # Raises when they hang up; the agent's hang-up or the grace period ends it from here.
        yield from self._wait(lambda: self._hang_up, self.flow.settings.hangup_timeout)
        self.end_reason = EndReason.LOCAL_HANGUP.value
        yield Blocking(self.call.hangup)  # our BYE waits for its answer: not here

    def _finish(self) -> None:
        with self._lock:
            ended = self._ended
            pending = list(self._requests)
            self._requests.clear()
        for req in pending:
            req.finish(False)
        if self._recordings:
            try:
                self.call.tap_audio(None)
            except Exception:
                log.debug("call %s: untap", self.cid, exc_info=True)
            for rec in self._recordings:
                self._stop_recording(rec)
        reason = self.end_reason or ("caller_hangup" if ended else "unknown")
        end = CallEnd.parse(reason)
        kept = end.for_call(answered=self.answered_by is not None)
        if kept is not end:  # a CANCEL nobody answered is an abandoned call
            reason = kept.value
        step = self.step
        now = self.flow.clock.now()
        if self.answered_by is None:  # abandoned, redirected, ...: it rang all the same
            seconds = self._rang_for if self._rang_for is not None else self.call.ring_elapsed()
            seconds = max(0.0, seconds)
            rings = self.flow.ring_limit.ring_count(seconds)
            with self.flow.record("call_rang_out", self.cid) as records:
                records.call_rang_out(self.cid, rings, seconds)
        with self.flow.record("call_ended", self.cid) as records:
            records.call_ended(self.cid, now, step, reason)
        self._emit(CallFinished(now, self.cid, step, reason, self.answered_by))
        self._go(StepEvent.END)
        self.flow._forget(self)
        self._task = None
        self._done.set()


class CallFlow:
    """Routes line events to call sessions; the UI calls `take_call`, `finish_call`, `hold`,
    `resume`, `transfer_to_gate_post` and `hang_up`."""

    def __init__(
        self,
        records: CallRecords,
        staffing: Staffing,
        prompts: Prompts,
        settings: FlowSettings,
        clock: Clock | None = None,
        line: Line | None = None,
        bus: EventBus | None = None,
        recorder: Recorder | None = None,
        claims: AnswerClaims | None = None,
    ) -> None:
        settings.validate()
        if recorder is None and settings.recording_dir:
            recorder = Recorder(Path(settings.recording_dir), on_error=self._recording_failed)
        self.recorder = recorder
        """Writes call and message recordings (None: `recording_dir` is not set)."""
        self.records = records
        self.staffing = staffing
        self.prompts = prompts
        self.settings = settings
        self.ring_limit = settings.ring_limit
        """The ring limit the flow answers and counts rings by (the domain's `RingLimit`)."""
        self.clock: Clock = clock or SystemClock()
        self.line = line
        self.claims = claims
        """The hotline's answer claims (ring-all); None: this seat is the line's only one."""
        self.bus = bus or EventBus()
        self.gate_reachable: bool | None = None
        """Result of the last OPTIONS probe of the first gate-post target (None: not yet)."""
        self.dispatcher = Dispatcher()
        """Runs every call's script on one thread (and blocking line calls on its pool)."""
        self.heap_trim = HeapTrim()
        """Returns the heap's free pages to the system as calls end (flat RSS for months)."""
        self._lock = threading.Lock()
        self._sessions: dict[str, CallSession] = {}
        self._stop = threading.Event()
        self._watch: Task | None = None
        self._was_staffed: bool | None = None
        self._outgoing = 0
        """Callbacks (回访) up at this seat: while one is, the agent is busy."""

    def outgoing_started(self) -> None:
        """A callback holds the seat (`console.callflow.callback.SeatUse`): a call that
        arrives meanwhile waits, as one arriving during another call does."""
        with self._lock:
            self._outgoing += 1

    def outgoing_ended(self) -> None:
        with self._lock:
            self._outgoing = max(0, self._outgoing - 1)

    # ------------------------------------------------------------ line side

    def on_line_event(self, event: LineEvent) -> None:
        """The `EventSink` given to the line; runs on a line thread, returns quickly."""
        if isinstance(event, CallRinging):
            self._ringing(event.call)
        elif isinstance(event, DtmfReceived):
            session = self._session(event.call.call_id)
            if session is not None:
                session.digit(event.digit)
        elif isinstance(event, PlaybackFinished):
            session = self._session(event.call.call_id)
            if session is not None:
                session.playback_finished()
        elif isinstance(event, CallEnded):
            session = self._session(event.call.call_id)
            if session is not None:
                session.ended(event.reason.value)
        elif isinstance(event, RequestRefused) and (
            event.malformed or not event.trusted_source
        ):
            # A scanner sweeping the line is no caller: it must not lower the answer rate
            # (接通率) as a missed call (issue 10, point 8). The line reports one per source
            # and 5 s with how many requests that stands for; the security log keeps them.
            kind = security_kind(event.method, malformed=event.malformed)
            log.warning("%s from %s: %d request(s) (%s)", kind.value, event.source,
                        event.count, event.reason)
            with self.record("security_event", event.call_id) as records:
                records.security_event(kind, event.source, event.method, event.count,
                                       event.reason, self.clock.now())
        elif isinstance(event, RequestRefused) and event.method == "INVITE":
            now = self.clock.now()
            reason = f"{event.code} {event.reason}"
            with self.record("call_refused", event.call_id) as records:
                records.call_refused(event.call_id, event.caller_number, now, reason)
            self.bus.publish(CallRefused(now, event.call_id, event.caller_number, reason))

    def _ringing(self, call: Call) -> None:
        now = self.clock.now()
        with self._lock:
            if call.call_id in self._sessions:
                return  # a duplicate event: the call is already handled
            overflow = False
            if not self._staffed(now):
                mode = Mode.NIGHT
            elif self._outgoing or any(s.holds_seat for s in self._sessions.values()):
                mode = Mode.WAITING
                waiting = sum(
                    1 for s in self._sessions.values()
                    if s.mode is Mode.WAITING and not s.overflow and s.step is not CallStep.DONE
                )
                overflow = waiting >= self.settings.max_waiting
            else:
                mode = Mode.STAFFED
            session = CallSession(self, call, mode, overflow)
            self._sessions[call.call_id] = session
        with self.record("call_rang", call.call_id) as records:
            records.call_rang(call.call_id, call.caller_number, session.rang_at, mode)
        self.bus.publish(CallArrived(now, call.call_id, call.caller_number, mode))
        task = self.dispatcher.task(f"call-{call.call_id[:12]}", session.script(),
                                    session.crashed)
        session._task = task
        task.start()

    def _staffed(self, now: object) -> bool:
        try:
            return bool(self.staffing.is_staffed(now))  # type: ignore[arg-type]
        except Exception:
            log.exception("the schedule failed; treating the line as staffed (agents ring)")
            return True

    def _session(self, call_id: str) -> CallSession | None:
        with self._lock:
            return self._sessions.get(call_id)

    def _forget(self, session: CallSession) -> None:
        with self._lock:
            if self._sessions.get(session.cid) is not session:
                return
            del self._sessions[session.cid]
            active = len(self._sessions)
        self.heap_trim.call_ended(active)

    def _recording_alarm(self, call_id: str, detail: str) -> None:
        """A recording could not start or stopped: alarm, note in the call; the call goes on."""
        now = self.clock.now()
        log.error("call %s: %s", call_id, detail)
        with self.record("recording", call_id) as records:
            records.recording(call_id, None, detail)
        with self.record("alarm", call_id) as records:
            records.alarm("recording_failed", f"call {call_id}: {detail}", now)
        self.bus.publish(RecordingAlarm(now, call_id, detail))

    def _recording_failed(self, rec: Recording, problem: str) -> None:
        self._recording_alarm(
            rec.call_id, f"recording {rec.path.name} stopped after {rec.seconds:.1f} s: {problem}"
        )

    def repair_recordings(self) -> None:
        """Fix the headers a crash left torn; report (alarm) files that are not ours."""
        if self.recorder is None:
            return
        repaired, unreadable = self.recorder.repair()
        now = self.clock.now()
        if repaired:
            names = ", ".join(p.name for p in repaired)
            with self.record("alarm", "recording_repaired") as records:
                records.alarm("recording_repaired",
                              f"{len(repaired)} recording(s) left open by an unclean stop, "
                              f"header fixed: {names}", now)
        for path in unreadable:
            with self.record("alarm", "recording_unreadable") as records:
                records.alarm("recording_unreadable", f"{path}: not a recording WAV", now)

    @contextlib.contextmanager
    def record(self, what: str, about: str = "") -> Iterator[CallRecords]:
        """`with flow.record("call_step", call_id) as records: records.call_step(...)`:
        write to the duty record through its typed port; a store failure is logged loudly
        (naming `what` and `about`) and never drops a call."""
        try:
            yield self.records
        except Exception:
            log.exception("duty record: %s for %s failed", what, about)

    # ------------------------------------------------------------ UI side

    def take_call(self, call_id: str, agent_id: str) -> bool:
        """An agent answers a ringing call or takes one on hold; False if too late."""
        if not agent_id:
            raise ValueError("agent_id: empty")
        session = self._session(call_id)
        return session.take(agent_id) if session is not None else False

    def finish_call(self, call_id: str) -> bool:
        """The agent is done talking: the console plays the survey and waits for hang-up."""
        session = self._session(call_id)
        if session is None:
            return False
        session.agent_done()
        return True

    def transfer_to_gate_post(self, call_id: str) -> bool:
        """Blind-transfer the agent's call to the gate post; blocks until the outcome.

        True when the gate post took it (the call ends as forwarded); False when it did not
        (the outcome is recorded and the call stays with the agent) or the call is not one
        an agent has taken.
        """
        session = self._session(call_id)
        if session is None:
            return False
        return session.request(AgentAction.TRANSFER, self.settings.transfer_timeout + 10.0)

    def hold(self, call_id: str) -> bool:
        """Put the agent's caller on hold (the hold prompt plays, repeated); recorded."""
        session = self._session(call_id)
        return session.request(AgentAction.HOLD, 10.0) if session is not None else False

    def resume(self, call_id: str) -> bool:
        """Take the caller back from hold; False when the call was not on hold."""
        session = self._session(call_id)
        return session.request(AgentAction.RESUME, 10.0) if session is not None else False

    def hang_up(self, call_id: str) -> bool:
        """The agent ends the call: survey (when configured) and thanks, then our BYE."""
        session = self._session(call_id)
        if session is None or not session.hang_up():
            return False
        with self.record("agent_action", call_id) as records:
            records.agent_action(call_id, reasons.HUNG_UP_BY(agent=session.taken_by),
                                 self.clock.now())
        return True

    def active(self) -> dict[str, CallStep]:
        with self._lock:
            return {cid: s.step for cid, s in self._sessions.items()}

    # ------------------------------------------------------------ gate post

    def probe_gate(self) -> bool | None:
        """OPTIONS to the first gate-post target; a failure is an alarm (duty rules §1)."""
        if self.line is None or not self.settings.gate_chain:
            return None
        target = self.settings.gate_chain[0].uri
        try:
            ok = self.line.probe(target, timeout=self.settings.probe_timeout)
        except SipError as exc:
            log.warning("gate post probe failed: %s", exc)
            ok = False
        self.gate_reachable = ok
        now = self.clock.now()
        self.bus.publish(GatePostChecked(now, target, ok))
        if not ok:
            detail = "no answer to SIP OPTIONS: night forwarding would fail"
            with self.record("alarm", "gate_post_unreachable") as records:
                records.alarm("gate_post_unreachable", f"{target}: {detail}", now)
            self.bus.publish(GatePostAlarm(now, target, detail))
        return ok

    def start(self, tick: float = 5.0) -> None:
        """Probe the gate post now, at each staffed → night boundary, and periodically."""
        if self._watch is not None:
            return
        if self.claims is not None and self.claims.shared:
            self.claims.warm()  # the first call's claim finds its connection open
        self.repair_recordings()
        self._watch = self.dispatcher.task("gate-watch", self._watch_script(tick),
                                           self._watch_failed)
        self._watch.start()

    def _watch_script(self, tick: float) -> Steps[None]:
        """On the dispatcher like the calls (no thread of its own); the OPTIONS probe itself
        waits for its answer, so it runs on the dispatcher's pool."""
        last = -math.inf
        while not self._stop.is_set():
            staffed = self._staffed(self.clock.now())
            boundary = self._was_staffed is True and not staffed
            due = self.clock.monotonic() - last >= self.settings.probe_interval
            self._was_staffed = staffed
            if boundary or due:
                yield Blocking(self.probe_gate)
                last = self.clock.monotonic()
            yield Wait(self._stop.is_set, tick)

    def _watch_failed(self, exc: BaseException) -> None:
        log.error("the gate-post watch stopped (%s): no more OPTIONS probes until a restart",
                  exc)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop probing; end every session (its record is written with the step)."""
        self._stop.set()
        if self._watch is not None:
            self._watch.wake()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.end_reason = session.end_reason or EndReason.SHUTDOWN.value
            session.ended(EndReason.SHUTDOWN.value)
        deadline = time.monotonic() + timeout
        if not self.dispatcher.on_thread():
            for session in sessions:
                session.join(max(0.0, deadline - time.monotonic()))
        self.dispatcher.stop(max(0.0, deadline - time.monotonic()))
        if self.claims is not None:
            self.claims.close()
        if self.recorder is not None:
            self.recorder.stop(timeout)
