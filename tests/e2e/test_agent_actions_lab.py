"""The agent's hold and transfer on a real call: baresip calls, the console's flow takes it as
agent 1024, holds, takes back, transfers to the baresip gate post (REFER, followed by the
caller). A refusing gate post (486) leaves the call with the agent, recorded.

Bad inputs tried here: a gate post that refuses every call; a resume with nothing on hold.
"""

from __future__ import annotations

from pathlib import Path

import labctl
import pytest

from console.callflow.events import CallStep, SeatRinging, StepChanged
from console.store import CallOutcome
from tests.e2e.helpers import at, running_console, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")


def _config(lab: labctl.Lab, tmp_path: Path, factory: pytest.TempPathFactory,
            gate_user: str) -> Path:
    return write_console_toml(
        tmp_path / "seat", lab.proxy_port,
        gate_uri=f"sip:{gate_user}@127.0.0.1:{lab.proxy_port}",
        rings=6, cadence=1.0,  # the agent answers well inside the limit
        hangup_timeout=3.0, transfer_timeout=8.0,
        prompt_cache=factory.getbasetemp() / "prompt-cache",
    )


def test_agent_holds_takes_back_then_transfers_to_the_gate_post(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _config(lab, tmp_path, tmp_path_factory, "200")
    caller = lab.start_caller("300")
    try:
        with running_console(config, MONDAY_10) as console:
            flow = console.headless.flow
            since = len(lab.gate.events)
            caller.dial(lab.uri("100"))
            ringing = console.wait_for(SeatRinging, timeout=15)
            cid = ringing.call_id
            assert flow.take_call(cid, "1024")
            console.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=cid, timeout=15)
            assert not flow.resume(cid)  # nothing on hold yet
            assert flow.hold(cid)
            console.wait_for(StepChanged, step=CallStep.HOLD, call_id=cid, timeout=5)
            assert flow.resume(cid)
            assert flow.transfer_to_gate_post(cid)
            lab.gate.wait_event("CALL_ESTABLISHED", timeout=20, since=since)
            record = console.sealed_call(timeout=20)
        assert record.outcome is CallOutcome.FORWARDED
        assert record.answered_by == "1024" and record.forward_result == "success"
        assert record.forwarded_to == f"sip:200@127.0.0.1:{lab.proxy_port}"
        action = record.action or ""
        assert "put on hold by 1024" in action and "taken back from hold by 1024" in action
        assert "transfer to the gate post by 1024: success" in action
    finally:
        caller.hangup_all()
        lab.gate.hangup_all()
        lab.stop_ua("300")


def test_refusing_gate_post_leaves_the_call_with_the_agent(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _config(lab, tmp_path, tmp_path_factory, "201")
    refusing = lab.start_gate("201", mode="refuse")
    caller = lab.start_caller("300")
    try:
        with running_console(config, MONDAY_10) as console:
            flow = console.headless.flow
            caller.dial(lab.uri("100"))
            cid = console.wait_for(SeatRinging, timeout=15).call_id
            assert flow.take_call(cid, "1024")
            console.wait_for(StepChanged, step=CallStep.CONVERSATION, call_id=cid, timeout=15)
            assert not flow.transfer_to_gate_post(cid)
            # Back in the conversation with the agent; the caller still connected.
            wait_until("back to the conversation",
                       lambda: flow.active().get(cid) is CallStep.CONVERSATION, 10)
            assert flow.hang_up(cid)  # the agent ends it: survey (no digit), then our BYE
            record = console.sealed_call(timeout=30)
        assert record.answered_by == "1024"
        assert record.outcome is CallOutcome.ANSWERED
        assert record.forward_result is not None and record.forward_result != "success"
        action = record.action or ""
        assert "transfer to the gate post by 1024" in action and "hung up by 1024" in action
        assert record.end_reason == "local_hangup"
    finally:
        caller.hangup_all()
        refusing.hangup_all()
        lab.stop_ua("300")
        lab.stop_ua("201")
