# ruff: noqa: RUF059  (the rig fixture is unpacked whole in every test)
"""A CANCEL's Reason header (RFC 3326): "completed elsewhere" is not a caller who hung up.

When the PBX forks a call to several seats, the first 200 makes it CANCEL the other branches
with `Reason: SIP;cause=200;text="Call completed elsewhere"` (issue 13). The line used to
report every CANCEL as the caller giving up, so each such seat recorded an abandoned call.
"""

from __future__ import annotations

import pytest

from sip.api import CallEnded, CallStateError, CancelReason, EndReason
from sip.line import DutyLine
from sip.message import SipParseError, parse_reason
from sip.timers import ManualScheduler
from tests.sip.fakes import Events, FakeMedia, FakeTransport, config, request
from tests.sip.test_line import FakeRegistrar, ring

ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


@pytest.fixture
def rig():  # type: ignore[no-untyped-def]
    """The line over a fake transport, registered (as in test_line)."""
    transport, sched, media, events = FakeTransport(), ManualScheduler(), FakeMedia(), Events()
    registrar = FakeRegistrar(transport)
    line = DutyLine(config(), events, sched.clock, transport=transport, scheduler=sched,
                    media=media)
    line.start(timeout=0)
    yield line, transport, sched, media, events, registrar
    line.stop()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (ELSEWHERE, [CancelReason("SIP", 200, "Call completed elsewhere")]),
        ("SIP ; cause=487 ; text=\"Request Terminated\"",
         [CancelReason("SIP", 487, "Request Terminated")]),
        ("Q.850;cause=16;text=\"Terminated\", SIP;cause=200",
         [CancelReason("Q.850", 16, "Terminated"), CancelReason("SIP", 200)]),
        ('SIP;text="a \\"quoted\\" ; word";cause=200',
         [CancelReason("SIP", 200, 'a "quoted" ; word')]),
        ("preemption;cause=1;reason-ext=x", [CancelReason("preemption", 1)]),
        ("SIP", [CancelReason("SIP", None)]),
    ],
)
def test_reason_values_are_read(header: str, expected: list[CancelReason]) -> None:
    assert parse_reason(header) == expected


@pytest.mark.parametrize(
    "header",
    ['SIP;cause=two hundred', "SIP;cause=", 'SIP;text=unquoted', 'SIP;cause=200;text="open',
     ";cause=200", "SIP;cause=1234567", "S<I>P;cause=200", 'SIP;text="x"junk'],
)
def test_a_malformed_reason_is_a_parse_error(header: str) -> None:
    with pytest.raises(SipParseError, match=r"Reason|quotes"):
        parse_reason(header)


def test_completed_elsewhere_is_sip_200_or_q850_26() -> None:
    assert CancelReason("SIP", 200).completed_elsewhere
    assert CancelReason("sip", 200).completed_elsewhere
    assert CancelReason("Q.850", 26).completed_elsewhere
    assert not CancelReason("SIP", 487).completed_elsewhere
    assert not CancelReason("Q.850", 200).completed_elsewhere
    assert not CancelReason("SIP", None).completed_elsewhere
    assert CancelReason("SIP", 200, 'say "hi"').header() == 'SIP;cause=200;text="say \\"hi\\""'


def _cancel(rig_, reason: str | None):  # type: ignore[no-untyped-def]
    line, transport, sched, _m, events, _r = rig_
    ring(transport, events)
    transport.take()
    extra = (f"Reason: {reason}",) if reason is not None else ()
    transport.inject(request("CANCEL", "c1", "", cseq=1, branch="z9hG4bKa1", extra=extra))
    assert transport.codes() == [200, 487]  # RFC 3326 changes nothing of §9.2
    assert line.calls() == []
    return events.wait_for(CallEnded)[0]


def test_a_cancel_completed_elsewhere_ends_the_call_so(rig) -> None:  # type: ignore[no-untyped-def]
    ended = _cancel(rig, ELSEWHERE)
    assert ended.reason is EndReason.COMPLETED_ELSEWHERE
    assert ended.detail == ELSEWHERE
    assert ended.cancel_reasons == (CancelReason("SIP", 200, "Call completed elsewhere"),)


@pytest.mark.parametrize(
    "reason",
    [None, 'SIP;cause=487;text="Request Terminated"', "Q.850;cause=16",
     'SIP;cause=two hundred;text="Call completed elsewhere"', 'SIP;cause=200;text="open'],
)
def test_any_other_cancel_is_the_caller_giving_up(rig, reason: str | None) -> None:  # type: ignore[no-untyped-def]
    ended = _cancel(rig, reason)  # a malformed Reason is ignored: no crash, plain CANCEL
    assert ended.reason is EndReason.CANCELLED


def test_a_lowercase_reason_header_and_a_second_one_are_read(rig) -> None:  # type: ignore[no-untyped-def]
    line, transport, _s, _m, events, _r = rig
    ring(transport, events)
    extra = ("reason: Q.850;cause=16", f"REASON: {ELSEWHERE}")
    transport.inject(request("CANCEL", "c1", "", cseq=1, branch="z9hG4bKa1", extra=extra))
    ended = events.wait_for(CallEnded)[0]
    assert ended.reason is EndReason.COMPLETED_ELSEWHERE
    assert [r.cause for r in ended.cancel_reasons] == [16, 200]


@pytest.mark.parametrize(
    ("reason", "ended_by"),
    [(ELSEWHERE, EndReason.COMPLETED_ELSEWHERE), (None, EndReason.CANCELLED)],
)
def test_an_answer_after_the_cancel_is_told_why_the_call_ended(  # type: ignore[no-untyped-def]
    rig, reason: str | None, ended_by: EndReason
) -> None:
    """The line's CallEnded is queued: an answer crossing the CANCEL must not have to guess."""
    line, transport, _s, _m, events, _r = rig
    call = ring(transport, events)
    extra = (f"Reason: {reason}",) if reason is not None else ()
    transport.inject(request("CANCEL", "c1", "", cseq=1, branch="z9hG4bKa1", extra=extra))
    with pytest.raises(CallStateError) as refused:
        call.answer()
    assert refused.value.ended_by is ended_by
