# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""The line on a real network, over a fake transport (issue 15).

Media networks that default to where an office PBX's media is (registrar + trusted sources,
not 127.0.0.0/8), the decision to send at once or latch, the bound on waiting for the first
packet, the Via `received`/`rport` of our responses (RFC 3261 §18.2.1, RFC 3581 §4), what
the registrar tells us it saw, and a clear error when the advertised address is not ours.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from sip.api import (
    CallAnswered,
    CallEnded,
    CallRinging,
    EndReason,
    LineConfig,
    LineConfigError,
    RequestRefused,
    RtpLatching,
)
from sip.line import DutyLine, check_local_address
from sip.message import SipMessage, parse_message, parse_via
from sip.pyvoip_client import stamp_via
from sip.timers import ManualScheduler
from sip.transport import UdpTransport
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config, invite, response_to

PBX = ("10.77.0.2", 5060)
"""The office PBX (registrar and proxy) in these tests: nothing is sent anywhere."""


def sdp(host: str, port: int = 40000) -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class Registrar:
    """Answers REGISTER 200 at once, stamping our Via as a registrar behind a NAT would."""

    def __init__(self, transport: FakeTransport, seen_as: tuple[str, int] | None) -> None:
        self.seen_as = seen_as
        original = transport.send

        def send(data: bytes, addr: tuple[str, int]) -> None:
            original(data, addr)
            msg = transport.sent[-1][0]
            if msg.is_request and msg.method == "REGISTER":
                transport.inject(self.answer(msg), PBX)

        transport.send = send  # type: ignore[method-assign]

    def answer(self, msg: SipMessage) -> str:
        text = response_to(msg, 200, "OK", (f"Expires: {msg.header('Expires')}",), "r1")
        if self.seen_as is not None:
            host, port = self.seen_as
            text = text.replace(";rport", f";rport={port};received={host}", 1)
        return text


@pytest.fixture
def rig(request: pytest.FixtureRequest) -> Iterator[tuple[Any, ...]]:
    overrides: dict[str, object] = getattr(request, "param", {})
    transport = FakeTransport()
    sched = ManualScheduler()
    media = FakeMedia()
    events = Events()
    Registrar(transport, overrides.pop("seen_as", None))  # type: ignore[arg-type]
    settings: dict[str, object] = {"registrar_host": PBX[0], "local_host": "10.77.0.1",
                                   "trusted_sources": ("10.77.0.0/24",)}
    settings.update(overrides)
    line = DutyLine(config(**settings), events, sched.clock, transport=transport,
                    scheduler=sched, media=media)
    line.start(timeout=0)
    yield line, transport, sched, media, events
    line.stop()


def ring_from(transport: FakeTransport, events: Events, host: str, call_id: str = "c1",
              count: int = 1) -> Any:
    transport.take()
    transport.inject(invite(call_id, sdp=sdp(host)), PBX)
    return events.wait_for(CallRinging, count)[-1].call


# ------------------------------------------------------------------ media networks


def test_default_media_networks_are_the_registrar_and_the_trusted_sources() -> None:
    cfg = config(registrar_host="10.77.0.2", trusted_sources=("10.77.0.0/24", "192.168.5.7"))
    assert cfg.effective_media_networks() == ("10.77.0.2/32", "10.77.0.0/24", "192.168.5.7")
    assert config().effective_media_networks() == ("127.0.0.1/32",)
    assert config(media_networks=("172.16.0.0/12",)).effective_media_networks() == (
        "172.16.0.0/12",)
    v6 = config(registrar_host="fd00::2", local_host="fd00::1")
    assert v6.effective_media_networks() == ("fd00::2/128",)


def test_an_office_pbx_call_is_answered_not_refused_with_488(rig: tuple[Any, ...]) -> None:
    """Issue 15: with c=10.77.0.3 the line said 488 'media address outside the allowed
    networks' 2 ms after the INVITE, because the allow-list was fixed to loopback."""
    line, transport, _sched, media, events = rig
    call = ring_from(transport, events, "10.77.0.3")
    assert not events.of(RequestRefused)
    call.answer()
    events.wait_for(CallAnswered)
    assert media.sessions[0].started[0][0] == ("10.77.0.3", 40000)


