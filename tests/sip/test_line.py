# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""Unit tests of the duty line's SIP logic over a fake transport, fake media and a manual clock."""

from __future__ import annotations

import hashlib

import pytest

from sip.api import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallState,
    CallStateError,
    DtmfReceived,
    EndReason,
    LineStatus,
    LineStatusChanged,
    RegistrationError,
    RequestRefused,
    TransferFinished,
    TransferOutcome,
)
from sip.line import DutyLine
from sip.message import SipMessage
from sip.pyvoip_client import parse_challenge
from sip.timers import ManualScheduler
from tests.sip.fakes import (
    Events,
    FakeMedia,
    FakeTransport,
    config,
    invite,
    request,
    response_to,
)


class FakeRegistrar:
    """Answers REGISTER like Kamailio with auth: 401 with a nonce, then checks the digest."""

    def __init__(self, transport: FakeTransport, password: str = "pw", qop: bool = True,
                 up: bool = True) -> None:
        self.transport = transport
        self.password = password
        self.qop = qop
        self.up = up
        self.seen: list[SipMessage] = []
        original = transport.send

        def send(data: bytes, addr: tuple[str, int]) -> None:
            original(data, addr)
            msg = transport.sent[-1][0]
            if msg.is_request and msg.method == "REGISTER" and self.up:
                self.seen.append(msg)
                transport.inject(self.answer(msg))

        transport.send = send  # type: ignore[method-assign]

    def answer(self, msg: SipMessage) -> str:
        auth = msg.header("Authorization")
        if auth is None:
            qop = ', qop="auth"' if self.qop else ""
            return response_to(msg, 401, "Unauthorized",
                               (f'WWW-Authenticate: Digest realm="lab", nonce="n1"{qop}',),
                               to_tag="r1")
        p = parse_challenge(auth)
        ha1 = hashlib.md5(f"100:lab:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{p['uri']}".encode()).hexdigest()
        if "qop" in p:
            text = f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}"
        else:
            text = f"{ha1}:{p['nonce']}:{ha2}"
        if hashlib.md5(text.encode()).hexdigest() != p["response"]:
            return response_to(msg, 401, "Unauthorized",
                               ('WWW-Authenticate: Digest realm="lab", nonce="n1"',), to_tag="r1")
        expires = msg.header("Expires")
        return response_to(msg, 200, "OK", (f"Expires: {expires}",), to_tag="r1")


@pytest.fixture
def rig():
    transport = FakeTransport()
    sched = ManualScheduler()
    media = FakeMedia()
    events = Events()
    registrar = FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=media)
    line.start(timeout=0)
    yield line, transport, sched, media, events, registrar
    line.stop()


def ring(transport: FakeTransport, events: Events, call_id: str = "c1", n: int = 1, **kw):
    transport.take()
    transport.inject(invite(call_id, **kw))
    return events.wait_for(CallRinging, n)[-1].call


# ------------------------------------------------------------------ 1. registration


def test_register_with_digest_qop_then_refresh_before_expiry(rig):
    line, transport, sched, _media, events, registrar = rig
    assert line.status is LineStatus.REGISTERED
    assert [m.header("Authorization") is not None for m in registrar.seen] == [False, True]
    assert "qop=auth" in (registrar.seen[1].header("Authorization") or "")
    statuses = [e.status for e in events.wait_for(LineStatusChanged, 2)]
    assert statuses[:2] == [LineStatus.REGISTERING, LineStatus.REGISTERED]
    sched.advance(45 + 0.1)
    assert len(registrar.seen) == 4  # refreshed at the 45 s cap, well before the 120 s expiry
    assert line.status is LineStatus.REGISTERED


def test_wrong_password_raises_clear_error():
    transport = FakeTransport()
    FakeRegistrar(transport, password="other")
    line = DutyLine(config(), Events(), transport=transport, scheduler=ManualScheduler(),
                    media=FakeMedia())
    with pytest.raises(RegistrationError, match="wrong password"):
        line.start(timeout=0)
    assert transport.closed


def test_registrar_down_retries_forever_and_recovers():
    transport = FakeTransport()
    sched = ManualScheduler()
    registrar = FakeRegistrar(transport, up=False)
    events = Events()
    line = DutyLine(config(retry_seconds=10.0), events, sched.clock, transport=transport,
                    scheduler=sched, media=FakeMedia())
    line.start(timeout=0)
    sched.advance(9)
    assert line.status is LineStatus.FAILED
    sent_before = len([m for m, _ in transport.sent if m.method == "REGISTER"])
    assert sent_before >= 4  # timer E retransmissions 0.5, 1, 2, 4
    for _ in range(20):  # 200 s of a dead registrar: still retrying
        sched.advance(10)
    assert line.status is LineStatus.FAILED
    registrar.up = True
    sched.advance(20)
    assert line.status is LineStatus.REGISTERED
    line.stop()
    unreg = [m for m, _ in transport.sent if m.method == "REGISTER"][-1]
    assert unreg.header("Expires") == "0"


