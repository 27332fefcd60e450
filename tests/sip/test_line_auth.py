# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""Digest answers to the line's own requests, as a real PBX asks for them (issue 15).

Asterisk challenges every request of an endpoint that has `auth=` (BYE and REFER inside the
dialog too), stock Kamailio challenges out-of-dialog requests from its users (the OPTIONS
probe of the gate post). The line answered a challenge to its REGISTER only: its BYE left
the PBX's call up, its REFER to the gate post failed, and a probe took the 407 for an
answer from the gate post. Now each is sent again once with credentials (RFC 3261 §22.2,
§22.3) with a new CSeq; a second challenge is the final answer.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from sip.api import CallEnded, EndReason, TransferOutcome
from sip.message import SipMessage
from sip.pyvoip_client import parse_challenge
from tests.sip.fakes import FakeTransport, request, response_to
from tests.sip.test_line import answered, rig

__all__ = ["rig"]  # the fixture, re-exported for this module


class Challenger:
    """A PBX that answers `methods` with 401 (or 407) until the digest is right, then 200."""

    def __init__(self, transport: FakeTransport, methods: set[str], code: int = 407,
                 password: str = "pw", final: int = 200) -> None:
        self.seen: list[SipMessage] = []
        original = transport.send

        def send(data: bytes, addr: tuple[str, int]) -> None:
            original(data, addr)
            msg = transport.sent[-1][0]
            if msg.is_request and msg.method in methods:
                self.seen.append(msg)
                transport.inject(self.answer(msg))

        self.code, self.password, self.final = code, password, final
        transport.send = send  # type: ignore[method-assign]

    def answer(self, msg: SipMessage) -> str:
        header = "Proxy-Authorization" if self.code == 407 else "Authorization"
        challenge = "Proxy-Authenticate" if self.code == 407 else "WWW-Authenticate"
        auth = msg.header(header)
        if auth is not None:
            p = parse_challenge(auth)
            ha1 = hashlib.md5(f"100:pbx:{self.password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"{msg.method}:{p['uri']}".encode()).hexdigest()
            want = hashlib.md5(f"{ha1}:{p['nonce']}:{ha2}".encode()).hexdigest()
            if p["response"] == want and p["uri"] == msg.request_uri:
                return response_to(msg, self.final, "OK" if self.final == 200 else "Accepted")
        return response_to(msg, self.code, "Authentication Required",
                           (f'{challenge}: Digest realm="pbx", nonce="n{len(self.seen)}"',))


def test_a_challenged_bye_is_sent_again_with_credentials(rig: tuple[Any, ...]) -> None:
    line, transport, sched, _m, events, _r = rig
    call, _tag = answered(rig)
    pbx = Challenger(transport, {"BYE"})
    call.hangup()
    byes = pbx.seen
    assert len(byes) == 2
    assert byes[0].header("Proxy-Authorization") is None
    assert byes[1].header("Proxy-Authorization") is not None
    assert byes[1].cseq == byes[0].cseq + 1 and byes[1].call_id == byes[0].call_id
    assert byes[1].vias[0].branch != byes[0].vias[0].branch
    assert events.wait_for(CallEnded)[0].reason is EndReason.LOCAL_HANGUP
    assert line.pending_memory()["requests"] == 0  # answered: nothing left retransmitting


def test_a_challenged_refer_reaches_the_gate_post(rig: tuple[Any, ...]) -> None:
    line, transport, sched, _m, events, _r = rig
    call, tag = answered(rig)
    pbx = Challenger(transport, {"REFER"}, code=401, final=202)
    result: list[TransferOutcome] = []
    worker = threading.Thread(target=lambda: result.append(call.transfer("sip:200@pbx", 5)))
    worker.start()
    for _ in range(300):
        if len(pbx.seen) == 2:
            break
        threading.Event().wait(0.01)
    assert [m.header("Authorization") is not None for m in pbx.seen] == [False, True]
    assert pbx.seen[1].header("Refer-To") == "<sip:200@pbx>"
    transport.inject(request("NOTIFY", "c1", tag, cseq=3, body="SIP/2.0 200 OK\r\n",
                             content_type="message/sipfrag",
                             extra=("Event: refer", "Subscription-State: terminated")))
    worker.join(5)
    assert result == [TransferOutcome.SUCCESS]


@pytest.mark.parametrize(("password", "final", "reachable", "sent"), [
    ("pw", 200, True, 2),  # challenged, answered: the gate post's own 200
    ("pw", 404, False, 2),  # challenged, answered: nobody registered there
    ("other", 200, False, 2),  # our digest is refused again: not a sign of the gate post
])
def test_a_challenged_probe_answers_then_judges_the_real_response(
        rig: tuple[Any, ...], password: str, final: int, reachable: bool, sent: int) -> None:
    line, transport, sched, _m, events, _r = rig
    pbx = Challenger(transport, {"OPTIONS"}, password=password, final=final)
    assert line.probe("sip:200@127.0.0.1", timeout=1.0) is reachable
    assert len(pbx.seen) == sent
    assert pbx.seen[1].cseq == 2 and pbx.seen[1].call_id == pbx.seen[0].call_id
    assert line.pending_memory()["requests"] == 0


def test_a_challenge_without_a_challenge_header_is_the_final_answer(
        rig: tuple[Any, ...]) -> None:
    line, transport, sched, _m, events, _r = rig
    seen: list[SipMessage] = []
    original = transport.send

    def send(data: bytes, addr: tuple[str, int]) -> None:
        original(data, addr)
        msg = transport.sent[-1][0]
        if msg.is_request and msg.method == "OPTIONS":
            seen.append(msg)
            transport.inject(response_to(msg, 407, "Proxy Authentication Required"))

    transport.send = send  # type: ignore[method-assign]
    assert line.probe("sip:200@127.0.0.1", timeout=1.0) is False
    assert len(seen) == 1
