"""`duty-console run --headless` start-up: bad input is one titled line and exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.callflow import ShiftedClock
from console.runner import assemble
from tests.e2e.labconfig import write_console_toml


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", "run", "--headless", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("rings = 2", 'rings = "two"'), "ring_limit.rings = 'two'"),
        (lambda t: t.replace('registrar = "127.0.0.1"', 'registrar = "pbx.example.com"'),
         "line.registrar = 'pbx.example.com'"),
        (lambda t: t.replace('method = "refer"', 'method = "fax"'), "gate_post.method = 'fax'"),
        (lambda t: t.replace('language = "en"', 'language = "en"\nengine = "sapi5"'),
         "prompts.engine = 'sapi5'"),
        (lambda t: t + "\n[bogus]\nx = 1\n", "bogus"),
        (lambda t: t.replace("[ring_limit]", "[ring_limit"), "console.toml"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = write_console_toml(tmp_path, 5060)
    path.write_text(edit(path.read_text("utf-8")), "utf-8")
    done = run("--config", str(path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Configuration:" in errors[0] and str(path) in errors[0]
    assert expected in errors[0]
    assert not (tmp_path / "duty.db").exists()  # nothing created before the config is good


def test_missing_file_and_bad_clock(tmp_path: Path) -> None:
    done = run("--config", str(tmp_path / "none.toml"))
    assert done.returncode == 2 and "no such config file" in done.stdout
    path = write_console_toml(tmp_path, 5060)
    done = run("--config", str(path), "--clock-start", "tomorrow-ish")
    assert done.returncode == 2 and "Command line: --clock-start 'tomorrow-ish'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_assemble_wires_the_parts_without_starting_the_line(tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    path = write_console_toml(tmp_path, 5060, take_message=False)
    clock = ShiftedClock(datetime(2026, 3, 2, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    headless = assemble(path, clock=clock)
    try:
        assert headless.flow.settings.take_message is False
        assert headless.flow.clock is clock
        assert headless.flow.staffing.is_staffed(clock.now()) is False  # 22:00: night
        assert headless.parts["prompts"].get("thanks").seconds > 0.3  # rendered at start-up
        assert headless.line.status.value == "stopped"
        assert headless.store.calls() == []
    finally:
        headless.store.close()
