"""The README's first command, as a new user runs it, with a demo call nobody answers.

Issue 11, "What to show": `./scripts/console` in a terminal (tmux), log in as the demo agent
1001, let `scripts/demo-call` ring until the console answers by itself, and the banner must
turn into the call's auto-answered state within a second of the answer (it froze at
"振铃 3/3 … 129 秒" before); `demo-call` must finish inside its own limit (it timed out: its
120 s limit was shorter than the demo config's hold and message timers). Then Ctrl+Q quits
cleanly and the lab the script started is stopped with it.

Nothing but `DUTY_SEAT_DIR` differs from the README: the seat's files go to this test's
folder instead of the checkout's `var/seat`. The caller hangs up 8 s after the answer
(`--hangup-after`): the whole demo call (hold, message, survey: over two minutes) against
demo-call's limit is `tests/scripts/test_demo_timers.py` and `test_demo_call.py`'s; this
test kept the suite over its 20 minutes. Bounded: the demo call by its own limit (the
console's timers), tmux by its session name, the lab by the script's own trap (its pids are
checked gone).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.ui.tmux import ROOT, Pane, skip_near_midnight

pytestmark = pytest.mark.lab

ANSWERED = re.compile(r"^(\S+ \S+) INFO .*CallAnswered call_id=\S+ answered_by=auto", re.M)


def answered_at(log: Path) -> float | None:
    """Wall time of the console's own answer, from its log (None until it is there)."""
    if not log.exists():
        return None
    found = ANSWERED.search(log.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        return None
    return dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_readme_console_auto_answers_a_demo_call_and_quits(tmp_path: Path) -> None:
    skip_near_midnight()
    if shutil.which("tmux") is None:
        pytest.fail("tmux missing — run scripts/setup (it installs tmux)", pytrace=False)
    seat = tmp_path / "seat"
    name = f"duty-readme-{os.getpid()}"
    command = (f"cd {ROOT} && DUTY_SEAT_DIR={seat} ./scripts/console; "
               "echo CONSOLE-EXIT=$?; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "150", "-y", "45", command],
                   check=True, timeout=10)
    pane = Pane(name)
    demo: subprocess.Popen[str] | None = None
    lab_pids: list[int] = []
    try:
        pane.wait_for(lambda s: "press Enter to open it" in s, "the script's greeting", 180)
        lab = json.loads((seat / "lab.json").read_text(encoding="utf-8"))
        lab_pids = [int(lab["proxy"]["pid"])] + [int(ua["pid"]) for ua in lab["uas"].values()]
        pane.keys("Enter")
        pane.log_in("1001", "demo1001")
        pane.wait_for(lambda s: "线路: 已注册" in s and "1001 就绪" in s, "seat, registered", 30)
        demo = subprocess.Popen([str(ROOT / "scripts" / "demo-call"), "--lab",
                                 str(seat / "lab.json"), "--hangup-after", "8"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        pane.wait_for(lambda s: "振铃" in s, "ring banner", 20)
        deadline = time.monotonic() + 40
        seen: float | None = None
        while time.monotonic() < deadline:
            if "已自动接听" in pane.text():
                seen = time.time()
                break
            time.sleep(0.05)
        assert seen is not None, f"no auto-answered banner:\n{pane.text()}"
        answered = answered_at(seat / "console.log")
        assert answered is not None, "the console's log has no auto answer"
        assert seen - answered <= 1.0, f"banner {seen - answered:.2f} s after the answer"
        out, _ = demo.communicate(timeout=400)  # demo-call's own limit ends it before this
        assert demo.returncode == 0, out
        pane.keys("C-q")
        pane.wait_for(lambda s: "CONSOLE-EXIT=0" in s, "clean exit", 30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in lab_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lab_pids and not any(alive(p) for p in lab_pids), lab_pids  # the lab stopped
    finally:
        if demo is not None and demo.poll() is None:
            demo.kill()
            demo.wait(10)
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)
        subprocess.run([str(ROOT / "scripts" / "lab-stop"), "--run-dir", str(seat / "lab")],
                       capture_output=True, timeout=30)
