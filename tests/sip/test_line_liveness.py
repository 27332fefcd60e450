# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""The duty line's media watchdog, its audio accessors and `prepare`, over fakes and a manual clock.

A caller that vanishes without BYE must not keep the seat answered forever; the agent's headset
reads and writes the call's audio through the `Call` protocol; prompts are encoded up front.
"""

from __future__ import annotations

import pytest

from sip.api import (
    CallEnded,
    CallState,
    CallStateError,
    EndReason,
    LineConfigError,
    MediaError,
    Prompt,
)
from sip.line import DutyLine
from sip.timers import ManualScheduler
from tests.sip.fakes import SDP, Events, FakeMedia, FakeTransport, config, request
from tests.sip.test_line import FakeRegistrar, answered


def make_rig(**overrides: object):
    transport = FakeTransport()
    sched = ManualScheduler()
    media = FakeMedia()
    events = Events()
    registrar = FakeRegistrar(transport)
    line = DutyLine(config(**overrides), events, sched.clock, transport=transport,
                    scheduler=sched, media=media)
    line.start(timeout=0)
    return line, transport, sched, media, events, registrar


@pytest.fixture
def rig():
    parts = make_rig(media_timeout_seconds=30.0)
    yield parts
    parts[0].stop()


def bye_sent(transport: FakeTransport) -> bool:
    return any(m.is_request and m.method == "BYE" for m, _ in transport.sent)


def test_silent_caller_is_hung_up_after_the_media_timeout(rig):
    line, transport, sched, media, events, _r = rig
    call, _tag = answered(rig)
    session = media.sessions[0]
    session.last_activity = sched.clock()  # the stream started at the ACK
    transport.take()
    sched.advance(29.0)
    assert call.state is CallState.ANSWERED and not bye_sent(transport)
    sched.advance(1.5)
    assert bye_sent(transport), "BYE to the vanished caller"
    ended = events.wait_for(CallEnded)[0]
    assert ended.reason is EndReason.ERROR
    assert ended.detail == "no RTP for 30 s"
    assert call.state is CallState.ENDED and session.closed
    assert "media-watchdog c1" not in sched.pending()


def test_packets_keep_the_call_up_and_the_clock_restarts_at_the_last_one(rig):
    line, transport, sched, media, events, _r = rig
    call, _tag = answered(rig)
    session = media.sessions[0]
    for _ in range(6):  # three minutes of a caller who keeps talking
        sched.advance(29.0)
        session.last_activity = sched.clock()
    assert call.state is CallState.ANSWERED and not bye_sent(transport)
    sched.advance(29.9)
    assert call.state is CallState.ANSWERED
    sched.advance(0.6)
    assert events.wait_for(CallEnded)[0].detail == "no RTP for 30 s"


def test_watchdog_disarmed_by_a_normal_hang_up(rig):
    line, transport, sched, media, events, _r = rig
    call, tag = answered(rig)
    media.sessions[0].last_activity = sched.clock()
    transport.inject(request("BYE", "c1", tag, cseq=2))
    assert events.wait_for(CallEnded)[0].reason is EndReason.REMOTE_BYE
    assert not any(name.startswith("media-watchdog") for name in sched.pending())


def test_zero_disables_the_watchdog():
    parts = make_rig(media_timeout_seconds=0)
    line, transport, sched, media, events, _r = parts
    try:
        call, _tag = answered(parts)
        media.sessions[0].last_activity = sched.clock()
        sched.advance(600)
        assert call.state is CallState.ANSWERED
    finally:
        line.stop()


@pytest.mark.parametrize("bad", [-1, 0.5, float("nan"), float("inf"), "30", True, None])
def test_bad_media_timeout_is_a_clear_config_error(bad: object) -> None:
    with pytest.raises(LineConfigError, match="media_timeout_seconds"):
        config(media_timeout_seconds=bad).validate()


def test_audio_accessors_follow_the_call_state(rig):
    line, transport, sched, media, events, _r = rig
    from tests.sip.test_line import ring

    call = ring(transport, events)
    assert call.read_audio(5) == b""  # ringing: nothing yet, no error
    call.write_audio(b"\0" * 320)  # ringing: ignored
    assert media.sessions[0].written == []
    call.answer()
    session = media.sessions[0]
    session.inbound = [b"\1\0" * 160, b"\2\0" * 160, b"\3\0" * 160]
    assert call.read_audio(2) == b"\1\0" * 160 + b"\2\0" * 160
    assert call.read_audio(0) == b""
    call.write_audio(bytearray(b"\5\0" * 160))
    assert session.written == [b"\5\0" * 160]
    for bad in (-1, 1.5, "2", None):
        with pytest.raises(CallStateError, match="max_frames"):
            call.read_audio(bad)  # type: ignore[arg-type]
    with pytest.raises(CallStateError, match="bytes"):
        call.write_audio("not pcm")  # type: ignore[arg-type]
    assert session.inbound == [b"\3\0" * 160], "a bad read took nothing"
    call.hangup()
    with pytest.raises(CallStateError, match="ended"):
        call.read_audio(1)
    with pytest.raises(CallStateError, match="ended"):
        call.write_audio(b"\0\0")


def test_prepare_before_and_after_start():
    transport = FakeTransport()
    sched = ManualScheduler()
    media = FakeMedia()
    FakeRegistrar(transport)
    line = DutyLine(config(), Events(), sched.clock, transport=transport, scheduler=sched,
                    media=media)
    greeting, survey = Prompt("greeting", b"\0" * 3200), Prompt("survey", b"\0" * 320)
    line.prepare([greeting])
    assert media.prepared == [], "nothing to encode with before start"
    line.start(timeout=0)
    try:
        assert media.prepared == ["greeting"]
        line.prepare((survey,))
        assert media.prepared == ["greeting", "survey"]
        with pytest.raises(MediaError, match="Prompts"):
            line.prepare([survey, b"raw bytes"])  # type: ignore[list-item]
        assert media.prepared == ["greeting", "survey"], "a bad list encodes nothing"
    finally:
        line.stop()


@pytest.mark.parametrize("direction", ["a=inactive", "a=recvonly"])
def test_caller_on_hold_is_not_hung_up_and_watched_again_after(rig, direction: str):
    line, transport, sched, media, events, _r = rig
    call, tag = answered(rig)
    media.sessions[0].last_activity = sched.clock()
    held = SDP.replace("a=rtpmap:101 telephone-event/8000\r\n",
                       f"a=rtpmap:101 telephone-event/8000\r\n{direction}\r\n")
    transport.inject(request("INVITE", "c1", tag, cseq=2, body=held,
                             content_type="application/sdp"))
    assert call.caller_silent
    sched.advance(120)
    assert call.state is CallState.ANSWERED, "hold is not a vanished caller"
    transport.inject(request("ACK", "c1", tag, cseq=2))
    transport.inject(request("INVITE", "c1", tag, cseq=3, body=SDP,
                             content_type="application/sdp", branch="z9hG4bKr3"))
    assert not call.caller_silent
    sched.advance(31)
    assert events.wait_for(CallEnded)[0].detail == "no RTP for 30 s"
