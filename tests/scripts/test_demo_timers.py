"""The README demo fits its own timers: `scripts/demo-call` outlasts the call it places.

The seat demo (`scripts/console`) writes var/seat/console.toml; `scripts/demo-call` places a
call that nobody may answer. Issue 11 saw `uac_demo_wait timed out` after 120 s because
the seat's hold (60 s) and message (60 s) timers alone use up the old fixed limit. These
tests take the config `scripts/console` really writes, load it with the console's own
loader, render the prompts that call hears, and check demo-call's limit against them.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from console import config
from console.prompts import PromptBook
from sip.tts import PromptCache, make_engine

ROOT = Path(__file__).resolve().parents[2]
UNANSWERED = ("greeting_auto", "hold", "fallback", "survey", "survey_retry", "thanks")
"""The prompts a call nobody answers hears (the survey's retry included)."""
TONE_AND_SETUP_SECONDS = 10.0
"""Left of the prompt allowance for the message tone, SIP set-up and tear-down."""


def _demo_call() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_call", ROOT / "scripts" / "demo_call.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("demo_call", module)
    spec.loader.exec_module(module)
    return module


def seat_config(seat: Path) -> Path:
    """The console.toml `scripts/console` writes for the seat, with the ports it would pick."""
    script = (ROOT / "scripts" / "console").read_text(encoding="utf-8")
    found = re.search(r'cat > "\$seat/console\.toml" <<TOML\n(.*?)\nTOML\n', script, re.S)
    assert found, "scripts/console no longer writes the seat's console.toml with a heredoc"
    values = {"$((rtp_low + 19))": "40019", "$proxy_port": "5070", "$sip_port": "5080",
              "$rtp_low": "40000", "$here": str(seat.parent), "$seat": str(seat)}
    text = found.group(1)
    for name, value in values.items():
        text = text.replace(name, value)
    assert "$" not in text, f"a shell variable this test does not know: {text}"
    seat.mkdir(parents=True, exist_ok=True)
    path = seat / "console.toml"
    path.write_text(text, encoding="utf-8")
    (seat / "lab.json").write_text(json.dumps({"proxy": {"host": "127.0.0.1", "port": 5070}}))
    return path


def test_demo_call_outlasts_an_unanswered_seat_call(tmp_path: Path) -> None:
    demo_call = _demo_call()
    path = seat_config(tmp_path / "seat")
    cfg = config.load(path, environ={})
    timers = cfg.timers
    settings = cfg.prompt_settings()
    book = PromptBook(settings, PromptCache(make_engine(settings.engine), tmp_path / "cache"))
    prompts = sum(book.get(name).seconds for name in UNANSWERED)
    waited = (cfg.ring_limit.seconds + timers.hold_max_seconds + timers.message_seconds
              + 2 * timers.survey_digit_timeout_seconds + timers.caller_hangup_timeout_seconds)
    longest = waited + prompts + TONE_AND_SETUP_SECONDS
    limit = demo_call.call_limit(tmp_path / "seat" / "lab.json")
    assert prompts + TONE_AND_SETUP_SECONDS <= demo_call.PROMPT_ALLOWANCE_SECONDS, prompts
    assert demo_call.longest_call(path) == pytest.approx(waited)
    assert longest <= limit <= demo_call.MAX_TIMEOUT, (longest, limit)
    # What issue 11 hit: the old fixed limit was shorter than the seat's own call.
    assert longest > demo_call.FALLBACK_TIMEOUT
    assert timers.hold_max_seconds + timers.message_seconds >= 120


def test_the_limit_follows_the_config_beside_the_lab_file(tmp_path: Path) -> None:
    demo_call = _demo_call()
    lab = tmp_path / "lab.json"
    assert demo_call.call_limit(lab) == demo_call.FALLBACK_TIMEOUT  # no console.toml there
    path = seat_config(tmp_path / "seat")
    short = path.read_text(encoding="utf-8") + (
        "\n[timers]\nhold_max_seconds = 5\nmessage_seconds = 5\n"
        "survey_digit_timeout_seconds = 5\ncaller_hangup_timeout_seconds = 3\n"
    )
    path.write_text(short, encoding="utf-8")
    ring = config.load(path, environ={}).ring_limit.seconds
    assert demo_call.call_limit(path.parent / "lab.json") == pytest.approx(
        ring + 5 + 5 + 2 * 5 + 3 + demo_call.PROMPT_ALLOWANCE_SECONDS
    )
