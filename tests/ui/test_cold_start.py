"""Cold start of the seat: the login screen is up before the duty record, line and flow exist.

`open_console` reads only the config; `Startup` runs the composition root (`assemble`) in the
app's start-up worker. A login typed meanwhile waits for it; a start-up failure ends the app
with exit 1 and its titled error. The line here is a fake built through `assemble`'s factory.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Label

from console.callflow import ShiftedClock
from console.headset import Headset
from console.runner import Headless, assemble
from console.store import AgentRole, DutyRecord
from console.ui.assemble import open_console
from sip.api import LineEvent, LineStatus, MediaError, Prompt
from tests.e2e.labconfig import write_console_toml
from tests.ui.fakes import HEADSET, FakeAudio
from tests.ui.helpers import login, screen_name, until

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class PreparedLine:
    """A fake line that takes prompts (as `assemble` hands them) and counts starts/stops."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.sink = sink
        self.prepared: list[Prompt] = []
        self.started = 0
        self.stopped = 0
        self.status = LineStatus.STOPPED

    def prepare(self, prompts: Iterable[Prompt]) -> None:
        self.prepared.extend(prompts)

    def start(self, timeout: float = 10.0) -> None:
        self.started += 1
        self.status = LineStatus.REGISTERED

    def stop(self) -> None:
        self.stopped += 1
        self.status = LineStatus.STOPPED

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True

    def calls(self) -> list[Any]:
        return []


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_console_toml(tmp_path, 5060)
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}")
    record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    record.close()
    return path


async def test_login_waits_for_start_up_then_the_seat_opens(config: Path) -> None:
    gate = threading.Event()
    lines: list[PreparedLine] = []

    def factory(cfg: Any, sink: Callable[[LineEvent], None]) -> PreparedLine:
        lines.append(PreparedLine(cfg, sink))
        return lines[-1]

    def build(path: Path, clock: Any) -> Headless:
        if not gate.wait(20):
            raise AssertionError("the test never opened the gate")
        return assemble(path, clock=clock, line_factory=factory)  # type: ignore[arg-type]

    app, startup = open_console(config, clock=ShiftedClock(T0), build=build,
                                headset=Headset(FakeAudio([HEADSET], 0)))
    try:
        async with app.run_test(size=(130, 40)) as pilot:
            await until(pilot, lambda: screen_name(app) == "LoginScreen", "login screen")
            assert not app.ready.is_set() and app.line.status is LineStatus.STOPPED
            await login(pilot, secret="wrong")  # typed before the record is open: it waits
            for _ in range(10):
                await pilot.pause(0.02)
            assert screen_name(app) == "LoginScreen" and not lines
            note = str(app.screen.query_one("#login-error", Label).render())
            assert "opening the duty record" in note  # the agent is told why nothing happens
            gate.set()
            error = app.screen.query_one("#login-error", Label)
            await until(pilot, lambda: "wrong secret" in str(error.render()),
                        "wrong secret refused once the record is open")
            assert app.ready.is_set() and len(lines) == 1
            line = lines[0]
            assert line.started == 1 and len(line.prepared) >= 8  # prompts prepared, started
            assert startup.headless is not None
            assert app.night is startup.headless.parts["night"]
            assert app.on_line_event in startup.headless.parts["sinks"]
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
            await pilot.press("ctrl+q")
    finally:
        gate.set()
        startup.finish()
    assert lines[0].stopped == 1  # the app stopped the line it started
    assert startup.headless is not None and startup.headless.store is not None
    record = DutyRecord(f"sqlite:///{config.parent / 'duty.db'}")
    try:
        states = [s.state.value for s in record.agent_states("1024")]
    finally:
        record.close()
    assert states[:2] == ["logged_in", "ready"]  # the login reached the record


async def test_a_start_up_failure_ends_the_app_with_its_title(config: Path) -> None:
    def refusing(cfg: Any, sink: Callable[[LineEvent], None]) -> PreparedLine:
        raise MediaError("RTP ports 20000-20019 all taken")

    def build(path: Path, clock: Any) -> Headless:
        return assemble(path, clock=clock, line_factory=refusing)  # type: ignore[arg-type]

    app, startup = open_console(config, clock=ShiftedClock(T0), build=build,
                                headset=Headset(FakeAudio([HEADSET], 0)))
    async with app.run_test(size=(130, 40)) as pilot:
        for _ in range(400):
            if app.return_code is not None or app._exit:
                break
            await pilot.pause(0.025)
    startup.finish()
    assert app.return_value == 1
    assert isinstance(app.start_error, MediaError) and app.start_error.title == "Media"
    assert startup.headless is None  # nothing half-built is left to seal


def test_the_cold_path_imports_nothing_heavy_before_the_login_screen(config: Path) -> None:
    """Up to a built (not yet running) app: no SQLAlchemy, pyVoIP, TTS, audio, Excel, Alembic,
    and not the call flow itself (the start-up worker builds it behind the login screen)."""
    code = f"""
import json, sys
from console.cli import _seat_args
args = _seat_args(["--config", {str(config)!r}])
from console.ui.assemble import open_console
from console.screens.login import LoginScreen
app, startup = open_console(args.config)
heavy = ["sqlalchemy", "pyVoIP", "pyttsx3", "sounddevice", "openpyxl", "alembic",
         "console.store", "sip.line", "console.callflow.flow"]
print(json.dumps([m for m in heavy if m in sys.modules]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert sorted(p.name for p in config.parent.iterdir()) == ["console.toml", "duty.db"]