def test_options_during_register_is_answered_and_register_unaffected():
    transport = FakeTransport()
    sched = ManualScheduler()
    line = DutyLine(config(), Events(), sched.clock, transport=transport, scheduler=sched,
                    media=FakeMedia())
    line.start(timeout=0)  # REGISTER out, no answer yet
    reg = transport.sent[0][0]
    transport.inject(request("OPTIONS", "opt1", ""))
    transport.inject(request("NOTIFY", "n1", "", extra=("Event: message-summary",)))
    assert transport.codes() == [200, 200]
    transport.inject(response_to(reg, 200, extra=("Expires: 120",), to_tag="x"))
    assert line.status is LineStatus.REGISTERED
    line.stop()


# ------------------------------------------------------------------ 2./3. ring and answer


def test_ringing_at_invite_with_trying_ringing_contact_and_record_route(rig):
    line, transport, sched, _m, events, _r = rig
    transport.take()
    transport.inject(invite("c1"))
    sent = transport.take()
    assert [m.status_code for m, _ in sent] == [100, 180]
    ringing, addr = sent[1]
    assert addr == ("127.0.0.1", 5060)  # the packet's source
    assert ringing.header("Contact") == "<sip:100@127.0.0.1:5099>"
    assert ringing.header_values("Record-Route") == ["<sip:127.0.0.1;lr>"]
    assert ringing.to_addr.tag
    call = events.wait_for(CallRinging)[0].call
    assert (call.caller_number, call.caller_name) == ("300", "sipp caller")
    sched.advance(2.5)
    assert call.ring_elapsed() == pytest.approx(2.5)


def test_answer_at_fires_at_that_moment_and_retransmits_until_ack(rig):
    line, transport, sched, media, events, _r = rig
    call = ring(transport, events)
    transport.take()
    call.answer(at=sched.now + 3.0)
    sched.advance(2.99)
    assert transport.codes() == []
    sched.advance(0.02)
    assert transport.codes() == [200]
    assert media.sessions[0].started == [(("127.0.0.1", 40000), media.sessions[0].started[0][1],
                                          101)]
    sched.advance(0.5 + 1.0 + 2.0 + 0.01)  # T1, 2T1, 4T1
    assert transport.codes() == [200, 200, 200, 200]
    ok = transport.sent[0][0]
    transport.inject(request("ACK", "c1", ok.to_addr.tag, cseq=1))
    transport.take()
    sched.advance(10)
    assert transport.codes() == []
    assert call.state is CallState.ANSWERED
    events.wait_for(CallAnswered)


def test_no_ack_ends_call_with_bye(rig):
    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events)
    call.answer()
    sched.advance(33)
    byes = [m for m, _ in transport.sent if m.is_request and m.method == "BYE"]
    assert len({b.cseq for b in byes}) == 1  # one BYE (retransmitted by timer E)
    assert events.wait_for(CallEnded)[0].reason is EndReason.NO_ACK


def test_answer_after_cancel_raises_and_487_sent(rig):
    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events)
    call.answer(at=sched.now + 5)
    transport.take()
    transport.inject(request("CANCEL", "c1", "", cseq=1, branch="z9hG4bKa1"))
    assert transport.codes() == [200, 487]
    sched.advance(6)
    assert 200 not in [m.status_code for m, _ in transport.sent if m.cseq_method == "INVITE"]
    with pytest.raises(CallStateError):
        call.answer()
    assert events.wait_for(CallEnded)[0].reason is EndReason.CANCELLED
    assert line.calls() == []


# ------------------------------------------------------------------ 6. BYE


def answered(rig_):
    line, transport, sched, media, events, _r = rig_
    call = ring(transport, events)
    call.answer()
    ok = transport.take()[-1][0]
    transport.inject(request("ACK", "c1", ok.to_addr.tag, cseq=1))
    return call, ok.to_addr.tag


def test_remote_bye(rig):
    line, transport, sched, media, events, _r = rig
    call, tag = answered(rig)
    transport.inject(request("BYE", "c1", tag, cseq=2))
    assert transport.codes() == [200]
    assert transport.sent[0][0].to_addr.tag == tag  # dialog tag kept (stock makes a new one)
    assert events.wait_for(CallEnded)[0].reason is EndReason.REMOTE_BYE
    assert media.sessions[0].closed


