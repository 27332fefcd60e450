"""Callbacks (回访) through the real lab: the console's line dials the follow-up's number via
Kamailio to a SIPp callee registered as that number.

The seat's dialler over the parts `duty-console run` assembles (the headless line's own is
unattended and never dials; `console.ui.assemble` hands the seat `for_seat()`, as here).
The follow-up's call is an incoming call from 300 in the record; SIPp registers its port as
300 at Kamailio (`lab.register_contact`) and plays the callee:

- answers: the INVITE for 300 reaches it through the proxy, the console ACKs through the
  route set, the line streams RTP to the callee's SDP address, the agent hangs up (BYE
  through the proxy, SIPp answers 200); the callback is recorded reached, sealed, linked,
  its conversation in a stereo WAV, and the follow-up closed; verify sound;
- busy (486) / unavailable (480) / ringing past the ring time (our CANCEL, 487): recorded
  busy / no answer / no answer, the follow-up stays open;
- a number the PBX refuses (no contact: Kamailio 404): recorded failed, stays open;
- the duty record locked (SQLite, another process) while the callback is up: nothing lost.

Bounded: SIPp's -timeout (30 s), the dialler's ring time (10 s; 3 s where it is let run
out); the lab stops what it started.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import wave
from datetime import timedelta
from pathlib import Path

import labctl
import pytest

from console.callflow.callback import CallbackDialer, CallbackProgress, CallbackResult
from console.store import AgentRole, CallOutcome, FollowUpStatus
from tests.e2e.helpers import E2E_SIPP, at, running_console, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")


def _config(lab: labctl.Lab, tmp_path: Path, factory: pytest.TempPathFactory,
            recording: bool = False) -> Path:
    return write_console_toml(tmp_path / "seat", lab.proxy_port, recording=recording,
                              prompt_cache=factory.getbasetemp() / "prompt-cache")


def _follow_up(store, seat: str, number: str) -> str:  # type: ignore[no-untyped-def]
    if not any(a.agent_id == "1024" for a in store.agents()):
        store.create_agent("1024", "张三", AgentRole.AGENT, "pw-1024")
    call = store.open_call("hotline", MONDAY_10 - timedelta(hours=1), caller_number=number,
                           sip_call_id=f"in-{number}", seat=seat)
    store.seal_call(call, CallOutcome.ANSWERED, ended_at=MONDAY_10 - timedelta(minutes=50))
    assert store.settle(10)
    return str(store.add_follow_up("1024", "回电:3号楼漏水", MONDAY_10 + timedelta(hours=2),
                                   call_key=call).key)


def _dialler(console) -> CallbackDialer:  # type: ignore[no-untyped-def]
    dialler: CallbackDialer = console.headless.parts["callbacks"]
    seat = dialler.for_seat()
    seat.ring_seconds = 10.0
    return seat


def test_a_callback_reaches_the_sipp_callee_through_kamailio_and_closes_the_follow_up(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _config(lab, tmp_path, tmp_path_factory, recording=True)
    callee = lab.sipp_start(E2E_SIPP / "uas_callback_answer.xml", service="300", timeout=30)
    try:
        assert lab.register_contact("300", callee.sip_port) == 200
        with running_console(config, MONDAY_10) as console:
            store = console.headless.store
            seat_name = console.headless.parts["records"].seat
            fu = _follow_up(store, seat_name, "300")
            dialler = _dialler(console)
            stages: list[CallbackProgress] = []
            done: list[CallbackResult] = []
            worker = threading.Thread(
                target=lambda: done.append(dialler.place(fu, "1024", progress=stages.append)),
                name="callback")
            with lab.capture(ports=[callee.media_port]) as cap:
                worker.start()
                wait_until("the callee answered",
                           lambda: any(p.stage == "connected" for p in stages), 15)
                assert dialler.current is not None
                sip_call_id = dialler.current.call_id
                time.sleep(1.0)  # a second of the conversation: the line's RTP to the callee
                assert dialler.hang_up()  # the agent hangs up: BYE through the proxy
                worker.join(15)
            assert not worker.is_alive() and done
            assert store.settle(10)
            [cb] = store.callbacks_of(fu)
            follow_up = next(f for f in store.follow_ups(status=None) if f.key == fu)
            report = store.verify()
        result = callee.wait()
    finally:
        lab.register_contact("300", callee.sip_port, expires=0)
        callee.stop()
    assert result.ok, result.describe()
    assert "INVITE sip:300@" in result.messages  # the follow-up's number, through the proxy
    assert sip_call_id in result.messages and "BYE sip:300@" in result.messages
    assert done[0].outcome is CallOutcome.REACHED and done[0].closed
    assert [p.stage for p in stages] == ["dialling", "connected", "ended"]
    assert cb.key == done[0].key and cb.follow_up_key == fu and cb.number == "300"
    assert cb.outcome is CallOutcome.REACHED and cb.sip_call_id == sip_call_id
    assert cb.answered_at is not None and cb.end_reason == "local_hangup"
    assert cb.sealed_at is not None and cb.seq is not None and cb.row_hash  # chained, sealed
    assert cb.placed_by == "1024" and cb.seat == seat_name
    assert follow_up.status is FollowUpStatus.DONE and cb.key in (follow_up.closing_note or "")
    assert report.ok, report.problem
    # Media: the line streamed G.711 to the address and port of the callee's SDP answer
    # (silence: no headset on this machine, the seat's would carry the agent's voice).
    sent = [p for p in cap.rtp() if p.dst[1] == callee.media_port and p.payload_type == 0]
    assert len(sent) >= 25, f"{len(sent)} RTP packets to the callee in a second"
    # Recorded as an incoming call is (recording on): stereo WAV, the conversation's length.
    assert cb.recording is not None and cb.recording.endswith("-callback.wav")
    with wave.open(cb.recording) as wav:
        assert wav.getnchannels() == 2 and wav.getnframes() >= 0.8 * 8000


def test_database_locked_during_a_callback_loses_nothing(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The duty record goes away (SQLite locked by another process) as the callback is
    placed: the call goes on, its writes wait in the outbox, and all of them land once the
    lock goes — reached, sealed, linked, the follow-up closed, verify sound."""
    config = _config(lab, tmp_path, tmp_path_factory)
    callee = lab.sipp_start(E2E_SIPP / "uas_callback_answer.xml", service="300", timeout=30)
    blocker = sqlite3.connect(tmp_path / "seat" / "duty.db", isolation_level=None,
                              check_same_thread=False)
    try:
        assert lab.register_contact("300", callee.sip_port) == 200
        with running_console(config, MONDAY_10) as console:
            store = console.headless.store
            fu = _follow_up(store, console.headless.parts["records"].seat, "300")
            dialler = _dialler(console)
            stages: list[str] = []
            done: list[CallbackResult] = []

            def progress(p: CallbackProgress) -> None:
                if p.stage == "dialling":
                    blocker.execute("BEGIN EXCLUSIVE")  # the database away from here on
                stages.append(p.stage)

            worker = threading.Thread(
                target=lambda: done.append(dialler.place(fu, "1024", progress=progress)),
                name="callback")
            worker.start()
            wait_until("the callee answered", lambda: "connected" in stages, 15)
            assert dialler.hang_up()
            worker.join(15)
            assert done and done[0].outcome is CallOutcome.REACHED and done[0].closed
            status = store.outbox_status
            held = status.pending if status is not None else 0
            blocker.execute("ROLLBACK")  # the database is back
            assert store.settle(20)
            [cb] = store.callbacks_of(fu)
            follow_up = next(f for f in store.follow_ups(status=None) if f.key == fu)
            report = store.verify()
        result = callee.wait()
    finally:
        blocker.close()
        lab.register_contact("300", callee.sip_port, expires=0)
        callee.stop()
    assert result.ok, result.describe()
    assert held >= 3  # the answer, the seal and the follow-up's close waited in the outbox
    assert cb.outcome is CallOutcome.REACHED and cb.answered_at is not None and cb.sealed_at
    assert follow_up.status is FollowUpStatus.DONE
    assert report.ok, report.problem


