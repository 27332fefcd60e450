"""A headless line anchors the duty record by itself: at start, on its schedule, at shutdown.

Before, anchors were written only at a handover, a sign-off or a morning review, so a line
nobody sat at wrote none. One thread per process does it (not one per call), and a start
with an unusable key or log is one titled line, exit 2, nothing created.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console.cli import main
from console.runner import assemble
from console.store import DutyRecord
from console.store.anchor_log import Anchoring, AnchorLog, load_key, open_anchor_log
from sip.api import LineEvent
from tests.e2e.labconfig import write_console_toml
from tests.test_runner_prepare import RecordingLine


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's prompt cache (as the other runner tests): rendered once per session."""
    return tmp_path_factory.getbasetemp() / "prompt-cache"


def anchored_config(tmp_path: Path, interval: float, cache: Path | None = None) -> Path:
    path = write_console_toml(tmp_path, 5060, prompt_cache=cache)
    text = path.read_text("utf-8")
    assert "[database]\n" in text
    path.write_text(text.replace("[database]\n", "[database]\nanchor_interval_seconds = "
                                 f"{interval}\n", 1), "utf-8")
    return path


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_headless_line_anchors_on_its_schedule_and_at_shutdown(
    tmp_path: Path, capsys: Any, cache: Path
) -> None:
    path = anchored_config(tmp_path, 0.2, cache)
    log, key_file = tmp_path / "var" / "anchors.log", tmp_path / "var" / "anchor.key"

    def factory(config: Any, sink: Callable[[LineEvent], None]) -> RecordingLine:
        return RecordingLine(config, sink)

    headless = assemble(path, line_factory=factory)  # type: ignore[arg-type]
    assert key_file.stat().st_mode & 0o777 == 0o600 and not log.exists()
    store = headless.store
    ready = threading.Event()
    runner = threading.Thread(target=headless.run, kwargs={"ready": ready.set})
    runner.start()
    try:
        assert ready.wait(30)

        def whys() -> list[str]:
            return [e.why for e in AnchorLog(log, load_key(key_file)).read().entries]

        assert wait_for(lambda: whys() == ["start"])
        assert [t.name for t in threading.enumerate()].count("anchor-log") == 1
        key = store.open_call("hotline")  # the record changes: the next tick anchors it
        store.seal_call(key, "missed")
        assert wait_for(lambda: whys() == ["start", "schedule"])
        time.sleep(0.5)  # two more ticks: nothing changed, nothing written
        assert whys() == ["start", "schedule"]
        store.audit("test", "2001", "a change just before the stop")
    finally:
        headless.request_stop()
        runner.join(30)
    assert not runner.is_alive()
    reading = AnchorLog(log, load_key(key_file)).read()
    assert reading.findings == [] and [e.why for e in reading.entries] == [
        "start", "schedule", "shutdown"]
    last = reading.entries[-1]
    assert "~admin" in last.heads and last.heads["hotline"][0] == 1
    assert "anchor-log" not in [t.name for t in threading.enumerate()]
    # The same record, verified by default against the log the config names.
    capsys.readouterr()
    assert main(["--config", str(path), "verify", "--db", str(tmp_path / "duty.db")]) == 0
    out = capsys.readouterr().out
    assert f"anchor log {log}: 3 entries" in out and "sound" in out


def test_a_start_with_the_key_gone_is_one_line_exit_2_and_creates_nothing(
    tmp_path: Path,
) -> None:
    path = anchored_config(tmp_path, 300)
    key_file, log = tmp_path / "var" / "anchor.key", tmp_path / "var" / "anchors.log"
    _, anchor_log = open_anchor_log(log, key_file)  # as the line's last run left them
    assert anchor_log is not None
    store = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}")
    Anchoring(store.engine, anchor_log, 300).anchor("start")
    store.close()
    key_file.unlink()
    content = log.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "run", "--headless", "--config", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and errors[0].endswith(
        f"Anchor log: anchor key file {key_file} is missing but anchor log {log} has entries: "
        "restore the key file (a new key would orphan the log); nothing was created"
    )
    assert not key_file.exists() and log.read_bytes() == content


def test_a_seat_anchors_at_start_and_at_shutdown(tmp_path: Path, cache: Path) -> None:
    from console.callflow import SystemClock
    from console.ui.assemble import Startup

    path = anchored_config(tmp_path, 300, cache)
    log, key_file = tmp_path / "var" / "anchors.log", tmp_path / "var" / "anchor.key"

    def build(config_path: Path, clock: Any) -> Any:
        return assemble(config_path, clock=clock, line_factory=RecordingLine)  # type: ignore[arg-type]

    startup = Startup(path, SystemClock(), build)
    startup()  # the seat's start-up worker: the record, the prompts, the line (not started)
    try:
        assert [t.name for t in threading.enumerate()].count("anchor-log") == 1
        assert startup.headless is not None
        startup.headless.store.audit("test", "2001", "written while the seat runs")
    finally:
        startup.finish()  # the app has returned: seal, anchor, close
    entries = AnchorLog(log, load_key(key_file)).read().entries
    assert [e.why for e in entries] == ["start", "shutdown"]
    assert entries[-1].heads["~admin"][0] == entries[0].heads.get("~admin", (0, ""))[0] + 1
    assert "anchor-log" not in [t.name for t in threading.enumerate()]
