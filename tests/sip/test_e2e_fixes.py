"""Unit tests (fakes, manual clock) for signalling bugs that only the real lab showed.

Each test names what Kamailio/SIPp/baresip did that the fakes of `test_line.py` did not.
"""

from __future__ import annotations

from sip.api import LineStatus
from sip.line import DutyLine
from sip.register import REFRESH_CAP
from sip.timers import ManualScheduler
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config, response_to
from tests.sip.test_line import FakeRegistrar


def _registered_line(expires: int = 120) -> tuple[DutyLine, FakeTransport, FakeRegistrar,
                                                  ManualScheduler]:
    transport = FakeTransport()
    sched = ManualScheduler()
    registrar = FakeRegistrar(transport, qop=False)
    line = DutyLine(config(register_expires=expires), Events(), sched.clock,
                    transport=transport, scheduler=sched, media=FakeMedia())
    line.start(timeout=0)
    assert line.status is LineStatus.REGISTERED
    return line, transport, registrar, sched


def test_unregister_answers_a_challenge_that_reuses_the_nonce() -> None:
    """Kamailio hands out the same nonce within a second: the Expires 0 REGISTER was never
    authenticated, so every stopped line left a dead binding that Kamailio kept forking to
    (each 488 then took 10 s, the time the proxy waited on the dead branch)."""
    line, _transport, registrar, _sched = _registered_line()
    line.stop()
    removals = [m for m in registrar.seen if m.header("Expires") == "0"]
    assert [m.header("Authorization") is not None for m in removals] == [False, True]
    assert line.registration is not None and line.registration.unregistered.is_set()


def test_unregistered_waits_for_the_authenticated_answer() -> None:
    """`unregistered` was set on the 401 already, so `stop()` closed the socket too early."""
    line, transport, registrar, _sched = _registered_line()
    registrar.up = False  # the registrar answers by hand below
    reg = line.registration
    assert reg is not None
    reg.stop()
    first = transport.sent[-1][0]
    transport.inject(response_to(first, 401, "Unauthorized",
                                 ('WWW-Authenticate: Digest realm="lab", nonce="n1"',), "r1"))
    assert not reg.unregistered.is_set()
    second = transport.sent[-1][0]
    assert second.header("Authorization") is not None and second.header("Expires") == "0"
    transport.inject(response_to(second, 200, "OK", ("Expires: 0",), "r1"))
    assert reg.unregistered.is_set()
    line.stop()


def test_refresh_is_capped_so_a_restarted_registrar_has_us_back_within_a_minute() -> None:
    """Kamailio keeps bindings in memory: after its restart the line was unreachable until the
    next refresh, 0.8 x 3600 s later; now a refresh comes at most every `REFRESH_CAP` s."""
    line, _transport, registrar, sched = _registered_line(expires=3600)
    before = len(registrar.seen)
    sched.advance(REFRESH_CAP + 0.1)
    assert len(registrar.seen) == before + 2  # challenge + authenticated refresh
    assert REFRESH_CAP < 60
    assert line.status is LineStatus.REGISTERED
    line.stop()