def test_our_bye_has_own_via_cseq_and_route_set(rig):
    line, transport, sched, _m, events, _r = rig
    call, tag = answered(rig)
    call.hangup()
    bye, addr = transport.take()[-1]
    assert bye.method == "BYE" and bye.request_uri == "sip:300@127.0.0.1:5070"
    assert bye.vias[0].host == "127.0.0.1" and bye.vias[0].port == 5099
    assert bye.vias[0].branch != "z9hG4bKa1"
    assert bye.header_values("Route") == ["<sip:127.0.0.1;lr>"]
    assert bye.from_addr.tag == tag and bye.to_addr.tag == "ft1"
    assert bye.cseq != 2
    assert addr == ("127.0.0.1", 5060)
    assert events.wait_for(CallEnded)[0].reason is EndReason.LOCAL_HANGUP


# ------------------------------------------------------------------ 7. 302 and REFER


def test_redirect_302_with_contact_and_diversion(rig):
    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events)
    transport.take()
    call.redirect("sip:200@127.0.0.1:5060")
    resp = transport.take()[-1][0]
    assert resp.status_code == 302
    assert resp.header("Contact") == "<sip:200@127.0.0.1:5060>"
    assert "reason=deflection" in (resp.header("Diversion") or "")
    assert events.wait_for(CallEnded)[0].reason is EndReason.REDIRECTED


@pytest.mark.parametrize(("frag", "outcome"), [("SIP/2.0 200 OK", TransferOutcome.SUCCESS),
                                               ("SIP/2.0 486 Busy Here", TransferOutcome.FAILURE)])
def test_transfer_outcome_from_notify(rig, frag, outcome):
    import threading

    line, transport, sched, _m, events, _r = rig
    call, tag = answered(rig)
    result: list[TransferOutcome] = []
    t = threading.Thread(target=lambda: result.append(call.transfer("sip:200@127.0.0.1", 5)))
    t.start()
    for _ in range(200):
        refer = [m for m, _ in transport.sent if m.is_request and m.method == "REFER"]
        if refer:
            break
        threading.Event().wait(0.01)
    refer_msg = refer[0]
    assert refer_msg.header("Refer-To") == "<sip:200@127.0.0.1>"
    assert refer_msg.header("Referred-By")
    transport.inject(response_to(refer_msg, 202, "Accepted"))
    transport.inject(request("NOTIFY", "c1", tag, from_tag="ft1", cseq=3, body=frag + "\r\n",
                             content_type="message/sipfrag",
                             extra=("Event: refer", "Subscription-State: terminated")))
    t.join(5)
    assert result == [outcome]
    assert events.wait_for(TransferFinished)[0].outcome is outcome
    if outcome is TransferOutcome.SUCCESS:
        assert events.wait_for(CallEnded)[0].reason is EndReason.TRANSFERRED
    else:
        assert call.state is CallState.ANSWERED


def test_transfer_refused_by_4xx_and_timeout(rig):
    import threading

    line, transport, sched, _m, events, _r = rig
    call, _tag = answered(rig)
    assert call.transfer("sip:200@127.0.0.1", timeout=0.05) is TransferOutcome.TIMEOUT
    result: list[TransferOutcome] = []
    t = threading.Thread(target=lambda: result.append(call.transfer("sip:200@127.0.0.1", 5)))
    t.start()
    for _ in range(200):
        refers = [m for m, _ in transport.sent if m.is_request and m.method == "REFER"]
        if len(refers) >= 2 and refers[-1].cseq != refers[0].cseq:
            break
        threading.Event().wait(0.01)
    transport.inject(response_to(refers[-1], 603, "Decline"))
    t.join(5)
    assert result == [TransferOutcome.FAILURE]
    assert call.state is CallState.ANSWERED


def test_transfer_waits_for_the_ack_before_sending_refer(rig):
    """A REFER must not overtake our 200 OK: it waits (bounded) for the caller's ACK."""
    import threading

    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events)
    call.answer()
    ok = transport.take()[-1][0]
    result: list[TransferOutcome] = []
    t = threading.Thread(target=lambda: result.append(call.transfer("sip:200@127.0.0.1", 5)))
    t.start()
    threading.Event().wait(0.3)
    assert not [m for m, _ in transport.sent if m.is_request and m.method == "REFER"]
    transport.inject(request("ACK", "c1", ok.to_addr.tag, cseq=1))
    for _ in range(200):
        refers = [m for m, _ in transport.sent if m.is_request and m.method == "REFER"]
        if refers:
            break
        threading.Event().wait(0.01)
    assert refers, "no REFER after the ACK"
    transport.inject(response_to(refers[0], 603, "Decline"))
    t.join(5)
    assert result == [TransferOutcome.FAILURE]


