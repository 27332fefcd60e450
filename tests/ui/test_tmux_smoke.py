"""Smoke test: the real console in tmux against the loopback lab.

`duty-console` (no sub-command) registers as extension 100 at the lab's Kamailio, the agent
logs in with keys, SIPp calls, the screen shows the ring counter, Enter answers, SIPp hangs
up, the seat shows after-call work and the duty record has the call. Everything runs on
loopback; tmux and SIPp are stopped by this test (tmux by its own session name).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import labctl
import pytest

from console.store import AgentRole, DutyRecord
from tests.ui.tmux import Pane, console_config, skip_near_midnight, tmux_console


@pytest.fixture
def pane(tmp_path: Path, lab: labctl.Lab) -> Iterator[Pane]:
    skip_near_midnight()
    agents = {"1024": ("王芳", AgentRole.AGENT, "s3cret-1024")}
    with tmux_console(tmp_path, f"duty-smoke-{os.getpid()}", console_config(lab), agents) as pane:
        yield pane


def test_console_in_tmux_answers_a_sipp_call(pane: Pane, lab: labctl.Lab, tmp_path: Path) -> None:
    pane.log_in("1024", "s3cret-1024")
    pane.wait_for(lambda s: "线路: 已注册" in s and "1024 就绪" in s, "seat, registered")
    run = lab.sipp_start("uac_answer_wait", service="100", duration_ms=1000, timeout=60)
    try:
        first = pane.wait_for(lambda s: "振铃" in s and "时限 15" in s, "ring banner")
        assert "sipp" in first
        pane.wait_for(lambda s: "振铃 2/3" in s, "ring counter moving", timeout=10)
        pane.keys("Enter")
        pane.wait_for(lambda s: "通话中" in s and "服务流程" in s, "on-call screen")
        pane.wait_for(lambda s: "话后处理" in s, "after-call work once SIPp hangs up",
                      timeout=30)
        result = run.wait()
    finally:
        run.stop()
    assert result.ok, result.describe()
    record = DutyRecord(f"sqlite:///{tmp_path / 'var' / 'duty.db'}")
    try:
        calls = [c for c in record.calls() if c.caller_number == "sipp"]
    finally:
        record.close()
    assert len(calls) == 1, calls
    assert calls[0].answered_by == "1024" and calls[0].rings in (2, 3)
    pane.keys("F10")  # no category yet: refused, the focus on 分类 (duty rules §3 step 4)
    pane.wait_for(lambda s: "请先选择来电分类" in s, "category asked for")
    pane.keys("Enter")  # open the category list, take the first (咨询)
    pane.wait_for(lambda s: "咨询" in s and "投诉" in s, "category list")
    pane.keys("Down")
    pane.keys("Enter")
    pane.wait_for(lambda s: "咨询" in s and "投诉" not in s, "category chosen")
    pane.keys("F10")
    pane.wait_for(lambda s: "今日来电" in s, "back on the seat")
    pane.keys("C-q")
    pane.wait_for(lambda s: "CONSOLE-EXIT=0" in s, "clean exit", timeout=20)
