"""The glue between the call flow's ports and the console's parts: record, schedule, config.

The flow (`console.callflow`) is written against small protocols (`CallRecords`,
`Staffing`, `FlowSettings`); this module implements them over the duty record
(`console.store.DutyRecord`), the night-mode decision (`console.domain.night.NightMode`)
and the validated `console.toml`, so the headless runner and the TUI assemble the same
flow the same way. Nothing here knows SIP.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from console.callflow.events import CallStep, Mode
from console.callflow.ports import FlowSettings
from console.domain import labels as domain_labels
from console.domain import outcome as domain
from console.domain.security import SecurityKind
from console.store import DutyRecord, StoreError

if TYPE_CHECKING:
    from console.config import ConsoleConfig
    from console.domain.night import NightMode

log = logging.getLogger("console.adapters")

LINE_NAME = "hotline"
"""The duty record's line name for calls of this seat's extension."""



@dataclass
class _OpenCall:
    """What the adapter remembers of a call between its ring and its seal."""

    key: str
    mode: Mode
    answered_by: str | None = None
    forwarded: bool = False
    recording: str | None = None
    attempts: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    rows: list[tuple[str | None, str, datetime]] = field(default_factory=list)
    """Follow-ups (owner, description, due) to store as rows once the call is sealed."""


class StoreCallRecords:
    """`CallRecords` over `DutyRecord`: one row per call, every flow fact in it, sealed at end.

    Facts land as they happen (`update_open_call`), so a crash leaves a row that the next
    start seals as interrupted. Several forward attempts and follow-ups are kept as lines of
    `action` / `follow_up` (the record has one `forward_result`: the last attempt's).
    Follow-ups also become follow-up rows (`add_follow_up`, linked to the call) so the seat's
    open follow-ups and the supervisor's KPIs see them; those rows are written right *after*
    the call is sealed, so a follow-up the store refuses (unknown owner, database down) can
    neither delay nor lose the call: it is logged and raised as an alarm, and its text stays
    in the sealed call. Alarms go to the audit log (`alarm:<kind>`), hash-chained like calls.
    """

    def __init__(
        self, store: DutyRecord, line_name: str = LINE_NAME, seat: str | None = None
    ) -> None:
        self.store = store
        self.line_name = line_name
        self.seat = seat
        """This seat's name, written on every call it opens (its start-up seals only those)."""
        self._lock = threading.Lock()
        self._open: dict[str, _OpenCall] = {}

    # ------------------------------------------------------------ helpers

    def _get(self, call_id: str) -> _OpenCall | None:
        with self._lock:
            return self._open.get(call_id)

    def _update(self, call_id: str, **facts: Any) -> None:
        call = self._get(call_id)
        if call is None:
            log.warning("record: facts %s for unknown call %s dropped", sorted(facts), call_id)
            return
        self.store.update_open_call(call.key, **facts)

    def open_keys(self) -> dict[str, str]:
        """SIP Call-ID → record key of every call rung and not yet sealed."""
        with self._lock:
            return {cid: c.key for cid, c in self._open.items()}

    def seal_open(self) -> int:
        """Seal every call still open as interrupted (shutdown); returns how many."""
        with self._lock:
            left = list(self._open.items())
            self._open.clear()
        sealed = 0
        for call_id, call in left:
            try:
                outcome = domain.classify(
                    domain.CallEnd.SHUTDOWN,
                    answered=call.answered_by is not None,
                    forwarded=call.forwarded,
                )
                self.store.seal_call(call.key, outcome, end_reason="shutdown")
                sealed += 1
            except StoreError as exc:
                log.error("record: sealing %s at shutdown failed: %s", call_id, exc)
            finally:
                self._store_follow_ups(call)
        return sealed

    def _store_follow_ups(self, call: _OpenCall) -> None:
        """The call's follow-ups as rows; each failure is an alarm, never an exception."""
        for owner, description, due in call.rows:
            if owner is None:
                self._safe_alarm("follow_up_unowned",
                                 f"call {call.key}: {description} (no follow_ups.default_owner)")
                continue
            try:
                self.store.file_follow_up(owner, description, due, call_key=call.key)
            except Exception as exc:  # StoreError, or a bug: the call is sealed already
                log.error("record: follow-up for call %s (%s) not stored: %s",
                          call.key, owner, exc)
                self._safe_alarm("follow_up_failed",
                                 f"call {call.key}: {description} for {owner}: {exc}")

    def _safe_alarm(self, kind: str, detail: str) -> None:
        try:
            self.store.raise_alarm(kind, detail)
        except Exception:
            log.exception("record: alarm %s not stored: %s", kind, detail)

    # ------------------------------------------------------------ CallRecords

    def call_rang(self, call_id: str, caller: str, at: datetime, mode: Mode) -> None:
        key = self.store.open_call(
            self.line_name, at, caller_number=caller or None, sip_call_id=call_id or None,
            seat=self.seat,
        )
        with self._lock:
            self._open[call_id] = _OpenCall(key, mode)
        self.store.update_open_call(key, step=CallStep.RINGING.value, notes=f"mode: {mode.value}")

    def call_answered(
        self, call_id: str, at: datetime, answered_by: str, rings: int, seconds: float
    ) -> None:
        call = self._get(call_id)
        if call is not None:
            call.answered_by = answered_by
        self._update(call_id, answered_at=at, answered_by=answered_by, rings=rings)

    def call_rang_out(self, call_id: str, rings: int, seconds: float) -> None:
        self._update(call_id, rings=rings)

    def call_step(self, call_id: str, step: CallStep, at: datetime) -> None:
        self._update(call_id, step=step.value)

    def forward_attempt(
        self, call_id: str, target: str, method: str, outcome: str, at: datetime
    ) -> None:
        call = self._get(call_id)
        if call is None:
            return
        line = f"forward {len(call.attempts) + 1} at {at:%H:%M:%S} {method} {target}: {outcome}"
        with self._lock:
            call.attempts.append(line)
            call.actions.append(line)
            call.forwarded = call.forwarded or domain.forward_reached(outcome)
            action = "\n".join(call.actions)
        self.store.update_open_call(
            call.key,
            forwarded_to=target,
            forward_method=method,
            forward_result=outcome[:64],
            forwarded_at=at,
            action=action,
        )

    def handed_over(self, call_id: str, agent_id: str, at: datetime) -> None:
        self._action(call_id, f"taken over from hold by {agent_id} at {at:%H:%M:%S}")

    def message_taken(self, call_id: str, seconds: float, recording: str | None) -> None:
        """The message's file goes into `recording` unless the whole call is recorded there."""
        where = f", recorded in {recording}" if recording else ", not recorded"
        self._action(call_id, f"message taken ({seconds:.0f} s){where}")
        # The call came to a message (nobody took it): its 处理结果 says so, by the domain's
        # code, so the call log lists it as 已留言 and not as a plain answered call.
        self._update(call_id, result=domain_labels.Outcome.MESSAGE.value)
        call = self._get(call_id)
        if recording and call is not None and call.recording is None:
            call.recording = recording
            self._update(call_id, recording=recording)

    def agent_action(self, call_id: str, text: str, at: datetime) -> None:
        self._action(call_id, f"{text} at {at:%H:%M:%S}")

    def _action(self, call_id: str, line: str) -> None:
        call = self._get(call_id)
        if call is None:
            return
        with self._lock:
            call.actions.append(line)
            action = "\n".join(call.actions)
        self.store.update_open_call(call.key, action=action)

    def satisfaction(self, call_id: str, score: int | None) -> None:
        """The survey's answer; never `result`, which is the agent's 处理结果 (a survey
        arriving after the agent chose 待回复 overwrote it with None, issue 11 point 4)."""
        self._update(call_id, satisfaction=score)
        if score is None:
            self._action(call_id, "survey: no rating")

    def follow_up(
        self, call_id: str, reason: str, at: datetime, owner: str | None, due_at: datetime
    ) -> None:
        call = self._get(call_id)
        if call is None:
            return
        who = owner or "no owner"
        with self._lock:
            call.follow_ups.append(
                f"{at:%Y-%m-%d %H:%M} {reason} ({who}, due {due_at:%Y-%m-%d %H:%M})"
            )
            call.rows.append((owner, reason, due_at))
            text = "\n".join(call.follow_ups)
        self.store.update_open_call(call.key, follow_up=text)

    def recording(self, call_id: str, path: str | None, problem: str = "") -> None:
        call = self._get(call_id)
        if path and call is not None:
            call.recording = path
            self._update(call_id, recording=path)
        if problem:
            self._action(call_id, f"recording: {problem}")

    def call_ended(self, call_id: str, at: datetime, step: CallStep, reason: str) -> None:
        with self._lock:
            call = self._open.pop(call_id, None)
        if call is None:
            return
        outcome = domain.classify(
            reason, answered=call.answered_by is not None, forwarded=call.forwarded
        )
        try:
            self.store.seal_call(
                call.key, outcome, ended_at=at, step=step.value, end_reason=reason[:32]
            )
        finally:
            self._store_follow_ups(call)
        log.info("duty record: call %s sealed as %s at step %s (%s)",
                 call_id, outcome.value, step.value, reason)

    def call_refused(self, call_id: str, caller: str, at: datetime, reason: str) -> None:
        key = self.store.open_call(
            self.line_name, at, caller_number=caller or None, sip_call_id=call_id or None,
            seat=self.seat,
        )
        self.store.seal_call(
            key, domain.CallOutcome.MISSED, ended_at=at, end_reason="refused",
            result=f"refused: {reason}",
        )

    def security_event(self, kind: SecurityKind, source: str, method: str, count: int,
                       detail: str, at: datetime) -> None:
        self.store.log_security_event(kind.value, source, method, count, detail, at)

    def alarm(self, kind: str, detail: str, at: datetime) -> None:
        self.store.raise_alarm(kind, f"{at.isoformat()} {detail}", at=at)


class ScheduleStaffing:
    """`Staffing` over `NightMode`: staffed unless the schedule or an override says night."""

    def __init__(self, night: NightMode) -> None:
        self.night = night
        self._lock = threading.Lock()
        self._last: bool | None = None

    def is_staffed(self, at: datetime) -> bool:
        with self._lock:  # NightMode may drop a lapsed override while deciding
            decision = self.night.decide(at)
            staffed = not decision.night
            if staffed != self._last:
                log.info(
                    "line %s: %s", "staffed" if staffed else "night mode", decision.reason
                )
                self._last = staffed
        return staffed


def flow_settings(cfg: ConsoleConfig, **overrides: Any) -> FlowSettings:
    """The flow's settings from the config, with what `ConsoleConfig.flow_settings` leaves out.

    `gate_post.take_message`, `gate_post.probe_timeout_seconds`, `capacity.max_waiting` and
    `prompts.survey_digits` are carried over here; `overrides` replace single fields (tests,
    the demo).
    """
    base = cfg.flow_settings()
    settings = replace(
        base,
        take_message=cfg.gate_post.take_message,
        max_waiting=cfg.capacity.max_waiting,
        probe_timeout=cfg.gate_post.probe_timeout_seconds,
        survey_digits=cfg.prompts.survey_digits,
    )
    return replace(settings, **overrides) if overrides else settings
