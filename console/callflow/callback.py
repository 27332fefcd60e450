"""Placing a callback (回访): the domain's rule, the line's outgoing call, the record's row.

The one outgoing call the hotline allows (duty rules §2), placed from a follow-up by the
agent at a seat. Headless orchestration, no UI: `CallbackDialer.place` asks the domain
(`console.domain.callback.check_callback`) with what the record says of the follow-up and
what the line says of itself, dials the number the domain returned (the follow-up's call's,
never a typed one), writes the callback's own call row (kind `callback`, linked to the
follow-up, chained and sealed like every call), waits for the answer, bridges the agent's
headset while it is up, and seals it with its outcome. The follow-up closes only when the
domain says so (`follow_up_closes`: the callback reached the caller).

The headless line's dialler is built with `attended=False` and refuses every callback (the
domain's first rule); a seat takes one `for_seat()`. Every write goes the call path's way
(the outbox), so a database that goes away while the callback is up loses nothing; one that
is away before it is placed refuses it in one line (the follow-up can't be read).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from console.callflow.ports import Clock, FlowError
from console.callflow.recording import Recorder, Recording, RecordingError
from console.domain.callback import (
    CallbackRefused,
    CallbackRequest,
    callback_outcome,
    check_callback,
    follow_up_closes,
)
from console.domain.outcome import CallOutcome
from sip.api import DialError, Dialler, DialResult, OutgoingCall, SipError

log = logging.getLogger("console.callflow.callback")

DEFAULT_RING_SECONDS = 30.0
"""How long a callback rings before it is cancelled (no answer) unless the seat says."""
FINAL_GRACE_SECONDS = 40.0
"""Beyond the ring time, how long we wait for the line's final answer (its timer B, 32 s)."""


class CallbackError(FlowError):
    """A callback that could not be placed or recorded; the message is one line for the seat."""

    title = "Callback"


class SeatUse(Protocol):
    """What the call flow needs to hear of a callback: it holds the seat, or no longer."""

    def outgoing_started(self) -> None: ...
    def outgoing_ended(self) -> None: ...


class CallbackRecords(Protocol):
    """The slice of `console.store.DutyRecord` a callback uses."""

    def callback_target(self, follow_up_key: str) -> Any: ...
    def is_supervisor(self, agent_id: str) -> bool: ...
    def open_callback(self, line: str, follow_up_key: str, number: str, agent_id: str, *,
                      seat: str | None = None, sip_call_id: str | None = None,
                      at: datetime | None = None) -> str: ...
    def callback_answered(self, key: str, at: datetime) -> None: ...
    def seal_callback(self, key: str, outcome: CallOutcome, *, ended_at: datetime,
                      end_reason: str, action: str, recording: str | None = None,
                      answered_at: datetime | None = None) -> None: ...
    def close_by_callback(self, follow_up_key: str, call_key: str, who: str,
                          number: str) -> None: ...


@dataclass(frozen=True)
class CallbackProgress:
    """Where the seat's callback is, for its status line (posted as it changes)."""

    follow_up_key: str
    number: str
    stage: str
    """`dialling`, `connected` or `ended`."""
    outcome: CallOutcome | None = None
    detail: str = ""


@dataclass(frozen=True)
class CallbackResult:
    """How a callback ended: its record, its outcome, whether the follow-up closed."""

    key: str
    """The callback's call record."""
    follow_up_key: str
    number: str
    outcome: CallOutcome
    detail: str
    """The final SIP answer ("200 OK", "486 Busy Here", "404 Not Found") or what failed."""
    closed: bool
    """The follow-up was closed by it (the callback reached the caller)."""


Bridge = Callable[[OutgoingCall], Callable[[], None] | None]
"""Connects an answered callback to the agent's headset; returns how to disconnect it
(None: no headset, prompts-only seat)."""


