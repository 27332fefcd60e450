"""Smoke test: the real console in tmux against the loopback lab.

`duty-console` (no sub-command) registers as extension 100 at the lab's Kamailio, the agent
logs in with keys, SIPp calls, the screen shows the ring counter, Enter answers, SIPp hangs
up, the seat shows after-call work and the duty record has the call. Everything runs on
loopback; tmux and SIPp are stopped by this test (tmux by its own session name).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import labctl
import pytest

from console.store import AgentRole, DutyRecord

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / ".venv" / "bin" / "duty-console"


def _config(lab: labctl.Lab) -> str:
    return f"""
centre = "XX客服中心"
timezone = "Asia/Shanghai"

[line]
registrar = "127.0.0.1"
registrar_port = {lab.proxy_port}
extension = "100"
secret = "secret100"
local_address = "127.0.0.1"
sip_port = {labctl.free_udp_port()}

[rosters.allday]
label = "全天"
days = "daily"
start = "00:00"
end = "23:59"

[gate_post]
uri = "{lab.uri('200')}"

[prompts]
cache_dir = "var/prompts"

[database]
url = "sqlite:///var/duty.db"
"""


class Pane:
    """One tmux session running the console; `wait_for` polls `capture-pane` (bounded)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def text(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                             capture_output=True, text=True, timeout=5)
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True, timeout=5)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.text()
            if check(screen):
                return screen
            time.sleep(0.2)  # polling a separate process's screen: nothing to await
        raise AssertionError(f"{what} not on screen within {timeout} s:\n{screen}")


@pytest.fixture
def pane(tmp_path: Path, lab: labctl.Lab) -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux missing — run scripts/setup (it installs tmux)", pytrace=False)
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    if local.hour == 23 and local.minute >= 58:
        pytest.skip("the test roster leaves 23:59–00:00 unstaffed; retry after midnight (CST)")
    (tmp_path / "var").mkdir()
    (tmp_path / "console.toml").write_text(_config(lab), encoding="utf-8")
    record = DutyRecord(f"sqlite:///{tmp_path / 'var' / 'duty.db'}")
    record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    record.close()
    name = f"duty-smoke-{os.getpid()}"
    command = (f"cd {tmp_path} && {CONSOLE} --config console.toml --log-file ui.log; "
               "echo CONSOLE-EXIT=$?; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "150", "-y", "45", command],
                   check=True, timeout=10)
    try:
        yield Pane(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)


def test_console_in_tmux_answers_a_sipp_call(pane: Pane, lab: labctl.Lab, tmp_path: Path) -> None:
    pane.wait_for(lambda s: "坐席登录" in s, "login screen", timeout=60)
    pane.keys("1024")
    pane.wait_for(lambda s: "1024" in s, "agent ID typed")
    pane.keys("Enter")
    time.sleep(0.5)  # the focus moves to the secret asynchronously; tmux cannot see focus
    pane.keys("s3cret-1024", "Enter")
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
    pane.keys("F10")
    pane.wait_for(lambda s: "今日来电" in s, "back on the seat")
    pane.keys("C-q")
    pane.wait_for(lambda s: "CONSOLE-EXIT=0" in s, "clean exit", timeout=20)