def test_transfer_without_an_ack_still_sends_refer_in_the_end(rig, monkeypatch):
    import sip.line

    monkeypatch.setattr(sip.line, "ACK_WAIT_BEFORE_REFER", 0.2)
    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events)
    call.answer()
    transport.take()
    assert call.transfer("sip:200@127.0.0.1", timeout=0.5) is TransferOutcome.TIMEOUT
    assert [m for m, _ in transport.sent if m.is_request and m.method == "REFER"]


# ------------------------------------------------------------------ 8. odd requests


def test_invite_retransmission_and_reinvite_never_start_second_stream(rig):
    line, transport, sched, media, events, _r = rig
    call, tag = answered(rig)
    transport.take()
    transport.inject(invite("c1"))  # retransmission of the original
    assert transport.codes() == [200]
    sdp2 = invite("c1").split("\r\n\r\n", 1)[1].replace("40000", "40002")
    transport.take()
    transport.inject(invite("c1", cseq=2, to_tag=tag, sdp=sdp2))
    assert transport.codes() == [200]
    session = media.sessions[0]
    assert len(media.sessions) == 1 and len(session.started) == 1
    assert session.retargets == [("127.0.0.1", 40002)]


@pytest.mark.parametrize("sdp", [None, "v=0\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
                                 "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n",
                                 "v=0\r\nc=IN IP4 203.0.113.9\r\nm=audio 4000 RTP/AVP 0\r\n"])
def test_bad_offers_get_488_with_warning(rig, sdp):
    line, transport, sched, media, events, _r = rig
    transport.take()
    transport.inject(invite("bad", sdp=sdp))
    sent = transport.take()
    assert [m.status_code for m, _ in sent] == [100, 488]
    assert sent[1][0].header("Warning")
    assert events.wait_for(RequestRefused)[0].code == 488
    assert media.sessions == [] and line.calls() == []


@pytest.mark.parametrize(("method", "code"), [("BYE", 481), ("CANCEL", 481), ("INFO", 481),
                                              ("REFER", 403), ("FOO", 501), ("SUBSCRIBE", 405),
                                              ("OPTIONS", 200)])
def test_out_of_dialog_requests(rig, method, code):
    line, transport, sched, *_ = rig
    transport.take()
    transport.inject(request(method, "nope", "zz" if method != "OPTIONS" else ""))
    assert transport.codes() == [code]
    if method == "OPTIONS":
        assert "INVITE" in (transport.sent[0][0].header("Allow") or "")


def test_reinvite_unknown_dialog_481(rig):
    line, transport, *_ = rig
    transport.take()
    transport.inject(invite("ghost", to_tag="zz"))
    assert transport.codes() == [481]


def test_info_dtmf(rig):
    line, transport, sched, media, events, _r = rig
    call, tag = answered(rig)
    transport.inject(request("INFO", "c1", tag, cseq=3, body="Signal=5\r\nDuration=160\r\n",
                             content_type="application/dtmf-relay"))
    transport.inject(request("INFO", "c1", tag, cseq=4, body="#", content_type="application/dtmf"))
    media.sessions[0].on_dtmf("7")
    digits = events.wait_for(DtmfReceived, 3)
    assert [(d.digit, d.source) for d in digits] == [("5", "info"), ("#", "info"),
                                                     ("7", "rfc4733")]


def test_over_capacity_and_port_exhaustion_get_final_answers():
    transport = FakeTransport()
    sched = ManualScheduler()
    events = Events()
    FakeRegistrar(transport)
    line = DutyLine(config(max_calls=2), events, sched.clock, transport=transport,
                    scheduler=sched, media=FakeMedia(ports=1))
    line.start(timeout=0)
    transport.take()
    transport.inject(invite("a"))
    transport.inject(invite("b"))  # ports exhausted
    assert transport.codes() == [100, 180, 100, 500]
    transport.take()
    line2 = line  # capacity: fill max_calls with a second free port
    line2.media.free.append(30000)  # type: ignore[attr-defined]
    transport.inject(invite("c"))
    transport.inject(invite("d"))
    assert transport.codes() == [100, 180, 100, 486]
    line.stop()


