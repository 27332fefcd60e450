"""`scripts/demo-call` against the real lab and a headless console: the call is in the record.

The console runs as `duty-console run --headless` assembles it (a Monday 10:00, 2 × 0.5 s ring
limit: nobody answers, so it is auto-answered); the script reads the lab's address from a
lab.json as `scripts/console` writes it and places a SIPp call through Kamailio on loopback.
Each call is bounded by the script's --timeout and the subprocess timeout here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import labctl
import pytest

from console.store import CallOutcome
from tests.e2e.helpers import at, running_console
from tests.e2e.labconfig import write_console_toml

ROOT = Path(__file__).resolve().parents[2]
DEMO_CALL = ROOT / "scripts" / "demo-call"
MONDAY_10 = at("2026-03-02 10:00")


def demo_call(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEMO_CALL), *args], capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=ROOT)


def lab_json(path: Path, host: str, port: int) -> Path:
    path.write_text(json.dumps({"proxy": {"host": host, "port": port, "pid": 0}}), "utf-8")
    return path


@pytest.fixture
def config(lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    return write_console_toml(tmp_path / "seat", lab.proxy_port, prompt_cache=cache)


@pytest.mark.lab
def test_demo_call_waits_for_the_console_and_its_survey_digit_is_recorded(
    lab: labctl.Lab, config: Path, tmp_path: Path
) -> None:
    where = lab_json(tmp_path / "lab.json", "127.0.0.1", lab.proxy_port)
    with running_console(config, MONDAY_10) as console:
        done = demo_call("--digits", "2", "--lab", str(where), "--timeout", "60")
        assert done.returncode == 0, done.stdout + done.stderr
        record = console.sealed_call()
    assert "13800138000 → 100" in done.stdout and "the console hung up" in done.stdout
    assert record.caller_number == "13800138000"
    assert record.outcome is CallOutcome.ANSWERED and record.answered_by == "auto"
    assert record.satisfaction == 2  # the key the script pressed, heard by the survey


@pytest.mark.lab
def test_demo_call_hangs_up_after_n_seconds(
    lab: labctl.Lab, config: Path, tmp_path: Path
) -> None:
    where = lab_json(tmp_path / "lab.json", "127.0.0.1", lab.proxy_port)
    with running_console(config, MONDAY_10) as console:
        done = demo_call("--hangup-after", "1", "--lab", str(where), "--timeout", "60")
        assert done.returncode == 0, done.stdout + done.stderr
        record = console.sealed_call()
    assert "the caller hung up" in done.stdout
    assert record.caller_number == "13800138000" and record.outcome is CallOutcome.ANSWERED
    assert record.satisfaction is None  # gone before the survey
    assert record.end_reason == "remote_bye"  # the caller (SIPp) hung up, not the console


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--digits", "x1"], "keys are 0-9"),
        (["--digits", ""], "keys are 0-9"),
        (["--hangup-after", "0"], "--hangup-after 0"),
        (["--timeout", "5000"], "--timeout 5000"),
        (["--to", "100;evil"], "an extension number"),
    ],
)
def test_bad_options_are_refused_before_any_call(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    where = lab_json(tmp_path / "lab.json", "127.0.0.1", 9)
    done = demo_call(*args, "--lab", str(where), timeout=30)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "demo call:" not in done.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no lab running"),
        ("not json", "not a lab file"),
        ('{"proxy": {"port": 5060}}', "not a lab file"),
        ('{"proxy": {"host": "192.0.2.7", "port": 5060}}', "not a loopback address"),
        ('{"proxy": {"host": "pbx.example.com", "port": 5060}}', "not a loopback address"),
        ('{"proxy": {"host": "127.0.0.1", "port": 70000}}', "out of range"),
    ],
)
def test_a_missing_or_foreign_lab_file_places_no_call(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    where = tmp_path / "lab.json"
    if content is not None:
        where.write_text(content, "utf-8")
    done = demo_call("--lab", str(where), timeout=30)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
