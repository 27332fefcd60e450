"""Recording, follow-up rows and a refusing gate post, end to end against the loopback lab.

* A SIPp caller talks (a 600 Hz tone from a pcap) through an auto-answered call with
  recording on: the WAV linked in the record holds the tone on the caller's (left) channel
  and the greeting the console played on its own (right) channel; the message the caller
  left is its own file, and the follow-up it opened is a row owned by the default owner.
* At 22:00 the real baresip gate post refuses every call (486): the fallback chain runs
  (both attempts recorded), the baresip caller gets the fallback message, a follow-up row
  exists, and the call ends with our BYE after the survey: never dropped.

Bad inputs tried here: a gate post that refuses every forwarded call; a caller who presses
no survey digit.
"""

from __future__ import annotations

import array
import wave
from pathlib import Path

import labctl
import pytest

from console.callflow.events import CallStep, ForwardAttempted, StepChanged
from console.store import AgentRole, CallOutcome
from tests.callflow.test_recording import goertzel
from tests.e2e.helpers import (
    E2E_SIPP,
    at,
    ensure_tone_pcap,
    greeting_correlation,
    running_console,
    wait_until,
)
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
MONDAY_22 = at("2026-03-02 22:00")
OWNER = "1001"


def _channels(path: Path) -> tuple[array.array[int], array.array[int]]:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getsampwidth()) == (8000, 2)
        data = array.array("h", w.readframes(w.getnframes()))
        if w.getnchannels() == 1:
            return data, array.array("h")
    return data[0::2], data[1::2]


def test_answered_call_is_recorded_both_ways_and_its_follow_up_is_a_row(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert ensure_tone_pcap(lab, 600, 15.0) == "tone600_15s.pcap"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, recording=True,
                                default_owner=OWNER,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_10) as console:
        store = console.headless.store
        store.create_agent(OWNER, "Default owner", AgentRole.AGENT, "secret1001")
        result = lab.sipp(E2E_SIPP / "uac_tone_until_bye.xml", timeout=45)
        assert result.ok, result.describe()
        record = console.sealed_call()
        greeting = console.headless.parts["prompts"].greeting_for("")
        follow_ups = store.follow_ups(owner=OWNER)
    # the console has stopped: every recording is closed and its header final
    assert record.recording and record.recording.endswith(".wav")
    path = Path(record.recording)
    assert path.is_relative_to(tmp_path / "seat" / "recordings")
    caller, ours = _channels(path)
    assert len(caller) == len(ours) > 8000 * 10, "shorter than the call"
    # the caller's 600 Hz tone, on the left, in the first seconds after the answer
    assert goertzel(caller[4000:20000].tolist(), 600) > 0.8
    assert goertzel(ours[4000:20000].tolist(), 600) < 0.05  # no echo of the caller on the right
    # what we sent, on the right: the greeting, as rendered
    assert greeting_correlation(greeting.pcm16, ours.tobytes(), max_lag_s=2.0) > 0.9
    assert greeting_correlation(greeting.pcm16, caller.tobytes(), max_lag_s=2.0) < 0.3
    action = record.action or ""
    assert "message taken" in action and "-message.wav" in action
    message_path = Path(action.split("recorded in ", 1)[1].split("\n", 1)[0])
    message, _ = _channels(message_path)
    assert len(message) >= 8000 * 0.8 and goertzel(message.tolist(), 600) > 0.8
    (row,) = follow_ups
    assert row.call_key == record.key and "message" in row.description
    assert record.follow_up and OWNER in record.follow_up


def test_night_gate_post_refuses_fallback_message_follow_up_row(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gate = f"sip:201@127.0.0.1:{lab.proxy_port}"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, gate_uri=gate, retries=1,
                                default_owner=OWNER, transfer_timeout=8.0,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    refusing = lab.start_gate("201", mode="refuse")
    caller = lab.start_caller("300")
    try:
        with running_console(config, MONDAY_22) as console:
            store = console.headless.store
            store.create_agent(OWNER, "Night owner", AgentRole.AGENT, "secret1001")
            since = len(caller.events)
            caller.dial(lab.uri("100"))
            caller.wait_event("CALL_ESTABLISHED", timeout=15, since=since)
            record = console.sealed_call(timeout=60)
            attempts = console.of(ForwardAttempted)
            steps = [e.step for e in console.of(StepChanged)]
            # The follow-up row is written after the seal (a store failure never touches
            # the call): wait for it, bounded.
            wait_until("the follow-up row", lambda: bool(store.follow_ups(owner=OWNER)), 10)
            follow_ups = store.follow_ups(owner=OWNER)
            wait_until("the caller's end of the call",
                       lambda: "CALL_CLOSED" in caller.event_types(), 10)
        assert "CALL_INCOMING" in refusing.event_types()  # the caller really tried the gate post
        assert [(a.target, a.method, a.outcome, a.attempt) for a in attempts] == [
            (gate, "refer", "failure", 1), (gate, "refer", "failure", 2)]
        action = record.action or ""
        assert "forward 1" in action and "forward 2" in action and "failure" in action
        assert record.forwarded_to == gate and record.forward_result == "failure"
        assert record.outcome is CallOutcome.ANSWERED and record.answered_by == "auto"
        assert CallStep.FALLBACK in steps and CallStep.MESSAGE in steps
        assert "message taken" in action
        assert record.satisfaction is None  # the caller pressed nothing
        assert record.end_reason == "local_hangup"  # ended by us after thanks: never dropped
        (row,) = follow_ups
        assert row.call_key == record.key and "message" in row.description
    finally:
        caller.hangup_all()
        refusing.hangup_all()
        lab.stop_ua("300")
        lab.stop_ua("201")