@dataclass
class CallbackDialer:
    """Places the seat's callbacks; one at a time. `place` blocks: run it in a worker."""

    records: CallbackRecords
    line: Dialler | None
    clock: Clock
    line_name: str = "hotline"
    seat: str | None = None
    attended: bool = False
    """A seat with an agent at it; the headless line's dialler is False and never dials."""
    ring_seconds: float = DEFAULT_RING_SECONDS
    busy: Callable[[], bool] = lambda: False
    """Whether the seat has a call up already (then no callback)."""
    recorder: Recorder | None = None
    """Records the conversation (stereo WAV, as an incoming call's) when recording is on."""
    on_alarm: Callable[[str, str], None] | None = None
    """Hears a recording that could not be made: (call id, what failed)."""
    seat_use: SeatUse | None = None
    """The line's flow, told while a callback holds the seat: a call arriving then waits
    (duty rules §2: a second call while the agent is busy is not lost)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._current: OutgoingCall | None = None
        self._placing = False

    def for_seat(self, busy: Callable[[], bool] | None = None) -> CallbackDialer:
        """The same dialler for a seat with an agent at it (the TUI)."""
        return replace(self, attended=True, busy=busy or self.busy)

    @property
    def placing(self) -> bool:
        """A callback is being placed or is up (from the check to its seal): the seat is
        busy with it, as the flow hears through `seat_use`."""
        return self._placing

    @property
    def current(self) -> OutgoingCall | None:
        """The callback up now, if any."""
        return self._current

    def check(self, follow_up_key: str, agent_id: str | None) -> str:
        """The number a callback of `follow_up_key` would dial, or `CallbackRefused` saying
        why not; `CallbackError` when the record can't be read (database away)."""
        try:
            target = self.records.callback_target(follow_up_key)
            supervisor = bool(agent_id) and self.records.is_supervisor(str(agent_id))
        except Exception as exc:  # StoreError: database away, unknown follow-up
            if not isinstance(getattr(exc, "title", None), str):
                raise
            raise CallbackError(f"the follow-up can't be read ({exc}): no call placed") from None
        status = self.line.status.value if self.line is not None else "no line"
        request = CallbackRequest(
            attended=self.attended,
            agent_id=agent_id,
            supervisor=supervisor,
            follow_up_status=target.follow_up.status.value,
            follow_up_owner=target.follow_up.owner,
            has_call=target.has_call,
            number=target.number,
            line_status=status,
            busy=self._placing or self.busy(),
        )
        return check_callback(request)

    def place(
        self,
        follow_up_key: str,
        agent_id: str | None,
        *,
        bridge: Bridge | None = None,
        progress: Callable[[CallbackProgress], None] | None = None,
    ) -> CallbackResult:
        """Call back the follow-up's caller; blocks until the callback has ended.

        Refused (`CallbackRefused`, `CallbackError`: one line, nothing dialled, nothing
        written) by the domain's rule or an unreadable record; otherwise the callback is
        recorded whatever happens, with its outcome.
        """
        with self._lock:
            number = self.check(follow_up_key, agent_id)
            self._placing = True
        if self.seat_use is not None:
            self.seat_use.outgoing_started()
        try:
            return self._place(follow_up_key, str(agent_id), number, bridge, progress)
        finally:
            with self._lock:
                self._placing = False
                self._current = None
            if self.seat_use is not None:
                self.seat_use.outgoing_ended()

    def hang_up(self) -> bool:
        """End the callback up now (CANCEL while ringing, BYE once answered)."""
        call = self._current
        if call is None:
            return False
        call.hangup()
        return True

    # ------------------------------------------------------------ internals

    def _place(self, follow_up_key: str, agent_id: str, number: str, bridge: Bridge | None,
               progress: Callable[[CallbackProgress], None] | None) -> CallbackResult:
        def tell(stage: str, outcome: CallOutcome | None = None, detail: str = "") -> None:
            if progress is not None:
                try:
                    progress(CallbackProgress(follow_up_key, number, stage, outcome, detail))
                except Exception:
                    log.exception("callback progress listener failed")

        assert self.line is not None  # check() refuses a dialler without a line
        placed_at = self.clock.now()
        try:
            call = self.line.dial(number, self.ring_seconds)
        except SipError as exc:  # DialError: unregistered meanwhile, over capacity, media
            raise CallbackError(f"the callback to {number} was not placed: {exc}") from None
        self._current = call
        try:
            key = self.records.open_callback(self.line_name, follow_up_key, number, agent_id,
                                             seat=self.seat, sip_call_id=call.call_id,
                                             at=placed_at)
        except Exception as exc:  # the record refused even the outbox: hang up, say so
            call.hangup()
            raise CallbackError(f"the callback could not be recorded ({exc}); hung up") from None
        log.info("callback %s to %s for follow-up %s by %s (call %s)", key, number,
                 follow_up_key, agent_id, call.call_id)
        tell("dialling")
        result = call.wait_final(self.ring_seconds + FINAL_GRACE_SECONDS)
        if result is None:  # the line never said: give up on it
            call.hangup()
            result = call.wait_final(5.0) or DialResult(0, "no final answer from the line")
        stop_bridge: Callable[[], None] | None = None
        recording: Recording | None = None
        answered_at: datetime | None = None
        if result.answered:
            answered_at = self.clock.now()
            try:
                self.records.callback_answered(key, answered_at)
            except Exception:  # the seal carries it again: the conversation goes on
                log.exception("callback %s: the answer could not be written yet", key)
            recording = self._record(call, number)
            tell("connected", detail=f"{result.code} {result.reason}")
            if bridge is not None:
                try:
                    stop_bridge = bridge(call)
                except Exception:
                    log.exception("callback %s: headset bridge failed; call goes on", key)
            call.wait_ended()
        else:
            call.wait_ended(5.0)
        if stop_bridge is not None:
            try:
                stop_bridge()
            except Exception:
                log.exception("callback %s: headset bridge stop failed", key)
        if recording is not None:
            recording.close()
        path = str(recording.path) if recording is not None else None
        return self._seal(key, follow_up_key, agent_id, number, call, result, tell, path,
                          answered_at)

    def _record(self, call: OutgoingCall, number: str) -> Recording | None:
        """The conversation's WAV (callee left, console right), fed by the call's audio tap."""
        if self.recorder is None:
            return None
        try:
            path = self.recorder.file_for(self.clock.now(), number, call.call_id, "callback")
            recording = self.recorder.open(path, 2, call.call_id)
        except RecordingError as exc:
            self._alarm(call.call_id, f"callback not recorded: {exc}")
            return None
        try:
            call.tap_audio(recording.tap)
        except SipError as exc:  # ended meanwhile
            recording.close()
            self._alarm(call.call_id, f"callback not recorded: {exc}")
            return None
        return recording

    def _alarm(self, call_id: str, detail: str) -> None:
        log.error("ALARM: %s: %s", call_id, detail)
        if self.on_alarm is not None:
            try:
                self.on_alarm(call_id, detail)
            except Exception:
                log.exception("callback alarm listener failed")

    def _seal(self, key: str, follow_up_key: str, agent_id: str, number: str,
              call: OutgoingCall, result: DialResult,
              tell: Callable[[str, CallOutcome | None, str], None],
              recording: str | None, answered_at: datetime | None) -> CallbackResult:
        outcome = callback_outcome(result.answered, result.code)
        detail = f"{result.code} {result.reason}".strip() if result.code else result.reason
        ended = call.ended_by
        end_reason = ended.value if ended is not None else "unknown"
        action = f"callback to {number} by {agent_id} for follow-up {follow_up_key}: {detail}"
        if result.answered and ended is not None:
            action += f"; ended {ended.value}"
        try:
            self.records.seal_callback(key, outcome, ended_at=self.clock.now(),
                                       end_reason=end_reason, action=action,
                                       recording=recording, answered_at=answered_at)
        except Exception as exc:  # the row is open: the next start seals it interrupted
            tell("ended", outcome, detail)
            raise CallbackError(
                f"the callback to {number} ended ({outcome.value}) but could not be sealed "
                f"({exc}); the next start seals it as interrupted"
            ) from None
        closes = follow_up_closes(outcome)
        if closes:
            try:
                self.records.close_by_callback(follow_up_key, key, agent_id, number)
            except Exception as exc:
                tell("ended", outcome, detail)
                raise CallbackError(
                    f"the callback reached {number} but the follow-up could not be closed "
                    f"({exc}); a supervisor closes it"
                ) from None
        log.info("callback %s: %s (%s); follow-up %s %s", key, outcome.value, detail,
                 follow_up_key, "closed" if closes else "stays open")
        tell("ended", outcome, detail)
        return CallbackResult(key, follow_up_key, number, outcome, detail, closes)


__all__ = [
    "CallbackDialer", "CallbackError", "CallbackProgress", "CallbackRecords", "CallbackRefused",
    "CallbackResult", "DialError", "SeatUse",
]
