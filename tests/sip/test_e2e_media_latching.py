"""A caller's SDP that names a third host, against the real lab (issue 15).

Seen before: an INVITE through Kamailio whose SDP said c=127.0.0.77, a host that never sent
a packet, was answered and the line streamed its whole greeting there (251 packets in 5 s).
Now the line sends to an SDP address at once only when it is the signalling peer's, the
registrar's or a configured media peer's; any other host gets nothing until media comes
from it (or a 488 when it is outside the media networks). SIPp is the caller, through the
lab's Kamailio; the "third host" is a socket of this test on 127.0.0.77. Every datagram
stays on 127.0.0.0/8 and every process is stopped by the lab fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import labctl
import pytest

from sip.api import CallAnswered, CallEnded, EndReason, RequestRefused
from sip.line import DutyCall
from tests.sip.test_e2e import Duty, chirp, start_duty, statuses
from tests.sip.test_media_latching import Host

__all__ = ["start_duty"]  # the fixture, re-exported for this module

SCENARIOS = Path(__file__).resolve().parent / "sipp"


@pytest.fixture
def third() -> Iterator[Host]:
    host = Host("127.0.0.77")
    yield host
    host.close()


def keys(host: Host) -> list[str]:
    return ["-key", "third_host", host.address[0], "-key", "third_port", str(host.address[1])]


def test_a_third_host_in_the_sdp_gets_no_rtp_until_media_comes_from_it(
        start_duty: Callable[..., Duty], lab: labctl.Lab, third: Host) -> None:
    duty = start_duty(media_networks=("127.0.0.0/8",))
    run = lab.sipp_start(SCENARIOS / "uac_foreign_media.xml", extra=keys(third),
                         duration_ms=5000, timeout=30)
    try:
        call = duty.wait(CallAnswered, timeout=10)[0].call  # type: ignore[attr-defined]
        assert isinstance(call, DutyCall)
        call.play(chirp(4.0))
        assert third.received(within=2.0) == [], "streamed at a host that sent nothing"
        assert not call.session.latched  # type: ignore[attr-defined]
        third.send_rtp(call.session.local_port)  # the third host speaks: now it may hear
        got = third.received(within=3.0)
        assert len(got) == 25
        assert {source for _, source in got} == {("127.0.0.1", call.session.local_port)}
        result = run.wait(timeout=30)
        assert result.ok, result.describe()
        ended = duty.wait(CallEnded, timeout=10)[0]
        assert ended.reason is EndReason.REMOTE_BYE  # type: ignore[attr-defined]
    finally:
        run.stop()


def test_a_third_host_outside_the_media_networks_gets_488(
        start_duty: Callable[..., Duty], lab: labctl.Lab, third: Host) -> None:
    duty = start_duty()  # default networks: the registrar's 127.0.0.1 only
    result = lab.sipp(SCENARIOS / "uac_foreign_media_refused.xml", extra=keys(third),
                      timeout=20)
    assert result.ok, result.describe()
    assert 488 in statuses(result)
    refused = duty.wait(RequestRefused, timeout=5)[0]
    assert refused.reason == "media address outside the allowed networks"  # type: ignore[attr-defined]
    assert not duty.events.of(CallAnswered)
    assert third.received(within=0.5) == []
