"""RFC 4733 digit detection in `sip.dtmf`: every sender habit gives each digit exactly once."""

from __future__ import annotations

import pytest

from sip.dtmf import DtmfDetector, EventVerdict, parse_event


def event(code: int, end: bool = False, duration: int = 400, volume: int = 10) -> bytes:
    return bytes([code, (0x80 if end else 0) | volume, duration >> 8, duration & 0xFF])


def detect(packets: list[tuple[int, bytes]]) -> list[str]:
    detector = DtmfDetector()
    digits = []
    for ts, payload in packets:
        verdict, digit = detector.feed(ts, payload)
        if verdict is EventVerdict.DIGIT:
            assert digit is not None
            digits.append(digit)
        else:
            assert digit is None
    return digits


def burst(code: int, ts: int, start: int = 1, middle: int = 2, ends: int = 3) -> list[
        tuple[int, bytes]]:
    """One event as senders emit it: first packet(s), continuations, repeated end packets."""
    return ([(ts, event(code, duration=160))] * start
            + [(ts, event(code, duration=320 * (i + 1))) for i in range(middle)]
            + [(ts, event(code, end=True, duration=800))] * ends)


CASES = {
    "one digit, the usual 3 end packets": (burst(5, 1000), ["5"]),
    "first packet retransmitted (repeated marker)": (burst(3, 1000, start=3), ["3"]),
    "first packets lost (unmarked start)": (burst(7, 1000, start=0, middle=1), ["7"]),
    "only end packets arrive": (burst(9, 1000, start=0, middle=0), ["9"]),
    "two equal digits in a row": (burst(1, 1000) + burst(1, 2600), ["1", "1"]),
    "the keypad's whole alphabet": (
        [p for i in range(16) for p in burst(i, 1000 + 1600 * i)], list("0123456789*#ABCD")),
    "codes above 15 ignored, digits around them kept": (
        burst(2, 1000) + burst(16, 2600) + burst(255, 4200) + burst(4, 5800), ["2", "4"]),
    "late retransmission of an earlier event": (
        burst(6, 1000) + burst(8, 2600) + [(1000, event(6, end=True))], ["6", "8"]),
    "timestamp wrap-around is just another timestamp": (
        burst(1, 0xFFFFFF60) + burst(2, 0x00000040), ["1", "2"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_digit_exactly_once(name: str) -> None:
    packets, expected = CASES[name]
    assert detect(packets) == expected


@pytest.mark.parametrize("payload", [b"", b"\x05", b"\x05\x80\x00"])
def test_short_payload_is_malformed_and_forgotten(payload: bytes) -> None:
    detector = DtmfDetector()
    assert detector.feed(1000, payload) == (EventVerdict.MALFORMED, None)
    assert detector.feed(1000, event(5)) == (EventVerdict.DIGIT, "5")


def test_parse_event_fields() -> None:
    parsed = parse_event(bytes([11, 0x80 | 0x25, 0x03, 0x20]) + b"extra")
    assert parsed is not None
    assert (parsed.code, parsed.end, parsed.volume, parsed.duration) == (11, True, 0x25, 800)
    assert parsed.digit == "#"
    unknown = parse_event(event(200))
    assert unknown is not None and unknown.digit is None


def test_window_is_bounded() -> None:
    detector = DtmfDetector(window=4)
    for ts in range(0, 100_000, 1600):
        detector.feed(ts, event(1))
    assert len(detector._seen) == 4


def test_reset_forgets() -> None:
    detector = DtmfDetector()
    assert detector.feed(5, event(1))[0] is EventVerdict.DIGIT
    detector.reset()
    assert detector.feed(5, event(1))[0] is EventVerdict.DIGIT
