"""`duty-console` with no sub-command: build the seat from `console.toml` and run it.

Config → duty record → night mode (schedule + override) → prompts → line → call flow → app.
The flow's record writes go through `StoreCallRecords`, a thin adapter of the duty record
to `console.callflow.ports.CallRecords` (the headless runner needs the same adapter; it
belongs with the flow and can move there unchanged).
"""

from __future__ import annotations

import argparse
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from console.callflow.events import CallStep, Mode
from console.store import CallOutcome, DutyRecord

log = logging.getLogger("console.ui")

_FORWARDED = {"transferred", "redirected"}


class StoreCallRecords:
    """`CallRecords` over `DutyRecord`: one row per call, sealed when the call ends."""

    def __init__(self, store: DutyRecord, line_name: str = "hotline") -> None:
        self.store = store
        self.line_name = line_name
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}
        self._answered: dict[str, str] = {}
        self._forwarded: set[str] = set()

    def _key(self, call_id: str) -> str | None:
        with self._lock:
            return self._keys.get(call_id)

    def _update(self, call_id: str, **facts: Any) -> None:
        key = self._key(call_id)
        if key is not None:
            self.store.update_open_call(key, **facts)

    def call_rang(self, call_id: str, caller: str, at: datetime, mode: Mode) -> None:
        key = self.store.open_call(self.line_name, at, caller_number=caller, sip_call_id=call_id)
        with self._lock:
            self._keys[call_id] = key

    def call_answered(
        self, call_id: str, at: datetime, answered_by: str, rings: int, seconds: float
    ) -> None:
        with self._lock:
            self._answered[call_id] = answered_by
        self._update(call_id, answered_at=at, answered_by=answered_by, rings=rings)

    def call_step(self, call_id: str, step: CallStep, at: datetime) -> None:
        self._update(call_id, step=step.value)

    def forward_attempt(
        self, call_id: str, target: str, method: str, outcome: str, at: datetime
    ) -> None:
        if outcome in ("success", "redirected"):
            with self._lock:
                self._forwarded.add(call_id)
        self._update(call_id, forwarded_to=target, forward_method=method,
                     forward_result=outcome, forwarded_at=at)

    def handed_over(self, call_id: str, agent_id: str, at: datetime) -> None:
        self._update(call_id, notes=f"taken over from hold by {agent_id} at {at:%H:%M:%S}")

    def message_taken(self, call_id: str, seconds: float, recording: str | None) -> None:
        if recording:
            self._update(call_id, recording=recording)

    def satisfaction(self, call_id: str, score: int | None) -> None:
        self._update(call_id, satisfaction=score)

    def follow_up(self, call_id: str, reason: str, at: datetime) -> None:
        self._update(call_id, follow_up=reason)

    def call_ended(self, call_id: str, at: datetime, step: CallStep, reason: str) -> None:
        key = self._key(call_id)
        if key is None:
            return
        with self._lock:
            answered = self._answered.pop(call_id, None)
            forwarded = call_id in self._forwarded or reason in _FORWARDED
            self._forwarded.discard(call_id)
            self._keys.pop(call_id, None)
        if forwarded:
            outcome = CallOutcome.FORWARDED
        elif answered is not None:
            outcome = CallOutcome.ANSWERED
        elif reason in ("abandoned", "cancelled"):
            outcome = CallOutcome.ABANDONED
        else:
            outcome = CallOutcome.MISSED
        self.store.seal_call(key, outcome, ended_at=at, step=step.value, end_reason=reason)

    def call_refused(self, call_id: str, caller: str, at: datetime, reason: str) -> None:
        key = self.store.open_call(self.line_name, at, caller_number=caller or None,
                                   sip_call_id=call_id or None)
        self.store.seal_call(key, CallOutcome.MISSED, ended_at=at, end_reason=reason)

    def alarm(self, kind: str, detail: str, at: datetime) -> None:
        self.store.audit(f"alarm:{kind}", "console", detail)


def build_console(config_path: str) -> tuple[Any, Any]:
    """Everything from the config file; errors carry a title (config, store, prompts, line)."""
    from zoneinfo import ZoneInfo

    from console import config as config_mod
    from console.app import make_app
    from console.callflow import CallFlow, SystemClock
    from console.domain.night import NightMode
    from console.prompts import PromptBook
    from console.ui.ports import NightStaffing
    from console.ui.settings import UiSettings
    from sip.api import Line, LineEvent
    from sip.line import DutyLine

    cfg = config_mod.load(config_path)
    base = Path(config_path).resolve().parent
    store = DutyRecord(cfg.database_url, tz=ZoneInfo(cfg.timezone),
                       ring_limit_seconds=cfg.ring_limit.seconds)
    store.seal_interrupted_on_start(lines=["hotline"])
    agent_ids = [a.agent_id for a in store.agents()]
    prompts = PromptBook.load(cfg.prompt_settings(), agent_ids, base=base)
    night = NightMode(cfg.schedule())
    clock = SystemClock()
    sinks: list[Any] = []

    def fan_out(event: LineEvent) -> None:
        for sink in list(sinks):
            sink(event)

    line = cast(Line, DutyLine(cfg.line_config(), fan_out))
    flow = CallFlow(StoreCallRecords(store), NightStaffing(night), prompts, cfg.flow_settings(),
                    clock=clock, line=line)
    sinks.append(flow.on_line_event)
    settings = UiSettings.from_config(cfg, drafts_dir=base / "var" / "drafts")
    app = make_app(line, store, clock, settings, flow, night=night)
    sinks.append(app.on_line_event)
    return app, flow


def run_tui(args: argparse.Namespace) -> int:
    """Open the seat; a start-up failure is one titled line on stderr, never a traceback."""
    import sys

    logging.basicConfig(filename=getattr(args, "log_file", "duty-console.log"), level="INFO",
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    config_path = getattr(args, "config", "console.toml")
    try:
        app, flow = build_console(config_path)
    except Exception as exc:
        # ConfigError, StoreError, PromptError, SipError: each carries a title.
        title = getattr(exc, "title", None)
        if not isinstance(title, str) and not isinstance(exc, OSError):
            raise
        print(f"{title or 'Start-up'}: {exc}", file=sys.stderr)
        return 1
    flow.start()  # the app subscribes on mount: nothing is posted before its loop runs
    try:
        result = app.run()
    finally:
        flow.stop()
    return int(result or 0)