def test_an_sdp_outside_every_media_network_gets_488(rig: tuple[Any, ...]) -> None:
    line, transport, _sched, media, events = rig
    transport.take()
    transport.inject(invite("c9", sdp=sdp("192.168.1.20")), PBX)
    refused = events.wait_for(RequestRefused)[0]
    assert (refused.code, refused.reason) == (488, "media address outside the allowed networks")
    assert [m.status_code for m, _ in transport.sent if not m.is_request][-1] == 488
    assert media.sessions == []


# ------------------------------------------------------------------ send at once, or latch


@pytest.mark.parametrize(("rig", "sdp_host", "latch"), [
    ({}, "10.77.0.2", False),  # the PBX anchors media on itself: its own address
    ({}, "10.77.0.3", True),  # a phone (direct media) or a third host: wait for its RTP
    ({"media_peers": ("10.77.0.3",)}, "10.77.0.3", False),  # a configured media server
    ({"media_peers": ("10.77.0.128/25",)}, "10.77.0.3", True),
    ({"rtp_latching": RtpLatching.ALWAYS}, "10.77.0.2", True),
], indirect=["rig"])
def test_rtp_goes_to_the_sdp_only_when_it_is_trusted(rig: tuple[Any, ...], sdp_host: str,
                                                     latch: bool) -> None:
    line, transport, _sched, media, events = rig
    call = ring_from(transport, events, sdp_host)
    call.answer()
    events.wait_for(CallAnswered)
    assert media.sessions[0].latching == [latch]


def test_the_signalling_peer_itself_is_trusted(rig: tuple[Any, ...]) -> None:
    """A trusted source sending its INVITE straight to us (not via the registrar)."""
    line, transport, _sched, media, events = rig
    transport.take()
    transport.inject(invite("c2", sdp=sdp("10.77.0.40")), ("10.77.0.40", 5060))
    call = events.wait_for(CallRinging)[0].call
    call.answer()
    events.wait_for(CallAnswered)
    assert media.sessions[0].latching == [False]


def test_a_caller_that_never_sends_rtp_to_latch_onto_is_hung_up_in_bound(
        rig: tuple[Any, ...]) -> None:
    line, transport, sched, media, events = rig
    call = ring_from(transport, events, "10.77.0.3")
    media.sessions[0].latched = False
    call.answer()
    events.wait_for(CallAnswered)
    transport.take()
    sched.advance(9.9)
    assert not events.of(CallEnded)
    sched.advance(0.2)
    ended = events.wait_for(CallEnded)[0]
    assert ended.reason is EndReason.ERROR
    assert ended.detail == "no RTP to latch onto in 10 s (SDP address 10.77.0.3 not trusted)"
    assert [m.method for m, _ in transport.sent if m.is_request] == ["BYE"]


def test_a_latched_caller_is_not_hung_up(rig: tuple[Any, ...]) -> None:
    line, transport, sched, media, events = rig
    call = ring_from(transport, events, "10.77.0.3")
    call.answer()  # the fake session says latched
    events.wait_for(CallAnswered)
    sched.advance(11)
    assert not events.of(CallEnded)


def test_a_reinvite_to_an_untrusted_address_latches_again(rig: tuple[Any, ...]) -> None:
    line, transport, _sched, media, events = rig
    call = ring_from(transport, events, "10.77.0.2")
    call.answer()
    events.wait_for(CallAnswered)
    ack = invite("c1", to_tag=call.dialog.local_tag).replace("INVITE sip:", "ACK sip:", 1)
    transport.inject(ack.replace("CSeq: 1 INVITE", "CSeq: 1 ACK"), PBX)
    reinvite = invite("c1", cseq=2, to_tag=call.dialog.local_tag, branch="z9hG4bKre",
                      sdp=sdp("10.77.0.3", 41000))
    transport.inject(reinvite, PBX)
    assert media.sessions[0].retargets == [("10.77.0.3", 41000)]
    assert media.sessions[0].latching == [False, True]


# ------------------------------------------------------------------ Via received / rport


