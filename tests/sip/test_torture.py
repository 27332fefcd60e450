"""RFC 4475 torture corpus and bounded random fuzzing against the parser and the line.

Everything goes through `FakeTransport`: nothing is sent on a network, so the documentation
addresses in these messages (192.0.2.x, example.com) are never a target.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sip.api import CallRinging
from sip.line import DutyLine
from sip.message import SipParseError, parse_message
from sip.timers import ManualScheduler
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config, invite, response_to

# A copy of ../shared/sip-torture (RFC 4475 messages) lives in the repo so CI never skips it.
CORPUS = Path(__file__).resolve().parents[1] / "data" / "sip-torture"
FILES = sorted(CORPUS.glob("*.dat"))
assert FILES, f"RFC 4475 corpus missing under {CORPUS}"


def _line() -> tuple[DutyLine, FakeTransport, Events]:
    transport = FakeTransport()
    events = Events()
    sched = ManualScheduler()
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=FakeMedia())
    line.start(timeout=0)
    reg = transport.take()[0][0]
    transport.inject(response_to(reg, 200, extra=("Expires: 120",), to_tag="r"))
    return line, transport, events


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_torture_message_at_parser(path: Path) -> None:
    data = path.read_bytes()
    if path.stem.endswith("_I"):
        try:
            msg = parse_message(data)
        except SipParseError:
            return
        # parsed but semantically wrong: the line must refuse it (checked below), never ring
        assert msg.is_request
    elif path.stem.endswith("_V") and path.stem not in ("TC_BADVERS_V", "TC_BIGCODE_V"):
        parse_message(data)  # must not raise


def test_torture_corpus_then_good_call() -> None:
    line, transport, events = _line()
    for path in FILES:
        transport.inject(path.read_bytes(), source=("127.0.0.1", 5060))
    for msg, addr in transport.sent:
        assert addr == ("127.0.0.1", 5060)  # only ever the packet's source
        assert msg.is_request or msg.status_code != 180 or "torture" not in msg.call_id
    invalid_ids = {p.read_bytes().split(b"Call-ID:")[-1].split(b"\r\n")[0].strip().decode(
        "utf-8", "replace") for p in FILES if p.stem.endswith("_I")}
    assert not [e for e in events.of(CallRinging) if e.call.call_id in invalid_ids]
    for call in line.calls():
        call.refuse()
    transport.take()
    transport.inject(invite("after-torture"))
    assert transport.codes() == [100, 180]
    line.stop()


def test_random_bytes_fuzz_then_good_call() -> None:
    line, transport, events = _line()
    rng = random.Random(4475)
    seed = invite("seed").encode()
    for i in range(1500):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        else:
            buf = bytearray(seed)
            for _ in range(rng.randrange(1, 12)):
                pos = rng.randrange(len(buf))
                buf[pos] = rng.randrange(256)
            data = bytes(buf).replace(b"Call-ID: seed", f"Call-ID: fz{i}".encode())
        transport.inject(data, source=("127.0.0.1", 5060))
    for call in line.calls():  # mutations that still make a valid INVITE ring: refuse them
        call.refuse()
    transport.take()
    transport.inject(invite("after-fuzz"))
    assert transport.codes() == [100, 180]
    rung = [e.call.call_id for e in events.of(CallRinging)]
    assert "after-fuzz" in rung or events.wait_for(CallRinging, len(rung) + 1)
    line.stop()
