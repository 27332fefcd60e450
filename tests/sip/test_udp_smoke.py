"""The line on real loopback UDP sockets and its own timer thread (no PBX needed)."""

from __future__ import annotations

import socket

from sip.api import CallAnswered, CallRinging, LineStatus
from sip.line import DutyLine
from sip.message import parse_message
from tests.sip.fakes import Events, FakeMedia, config, invite, response_to


def test_register_ring_answer_over_loopback_udp() -> None:
    pbx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pbx.bind(("127.0.0.1", 0))
    pbx.settimeout(3)
    port = pbx.getsockname()[1]
    events = Events()
    line = DutyLine(config(registrar_port=port), events, media=FakeMedia())
    import threading

    def registrar() -> None:
        data, addr = pbx.recvfrom(65535)
        pbx.sendto(response_to(parse_message(data), 200, extra=("Expires: 120",),
                               to_tag="r").encode(), addr)

    t = threading.Thread(target=registrar)
    t.start()
    try:
        line.start(timeout=3)
        t.join(3)
        assert line.status is LineStatus.REGISTERED
        line_addr = ("127.0.0.1", line.transport.local_port)  # type: ignore[union-attr]
        pbx.sendto(invite("udp1").encode(), line_addr)
        codes = [parse_message(pbx.recvfrom(65535)[0]).status_code for _ in range(2)]
        assert codes == [100, 180]
        call = events.wait_for(CallRinging)[0].call
        call.answer()
        ok = parse_message(pbx.recvfrom(65535)[0])
        assert ok.status_code == 200 and b"m=audio 20000" in ok.body_raw
        events.wait_for(CallAnswered)
    finally:
        line.stop()
        pbx.close()
