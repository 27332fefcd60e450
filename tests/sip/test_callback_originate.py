# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""The line's outgoing call (RFC 3261 UAC, `sip.originate`) over a fake transport and a manual
clock: the INVITE and its retransmissions, ACK of a 2xx through the route set and of a
non-2xx in the transaction, CANCEL after the ring time, BYE both ways, digest on a 407.

Bad inputs tried: an unregistered line (refused, nothing sent), numbers that would inject
URI parts or headers, a 486, a callee that never answers (CANCEL, then 487 ACKed), a 2xx
crossing our CANCEL (ACK then BYE), retransmitted finals (ACKed again), a proxy that never
answers (timer B), a callee BYE, a line that stops with the call up.
"""

from __future__ import annotations

import pytest

from sip.api import CallState, DialError, EndReason, LineStatus
from sip.line import DutyLine
from sip.message import SipMessage
from sip.timers import ManualScheduler
from tests.sip.fakes import REGISTRAR, Events, FakeMedia, FakeTransport, config, response_to
from tests.sip.test_line import FakeRegistrar

ANSWER_SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
              "m=audio 41000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
              "a=rtpmap:101 telephone-event/8000\r\n")


@pytest.fixture
def rig():
    transport = FakeTransport()
    sched = ManualScheduler()
    media = FakeMedia()
    events = Events()
    FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=media)
    line.start(timeout=0)
    transport.take()
    yield line, transport, sched, media, events
    line.stop()


def sent(transport: FakeTransport, method: str) -> list[SipMessage]:
    return [m for m, _ in transport.sent if m.is_request and m.method == method]


def answer_2xx(invite: SipMessage) -> str:
    text = response_to(invite, 200, "OK", (
        "Record-Route: <sip:127.0.0.1;lr>", "Contact: <sip:300@127.0.0.1:5070>",
        "Content-Type: application/sdp"), to_tag="callee1")
    return text.replace("Content-Length: 0\r\n\r\n",
                        f"Content-Length: {len(ANSWER_SDP)}\r\n\r\n{ANSWER_SDP}")


def test_answered_call_is_acked_through_the_route_set_and_hung_up_with_bye(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300", ring_seconds=20)
    [invite] = sent(transport, "INVITE")
    assert invite.request_uri == "sip:300@127.0.0.1:5060"
    assert invite.to_addr.user == "300" and invite.from_addr.tag and not invite.to_addr.tag
    assert invite.content_type == "application/sdp" and b"m=audio" in invite.body_raw
    sched.advance(0.6)  # timer A: the INVITE again at T1 until an answer
    assert len(sent(transport, "INVITE")) == 2
    transport.inject(response_to(invite, 180, "Ringing", to_tag="callee1"))
    sched.advance(5)
    assert len(sent(transport, "INVITE")) == 2  # a provisional answer stops timer A
    transport.inject(answer_2xx(invite))
    result = call.wait_final(0)
    assert result is not None and result.answered and call.state is CallState.ANSWERED
    [ack] = sent(transport, "ACK")
    assert ack.request_uri == "sip:300@127.0.0.1:5070"  # the 2xx's Contact (§12.1.2)
    assert ack.header("Route") == "<sip:127.0.0.1;lr>" and ack.cseq == invite.cseq
    assert ack.vias[0].raw != invite.vias[0].raw  # a transaction of its own (§13.2.2.4)
    session = media.sessions[-1]
    assert session.started[0][0] == ("127.0.0.1", 41000)
    transport.inject(answer_2xx(invite))  # the 2xx again: our ACK was lost
    assert len(sent(transport, "ACK")) == 2
    call.hangup()
    [bye] = sent(transport, "BYE")
    assert bye.call_id == invite.call_id and bye.to_addr.tag == "callee1"
    assert bye.header("Route") == "<sip:127.0.0.1;lr>"
    assert call.state is CallState.ENDED and call.ended_by is EndReason.LOCAL_HANGUP
    assert session.closed


def test_the_callee_hangs_up(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300")
    [invite] = sent(transport, "INVITE")
    transport.inject(answer_2xx(invite))
    transport.take()
    bye = (f"BYE sip:100@127.0.0.1:5099 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9b\r\n"
           f"From: <sip:300@127.0.0.1>;tag=callee1\r\nTo: {invite.header('From')}\r\n"
           f"Call-ID: {invite.call_id}\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n")
    transport.inject(bye)
    assert transport.codes() == [200]
    assert call.wait_ended(0) and call.ended_by is EndReason.REMOTE_BYE


def in_dialog_from_callee(invite: SipMessage, method: str, cseq: int, body: str = "") -> str:
    lines = [f"{method} sip:100@127.0.0.1:5099 SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-{method}-{cseq}",
             "From: <sip:300@127.0.0.1>;tag=callee1", f"To: {invite.header('From')}",
             f"Call-ID: {invite.call_id}", f"CSeq: {cseq} {method}",
             "Contact: <sip:300@127.0.0.1:5070>"]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def test_the_callees_reinvite_and_info_are_answered_in_the_dialog(rig):
    """A callee putting us on hold (re-INVITE) must not get 481: the console would record
    that as a refused, missed incoming call (RequestRefused) and the callee would hang up."""
    from sip.api import RequestRefused

    line, transport, sched, media, events = rig
    call = line.dial("300")
    [invite] = sent(transport, "INVITE")
    transport.inject(answer_2xx(invite))
    transport.take()
    held = ANSWER_SDP.replace("41000", "41002") + "a=sendonly\r\n"
    reinvite = in_dialog_from_callee(invite, "INVITE", 7, held)
    transport.inject(reinvite)
    [(ok, _)] = transport.take()
    assert ok.status_code == 200 and ok.content_type == "application/sdp"
    assert b"a=recvonly" in ok.body_raw  # we answer their sendonly (RFC 3264 §6.1)
    assert media.sessions[-1].retargets == [("127.0.0.1", 41002)]
    sched.advance(0.6)
    assert transport.codes() == [200]  # retransmitted until the ACK (§13.3.1.4)
    transport.inject(reinvite)  # the re-INVITE again: the same answer, no second retarget
    assert transport.codes() == [200, 200] and len(media.sessions[-1].retargets) == 1
    transport.inject(in_dialog_from_callee(invite, "ACK", 7))
    transport.take()
    sched.advance(5)
    assert transport.codes() == []  # ACKed: no more retransmissions
    transport.inject(in_dialog_from_callee(invite, "INFO", 8))
    assert transport.codes() == [200]
    assert events.of(RequestRefused) == []
    assert call.state is CallState.ANSWERED


def test_busy_is_acked_in_the_transaction_and_retransmissions_again(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300")
    [invite] = sent(transport, "INVITE")
    transport.inject(response_to(invite, 486, "Busy Here", to_tag="callee1"))
    result = call.wait_final(0)
    assert result is not None and (result.code, result.answered) == (486, False)
    [ack] = sent(transport, "ACK")
    assert ack.vias[0].raw == invite.vias[0].raw  # same branch (§17.1.1.3)
    assert ack.request_uri == invite.request_uri and ack.to_addr.tag == "callee1"
    transport.inject(response_to(invite, 486, "Busy Here", to_tag="callee1"))
    assert len(sent(transport, "ACK")) == 2
    assert call.state is CallState.ENDED and media.sessions[-1].closed
    sched.advance(40)
    assert line._outgoing == {}  # forgotten once retransmissions are over


def test_no_answer_in_the_ring_time_is_cancelled(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300", ring_seconds=10)
    [invite] = sent(transport, "INVITE")
    sched.advance(10.1)
    assert sent(transport, "CANCEL") == []  # no provisional answer yet: no CANCEL (§9.1)
    transport.inject(response_to(invite, 180, "Ringing", to_tag="callee1"))
    [cancel] = sent(transport, "CANCEL")
    assert cancel.vias[0].raw == invite.vias[0].raw and cancel.cseq == invite.cseq
    assert cancel.request_uri == invite.request_uri and not cancel.to_addr.tag
    transport.inject(response_to(cancel, 200, "OK", to_tag="callee1"))
    transport.inject(response_to(invite, 487, "Request Terminated", to_tag="callee1"))
    result = call.wait_final(0)
    assert result is not None and result.code == 487 and len(sent(transport, "ACK")) == 1


def test_an_answer_crossing_our_cancel_is_acked_then_byed(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300", ring_seconds=5)
    [invite] = sent(transport, "INVITE")
    transport.inject(response_to(invite, 180, "Ringing", to_tag="callee1"))
    sched.advance(5.1)
    assert len(sent(transport, "CANCEL")) == 1
    transport.inject(answer_2xx(invite))
    assert len(sent(transport, "ACK")) == 1 and len(sent(transport, "BYE")) == 1
    result = call.wait_final(0)
    assert result is not None and not result.answered and call.state is CallState.ENDED


def test_a_proxy_that_never_answers_gives_up_at_timer_b(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300")
    sched.advance(33)
    result = call.wait_final(0)
    assert result is not None and result.code == 0 and "32 s" in result.reason
    assert len(sent(transport, "INVITE")) == 7  # 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s


def test_an_answer_after_timer_b_is_acked_and_byed_not_taken(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300", ring_seconds=60)  # timer B (32 s) before the ring time
    [invite] = sent(transport, "INVITE")
    sched.advance(33)
    assert call.state is CallState.ENDED
    transport.inject(answer_2xx(invite))  # far too late: the call was given up
    assert len(sent(transport, "ACK")) == 1 and len(sent(transport, "BYE")) == 1
    assert call.state is CallState.ENDED and call.wait_final(0).code == 0  # type: ignore[union-attr]


def test_a_407_is_answered_once_with_credentials(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300")
    [first] = sent(transport, "INVITE")
    transport.inject(response_to(first, 407, "Proxy Authentication Required", (
        'Proxy-Authenticate: Digest realm="lab", nonce="n9"',), to_tag="px"))
    invites = sent(transport, "INVITE")
    assert len(invites) == 2 and invites[1].cseq == first.cseq + 1
    assert 'uri="sip:300@127.0.0.1:5060"' in (invites[1].header("Proxy-Authorization") or "")
    assert invites[1].call_id == first.call_id and len(sent(transport, "ACK")) == 1
    transport.inject(answer_2xx(invites[1]))
    assert call.wait_final(0).answered  # type: ignore[union-attr]


def test_every_dial_has_its_own_call_id(rig):
    line, transport, sched, media, events = rig
    ids = {line.dial("300").call_id for _ in range(3)}
    assert len(ids) == 3 and len({m.call_id for m in sent(transport, "INVITE")}) == 3


@pytest.mark.parametrize("number", ["", "300@10.0.0.9", "300>;lr", "30 0", "300\r\nX: y", "abc"])
def test_a_number_that_is_no_number_is_refused_before_anything_is_sent(rig, number):
    line, transport, sched, media, events = rig
    with pytest.raises(DialError, match="is not a number the line can dial"):
        line.dial(number)
    assert transport.sent == []


def test_an_unregistered_line_never_dials():
    transport = FakeTransport()
    sched = ManualScheduler()
    FakeRegistrar(transport, up=False)
    line = DutyLine(config(), Events(), sched.clock, transport=transport, scheduler=sched,
                    media=FakeMedia())
    line.start(timeout=0)
    assert line.status is not LineStatus.REGISTERED
    transport.take()
    with pytest.raises(DialError, match="the line is not registered"):
        line.dial("300")
    assert sent(transport, "INVITE") == []
    line.stop()


def test_the_line_stopping_ends_an_answered_call_with_bye(rig):
    line, transport, sched, media, events = rig
    call = line.dial("300")
    [invite] = sent(transport, "INVITE")
    transport.inject(answer_2xx(invite))
    line.stop()
    assert len(sent(transport, "BYE")) == 1 and call.ended_by is EndReason.SHUTDOWN
    assert REGISTRAR == line.registrar