@pytest.mark.parametrize(("via", "source", "stamped"), [
    ("SIP/2.0/UDP 10.77.0.2:5060;branch=z9hG4bKx;rport", ("10.77.0.2", 5060),
     "SIP/2.0/UDP 10.77.0.2:5060;branch=z9hG4bKx;rport=5060;received=10.77.0.2"),
    ("SIP/2.0/UDP 192.168.1.9:5060;rport;branch=z9hG4bKx", ("203.0.113.5", 40123),
     "SIP/2.0/UDP 192.168.1.9:5060;rport=40123;branch=z9hG4bKx;received=203.0.113.5"),
    ("SIP/2.0/UDP pbx.example:5060;branch=z9hG4bKx", ("10.77.0.2", 5060),
     "SIP/2.0/UDP pbx.example:5060;branch=z9hG4bKx;received=10.77.0.2"),
    ("SIP/2.0/UDP 10.77.0.2:5060;branch=z9hG4bKx", ("10.77.0.2", 5070),
     "SIP/2.0/UDP 10.77.0.2:5060;branch=z9hG4bKx"),  # same host, no rport: as received
    ("SIP/2.0/UDP [fd00::2]:5060;branch=z9hG4bKx;rport", ("fd00::2", 5060),
     "SIP/2.0/UDP [fd00::2]:5060;branch=z9hG4bKx;rport=5060;received=fd00::2"),
    ("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;received=1.2.3.4", ("10.77.0.2", 5060),
     "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx;received=10.77.0.2"),
])
def test_response_via_says_where_the_request_came_from(via: str, source: tuple[str, int],
                                                       stamped: str) -> None:
    assert stamp_via(parse_via(via), source) == stamped


def test_responses_on_the_wire_carry_received_and_rport(rig: tuple[Any, ...]) -> None:
    line, transport, _sched, _media, events = rig
    transport.take()
    text = invite("c3", sdp=sdp("10.77.0.2")).replace(";branch=z9hG4bKa1",
                                                      ";branch=z9hG4bKa1;rport", 1)
    transport.inject(text, ("10.77.0.2", 5999))
    events.wait_for(CallRinging)
    codes = [(m.status_code, m.vias[0].raw, addr) for m, addr in transport.sent]
    assert codes[0] == (100, "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa1;rport=5999;"
                             "received=10.77.0.2", ("10.77.0.2", 5999))
    assert [c[0] for c in codes] == [100, 180]
    assert codes[1][1] == codes[0][1]


@pytest.mark.parametrize("rig", [{"seen_as": ("203.0.113.5", 40123)}], indirect=True)
def test_the_line_learns_where_the_registrar_saw_it(rig: tuple[Any, ...],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    line = rig[0]
    assert line.observed_address == ("203.0.113.5", 40123)
    logged = [r.getMessage() for r in caplog.get_records("setup")]  # logged as it registered
    assert any(m.startswith("the registrar sees this line at 203.0.113.5:40123, but it "
                            "advertises 10.77.0.1:5099") for m in logged)


def test_a_registrar_that_says_nothing_leaves_it_unknown(rig: tuple[Any, ...]) -> None:
    assert rig[0].observed_address is None


# ------------------------------------------------------------------ addresses


def test_an_advertised_address_this_host_lacks_stops_the_start_with_one_clear_line() -> None:
    with pytest.raises(LineConfigError) as caught:
        check_local_address("192.0.2.1")
    assert str(caught.value).startswith("local_address 192.0.2.1 is not an address of this host")
    line = DutyLine(config(local_host="192.0.2.1"), Events())
    with pytest.raises(LineConfigError, match="not an address of this host"):
        line.start(timeout=0.1)
    assert line.transport is None  # nothing bound, no thread started


def test_a_sip_port_in_use_is_a_clear_error() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        with pytest.raises(LineConfigError) as caught:
            UdpTransport("127.0.0.1", port)
        assert str(caught.value) == (f"cannot listen for SIP on udp 127.0.0.1:{port}: "
                                     "Address already in use")
    finally:
        holder.close()


def test_bind_on_every_address_advertise_one() -> None:
    cfg = config(local_host="127.0.0.1", bind_host="0.0.0.0")
    cfg.validate()
    assert cfg.bind_address == "0.0.0.0"
    assert config().bind_address == "127.0.0.1"
    transport = UdpTransport(cfg.bind_address, 0)
    try:
        assert transport.local_port > 0
    finally:
        transport.close()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"local_host": "0.0.0.0"}, "local_host: 0.0.0.0 cannot be advertised"),
    ({"bind_host": "::"}, "bind_host: :: is IPv6 but local_host 127.0.0.1 is IPv4"),
    ({"bind_host": "pbx"}, "bind_host: 'pbx' is not an IP address"),
    ({"media_networks": ("10.0.0.0/33",)}, "network '10.0.0.0/33' is not an address or CIDR"),
    ({"media_peers": ("x",)}, "network 'x' is not an address or CIDR"),
    ({"rtp_latching": "sometimes"}, "rtp_latching: 'sometimes' is not one of"),
    ({"latch_timeout_seconds": 0.5}, "latch_timeout_seconds: 0.5 must be 1-120 seconds"),
])
def test_bad_network_settings_name_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(LineConfigError) as caught:
        LineConfig(registrar_host="127.0.0.1", registrar_port=5060, extension="100",
                   **overrides).validate()  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_parse_keeps_the_source_for_nobody_but_the_receiver() -> None:
    msg = parse_message(invite("c4").encode())
    assert msg.source is None  # only the line's receiver sets it, from recvfrom


