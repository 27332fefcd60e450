"""The line answers requests it can't take with the code the RFCs name (issue 12).

The line survived the whole RFC 4475 corpus, but some answers were lax, and a PBX or a test
tool relying on them got the wrong signal: an unknown `Require` option got 200 instead of
420 with `Unsupported` (RFC 3261 §8.2.2.3), an unknown Request-URI scheme 200 instead of
416 (§8.2.2.1), `SIP/7.0` was dropped instead of 505 (§21.5.7), an INVITE with a body we
can't read 488 instead of 415 with `Accept` (§8.2.3). Everything goes through
`FakeTransport`: the corpus' documentation addresses are never a target.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sip.api import CallRinging, RequestRefused
from sip.line import DutyLine
from sip.message import SipMessage
from sip.timers import ManualScheduler
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config, invite, response_to

CORPUS = Path(__file__).resolve().parents[1] / "data" / "sip-torture"
PBX = ("127.0.0.1", 5060)


@pytest.fixture
def rig() -> Iterator[tuple[DutyLine, FakeTransport, Events]]:
    transport, events = FakeTransport(), Events()
    line = DutyLine(config(), events, ManualScheduler().clock, transport=transport,
                    scheduler=ManualScheduler(), media=FakeMedia())
    line.start(timeout=0)
    reg = transport.take()[0][0]
    transport.inject(response_to(reg, 200, extra=("Expires: 120",), to_tag="r"))
    transport.take()
    yield line, transport, events
    line.stop()


def answers(transport: FakeTransport, data: bytes | str) -> list[SipMessage]:
    transport.take()
    transport.inject(data, PBX)
    return [m for m, addr in transport.sent if not m.is_request and addr == PBX]


@pytest.mark.parametrize(("name", "code", "header", "value"), [
    ("TC_BEXT01_V", 420, "Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),
    ("TC_UNKSCM_V", 416, None, None),
    ("TC_NOVELSC_V", 416, None, None),
    ("TC_BADVERS_V", 505, None, None),
])
def test_torture_messages_get_the_rfc_answer(rig: tuple[DutyLine, FakeTransport, Events],
                                             name: str, code: int, header: str | None,
                                             value: str | None) -> None:
    _line, transport, _events = rig
    got = answers(transport, (CORPUS / f"{name}.dat").read_bytes())
    assert [m.status_code for m in got] == [code]
    if header is not None:
        assert got[0].header(header) == value


def test_an_invite_requiring_an_option_gets_420_retransmitted_until_acked(
        rig: tuple[DutyLine, FakeTransport, Events]) -> None:
    _line, transport, events = rig
    text = invite("req1").replace("Max-Forwards: 69", "Max-Forwards: 69\r\nRequire: 100rel")
    got = answers(transport, text)
    assert [m.status_code for m in got] == [420]
    assert got[0].header("Unsupported") == "100rel" and got[0].to_addr.tag
    again = answers(transport, text)  # the INVITE retransmitted: the same answer
    assert [(m.status_code, m.to_addr.tag) for m in again] == [(420, got[0].to_addr.tag)]
    assert not events.of(CallRinging)
    assert events.wait_for(RequestRefused)[0].code == 420


def test_supported_is_not_required(rig: tuple[DutyLine, FakeTransport, Events]) -> None:
    """`Supported` (what the caller can do) and `Proxy-Require` (for proxies) ask nothing of us."""
    _line, transport, _events = rig
    text = invite("req2").replace("Max-Forwards: 69", "Max-Forwards: 69\r\nSupported: 100rel,"
                                  " timer\r\nProxy-Require: sec-agree")
    assert [m.status_code for m in answers(transport, text)] == [100, 180]


@pytest.mark.parametrize(("content_type", "extra", "code"), [
    ("text/plain", "", 415),
    ("multipart/mixed;boundary=x", "", 415),
    ("application/sdp", "Content-Encoding: gzip\r\n", 415),
    ("application/sdp", "", 180),
])
def test_an_invite_body_we_cannot_read_gets_415_with_accept(
        rig: tuple[DutyLine, FakeTransport, Events], content_type: str, extra: str,
        code: int) -> None:
    _line, transport, _events = rig
    text = invite("body1", content_type=content_type).replace(
        "Max-Forwards: 69\r\n", f"Max-Forwards: 69\r\n{extra}")
    got = answers(transport, text)
    assert got[-1].status_code == code
    if code == 415:
        assert got[-1].header("Accept") == "application/sdp"
        assert got[-1].header("Accept-Encoding") == "identity"


def test_an_invite_without_a_body_is_still_488(rig: tuple[DutyLine, FakeTransport, Events]) -> None:
    """No offer (a delayed offer) is a different case: we make no offers, 488 as before."""
    _line, transport, _events = rig
    got = answers(transport, invite("nobody", sdp=None))
    assert got[-1].status_code == 488


def test_an_unknown_method_is_501_before_its_uri_is_judged(
        rig: tuple[DutyLine, FakeTransport, Events]) -> None:
    """§8.2.1 comes first: the method, then the Request-URI, then Require."""
    _line, transport, _events = rig
    text = (CORPUS / "TC_UNKSCM_V.dat").read_bytes().replace(b"OPTIONS", b"FROBNICATE")
    assert [m.status_code for m in answers(transport, text)] == [501]
    text = (CORPUS / "TC_UNKSCM_V.dat").read_bytes().replace(b"OPTIONS", b"PUBLISH")
    assert [m.status_code for m in answers(transport, text)] == [405]