@pytest.mark.parametrize(
    ("scenario", "code", "reason", "outcome"),
    [("uas_callback_busy.xml", "486", "Busy Here", CallOutcome.BUSY),
     ("uas_callback_unavailable.xml", "480", "Temporarily Unavailable", CallOutcome.NO_ANSWER),
     # rings past the ring time: our CANCEL, its 487 (the callee's, relayed by Kamailio)
     ("uas_callback_ring.xml", "487", "Request Terminated", CallOutcome.NO_ANSWER)],
)
def test_a_callee_who_does_not_answer_is_recorded_and_the_follow_up_stays_open(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    scenario: str, code: str, reason: str, outcome: CallOutcome,
) -> None:
    config = _config(lab, tmp_path, tmp_path_factory)
    callee = lab.sipp_start(E2E_SIPP / scenario, service="300", timeout=30)
    try:
        assert lab.register_contact("300", callee.sip_port) == 200
        with running_console(config, MONDAY_10) as console:
            store = console.headless.store
            fu = _follow_up(store, console.headless.parts["records"].seat, "300")
            dialler = _dialler(console)
            dialler.ring_seconds = 3.0
            placed = dialler.place(fu, "1024")
            assert store.settle(10)
            [cb] = store.callbacks_of(fu)
            still = next(f for f in store.follow_ups(status=None) if f.key == fu)
            report = store.verify()
        result = callee.wait()
    finally:
        lab.register_contact("300", callee.sip_port, expires=0)
        callee.stop()
    assert result.ok, result.describe()  # SIPp got the INVITE for 300 and our ACK
    assert "INVITE sip:300@" in result.messages
    assert placed.outcome is outcome and not placed.closed
    assert placed.detail == f"{code} {reason}"
    assert cb.outcome is outcome and cb.answered_at is None and cb.sealed_at is not None
    assert still.status is FollowUpStatus.OPEN
    assert report.ok, report.problem


def test_a_number_the_pbx_refuses_is_recorded_failed(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _config(lab, tmp_path, tmp_path_factory)
    with running_console(config, MONDAY_10) as console:
        store = console.headless.store
        fu = _follow_up(store, console.headless.parts["records"].seat, "399")  # no contact
        placed = _dialler(console).place(fu, "1024")
        assert store.settle(10)
        [cb] = store.callbacks_of(fu)
        still = next(f for f in store.follow_ups(status=None) if f.key == fu)
    assert placed.outcome is CallOutcome.FAILED and placed.detail == "404 Not Found"
    assert cb.outcome is CallOutcome.FAILED and still.status is FollowUpStatus.OPEN