def test_memory_bounded_after_many_calls(rig):
    line, transport, sched, _m, events, _r = rig
    for i in range(50):
        transport.inject(invite(f"m{i}"))
        transport.inject(request("CANCEL", f"m{i}", "", cseq=1, branch="z9hG4bKa1"))
    assert line.pending_memory()["calls"] == 0
    sched.advance(40)
    transport.inject(request("OPTIONS", "x", ""))
    assert line.pending_memory() == {"calls": 0, "ended": 0, "refused": 0, "requests": 0}


# ------------------------------------------------------------------ 9. sources


def test_scanner_refused_once_rate_limited(rig):
    line, transport, sched, media, events, _r = rig
    transport.take()
    for i in range(5):
        transport.inject(invite(f"scan{i}"), source=("127.0.0.99", 5060))
    transport.inject(request("OPTIONS", "scan-o", ""), source=("127.0.0.99", 5060))
    sent = transport.take()
    assert [(m.status_code, a) for m, a in sent] == [(403, ("127.0.0.99", 5060))]
    assert media.sessions == []
    assert events.wait_for(RequestRefused)[0].source == "127.0.0.99"


def test_refusals_are_counted_into_the_next_report(rig):
    """The security log keeps every refused request, not only the one per 5 s that was
    logged: the next report says how many it stands for (issue 10, point 8)."""
    line, transport, sched, media, events, _r = rig
    for i in range(5):
        transport.inject(invite(f"scan{i}"), source=("127.0.0.99", 5060))
    sched.advance(6)
    transport.inject(invite("scan-late"), source=("127.0.0.99", 5060))
    reports = events.wait_for(RequestRefused, 2)
    assert [(r.method, r.count, r.trusted_source) for r in reports] == [
        ("INVITE", 1, False), ("INVITE", 5, False)]


def test_refusals_still_counted_at_stop_are_reported_before_the_events_end():
    """Issue 10: the requests counted since a source's last report were reported only with
    its next request after 5 s; a line stopped before then lost them (the security log was
    short by every request of a sweep's last 5 s). `stop` reports them, INVITEs and
    datagrams alike, before its events end."""
    transport = FakeTransport()
    sched = ManualScheduler()
    events = Events()
    FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=FakeMedia())
    line.start(timeout=0)
    for i in range(5):
        transport.inject(invite(f"scan{i}"), source=("127.0.0.99", 5060))
    for _ in range(3):
        transport.inject(b"garbage\r\n\r\n", source=("127.0.0.1", 5999))
    line.stop()
    reports = [(r.source, r.method, r.count, r.malformed) for r in events.of(RequestRefused)]
    assert sorted(reports) == sorted([
        ("127.0.0.99", "INVITE", 1, False), ("127.0.0.99", "INVITE", 4, False),
        ("127.0.0.1", "?", 1, True), ("127.0.0.1", "?", 2, True)])
    total = {(s, m): 0 for s, m, _c, _x in reports}
    for s, m, c, _x in reports:
        total[s, m] += c
    assert total == {("127.0.0.99", "INVITE"): 5, ("127.0.0.1", "?"): 3}


def test_a_sweep_from_many_sources_keeps_every_count():
    """More than 1,024 sources clear the table of sources (memory stays bounded); what
    they had counted is reported first, not forgotten."""
    transport = FakeTransport()
    sched = ManualScheduler()
    events = Events()
    FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=FakeMedia())
    line.start(timeout=0)
    try:
        for n in range(1030):
            source = (f"127.0.{n // 250}.{n % 250 + 2}", 5060)
            transport.inject(invite(f"sweep{n}-a"), source=source)
            transport.inject(invite(f"sweep{n}-b"), source=source)
    finally:
        line.stop()
    assert sum(r.count for r in events.of(RequestRefused)) == 2060


def test_a_datagram_that_is_no_sip_is_reported_for_the_security_log(rig):
    line, transport, sched, media, events, _r = rig
    transport.inject(b"\x16\x03\x01 not sip at all\r\n\r\n", source=("127.0.0.1", 5999))
    transport.inject(b"GET / HTTP/1.1\r\n\r\n", source=("127.0.0.1", 5999))
    sched.advance(6)
    transport.inject(b"garbage\r\n\r\n", source=("127.0.0.1", 5999))
    reports = events.wait_for(RequestRefused, 2)
    assert [(r.method, r.malformed, r.count, r.source) for r in reports] == [
        ("?", True, 1, "127.0.0.1"), ("?", True, 2, "127.0.0.1")]
    assert line.parse_errors == 3


def test_compact_no_space_invite_and_display_quote(rig):
    line, transport, sched, _m, events, _r = rig
    call = ring(transport, events, compact=True, display='"Zhang \\"San\\""')
    assert call.caller_name == 'Zhang "San"'
    assert call.caller_number == "300"
