"""The headless line never dials (duty rules §2: callbacks are placed by an agent at a seat).

`duty-console run --headless` builds its callback dialler unattended: every callback is
refused by the domain's first rule and the line's `dial` is never reached, whatever the
follow-up. The seat built over the same parts (`console.ui.assemble.build_console`) takes
the dialler `for_seat`. Bad input tried: a perfectly callable follow-up on the headless line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from console.callflow import ShiftedClock
from console.domain.callback import CallbackRefused
from console.runner import assemble
from console.store import AgentRole, CallOutcome
from sip.api import LineEvent, LineStatus
from tests.e2e.labconfig import write_console_toml

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class DiallingLine:
    """A registered line that records every dial (and would place none)."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.dialled: list[str] = []

    status = LineStatus.REGISTERED
    observed_address = None

    def start(self, timeout: float = 10.0) -> None: ...
    def stop(self) -> None: ...
    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True

    def calls(self) -> list[Any]:
        return []

    def prepare(self, prompts: Any) -> None: ...

    def dial(self, number: str, ring_seconds: float = 30.0) -> Any:
        self.dialled.append(number)
        raise AssertionError("the headless line dialled")


def test_the_headless_dialler_refuses_every_callback_and_never_reaches_the_line(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = write_console_toml(tmp_path, 5060,
                              prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    headless = assemble(path, clock=ShiftedClock(MONDAY_10), line_factory=DiallingLine)  # type: ignore[arg-type]
    try:
        store = headless.store
        store.create_agent("1024", "张三", AgentRole.AGENT, "pw-1024")
        call = store.open_call("hotline", MONDAY_10, caller_number="13800138000",
                               sip_call_id="in-1", seat=headless.parts["records"].seat)
        store.seal_call(call, CallOutcome.ANSWERED, ended_at=MONDAY_10 + timedelta(minutes=1))
        fu = store.add_follow_up("1024", "回电", MONDAY_10 + timedelta(hours=2), call_key=call)
        dialler = headless.parts["callbacks"]
        assert dialler.attended is False and dialler.line is headless.line
        with pytest.raises(CallbackRefused, match="the headless line never dials"):
            dialler.place(fu.key, "1024")
        assert headless.line.dialled == []  # type: ignore[attr-defined]
        assert store.callbacks_of(fu.key) == [] and store.follow_ups()[0].key == fu.key
        # A seat takes the same dialler for itself: attended, the same line and record.
        seat = dialler.for_seat()
        assert seat.attended and seat.line is dialler.line and seat.records is store
        assert seat.check(fu.key, "1024") == "13800138000"
    finally:
        headless.store.close()


def test_the_callbacks_ring_time_comes_from_the_config(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from console.config import ConfigError, load

    path = write_console_toml(tmp_path, 5060,
                              prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    text = path.read_text("utf-8")
    assert load(path).follow_ups.callback_ring_seconds == 30.0  # the default
    path.write_text(text.replace("due_hours = 24", "due_hours = 24\ncallback_ring_seconds = 12"),
                    "utf-8")
    headless = assemble(path, clock=ShiftedClock(MONDAY_10), line_factory=DiallingLine)  # type: ignore[arg-type]
    try:
        assert headless.parts["callbacks"].ring_seconds == 12.0
        assert headless.parts["callbacks"].for_seat().ring_seconds == 12.0
    finally:
        headless.store.close()
    path.write_text(text.replace("due_hours = 24", "due_hours = 24\ncallback_ring_seconds = 0"),
                    "utf-8")
    with pytest.raises(ConfigError) as bad:
        load(path)
    message = str(bad.value)
    assert "follow_ups.callback_ring_seconds" in message and "5 < s ≤ 120" in message
    assert str(path) in message and "\n" not in message
