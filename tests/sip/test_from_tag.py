# ruff: noqa: RUF059  (the rig fixture is unpacked whole)
"""The incoming call tells its caller's From tag (ring-all, issue 13).

With the Call-ID it names the caller's side of the dialog, the same on every branch a
forking proxy sends (RFC 3261 §16.6): the seats of a hotline claim the call by it.
"""

from __future__ import annotations

import pytest

from sip.api import Call
from sip.line import DutyLine
from sip.timers import ManualScheduler
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config
from tests.sip.test_line import FakeRegistrar, ring


@pytest.fixture
def rig():  # type: ignore[no-untyped-def]
    transport, sched, media, events = FakeTransport(), ManualScheduler(), FakeMedia(), Events()
    FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=media)
    line.start(timeout=0)
    yield line, transport, events
    line.stop()


@pytest.mark.parametrize("compact", [False, True])
def test_the_call_carries_the_invites_from_tag(rig, compact: bool) -> None:  # type: ignore[no-untyped-def]
    line, transport, events = rig
    call = ring(transport, events, "fork-1@pbx", compact=compact)
    assert isinstance(call, Call)
    assert call.call_id == "fork-1@pbx" and call.from_tag == "ft1"
