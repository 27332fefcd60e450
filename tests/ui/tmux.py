"""The real console in tmux for the end-to-end tests: its configuration, session and screen.

`console_config` writes the console's TOML for the loopback lab (extension 100 at the lab's
Kamailio, an all-day roster, the gate post at 200); `tmux_console` starts `duty-console` in
a detached tmux session of its own name and kills that session (only that one) afterwards;
`Pane` reads and types into it. Everything on loopback.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import labctl
import pytest

from console.store import AgentRole, DutyRecord

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / ".venv" / "bin" / "duty-console"


def console_config(lab: labctl.Lab, line: str = "", prompts: str = "") -> str:
    """The console's TOML: `line` adds lines to `[line]`, `prompts` to `[prompts]`."""
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
{line}
[rosters.allday]
label = "全天"
days = "daily"
start = "00:00"
end = "23:59"

[gate_post]
uri = "{lab.uri('200')}"

[prompts]
cache_dir = "var/prompts"
{prompts}
[database]
url = "sqlite:///var/duty.db"
"""


def skip_near_midnight() -> None:
    """The test roster leaves 23:59–00:00 (CST) unstaffed: a call then would not ring."""
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    if local.hour == 23 and local.minute >= 58:
        pytest.skip("the test roster leaves 23:59–00:00 unstaffed; retry after midnight (CST)")


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

    def log_in(self, agent_id: str, secret: str, login_screen: str = "坐席登录") -> None:
        """Type a login on the login screen (the ID, Enter, the secret, Enter)."""
        self.wait_for(lambda s: login_screen in s, "login screen", timeout=60)
        self.keys(agent_id)
        self.wait_for(lambda s: agent_id in s, f"ID {agent_id} typed")
        self.keys("Enter")
        time.sleep(0.5)  # the focus moves to the secret asynchronously; tmux cannot see focus
        self.keys(secret, "Enter")


@contextmanager
def tmux_console(
    tmp_path: Path,
    name: str,
    config: str,
    agents: dict[str, tuple[str, AgentRole, str]],
    env: str = "",
    width: int = 150,
) -> Iterator[Pane]:
    """Write `config` and a duty record with `agents` (ID: name, role, secret) below
    `tmp_path`, run the console there in tmux session `name` (`env`: `env` arguments put
    before it), and kill that session on the way out."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux missing — run scripts/setup (it installs tmux)", pytrace=False)
    (tmp_path / "var").mkdir()
    (tmp_path / "console.toml").write_text(config, encoding="utf-8")
    record = DutyRecord(f"sqlite:///{tmp_path / 'var' / 'duty.db'}")
    for agent_id, (who, role, secret) in agents.items():
        record.create_agent(agent_id, who, role, secret)
    record.close()
    prefix = f"env {env} " if env else ""
    command = (f"cd {tmp_path} && {prefix}{CONSOLE} --config console.toml --log-file ui.log; "
               "echo CONSOLE-EXIT=$?; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", str(width), "-y", "45",
                    command], check=True, timeout=10)
    try:
        yield Pane(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)