def test_a_line_that_never_registered_does_not_wait_for_an_unregister() -> None:
    """stop() waited 2 s for the answer to an un-REGISTER it had not sent (the check command
    with nothing at the registrar took 2 s longer than its own bound)."""
    transport = FakeTransport()  # nobody answers the REGISTER
    line = DutyLine(config(), Events(), transport=transport, scheduler=ManualScheduler(),
                    media=FakeMedia())
    line.start(timeout=0)
    registration = line.registration
    assert registration is not None and not registration.unregistered.is_set()
    transport.take()
    line.stop()
    assert registration.unregistered.is_set()
    assert not [m for m, _ in transport.sent if m.is_request and m.method == "REGISTER"]


def test_a_probe_before_the_line_started_is_a_clear_sip_error() -> None:
    """The seat's gate-post watcher died with AttributeError ('DutyLine' object has no
    attribute 'client') when it probed before the line had started."""
    from sip.api import CallStateError

    line = DutyLine(config(), Events(), transport=FakeTransport(), scheduler=ManualScheduler(),
                    media=FakeMedia())
    with pytest.raises(CallStateError, match="the line is not started"):
        line.probe("sip:200@127.0.0.1")


def test_the_granted_expiry_is_read_from_our_own_binding() -> None:
    """A registrar's 200 lists every binding of the AOR. The line took the first Contact whose
    text merely contained its port (15099 contains 5099) and so refreshed on another seat's
    expiry: a line granted 10 s waited 45 s (seen in the suite's shared lab)."""
    transport = FakeTransport()
    sched = ManualScheduler()
    line = DutyLine(config(register_expires=10), Events(), sched.clock, transport=transport,
                    scheduler=sched, media=FakeMedia())
    line.start(timeout=0)
    reg = transport.take()[0][0]
    others = ('Contact: <sip:100@127.0.0.1:15099>;expires=3600, "x, y" <sip:100@10.0.0.9:5099>'
              ';expires=120, <sip:100@127.0.0.1:5099>;expires=10;+sip.instance="<urn:a>"')
    transport.inject(response_to(reg, 200, "OK", (others, "Expires: 3600"), "r1"))
    assert line.registration is not None and line.registration.granted == 10
    transport.take()
    sched.advance(8.1)  # 0.8 × 10 s: the refresh is due
    assert [m.method for m, _ in transport.sent if m.is_request] == ["REGISTER"]
    line.stop()


def test_the_line_marks_a_refusal_of_an_untrusted_source(rig: tuple[Any, ...]) -> None:
    line, transport, _sched, _media, events = rig
    transport.inject(invite("scan2", sdp=sdp("10.77.0.3")), ("198.51.100.7", 5060))
    refused = events.wait_for(RequestRefused)[0]
    assert (refused.code, refused.trusted_source) == (403, False)
    transport.inject(invite("c7", sdp=sdp("192.168.1.20")), PBX)
    assert events.wait_for(RequestRefused, 2)[1].trusted_source is True
