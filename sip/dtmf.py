"""DTMF from RTP telephone-events (RFC 4733), one digit per event, whatever the sender's habits.

Stock pyVoIP emits a digit for every packet with the marker bit and nothing else (REPORT §1.3):
it misses events whose first packet is unmarked or lost, repeats digits whose marked packet is
retransmitted, and dies with IndexError on an event code above 15. Here an event is identified
by its RTP timestamp (RFC 4733 §2.5.1.2: all packets of one event carry the event's start
timestamp), so the digit is reported on the first packet seen of each event, marked or not, and
never again for retransmitted or end packets. Two equal digits in a row are two events because
their timestamps differ.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

EVENT_DIGITS = "0123456789*#ABCD"
"""RFC 4733 §3.2 table 7: events 0-9, 10 = *, 11 = #, 12-15 = A-D."""

PAYLOAD_BYTES = 4
"""Event (8 bits), E|R|volume (8 bits), duration (16 bits): RFC 4733 §2.3."""


class EventVerdict(enum.Enum):
    """What the detector made of one telephone-event packet."""

    DIGIT = "digit"
    """The first packet of a new digit event: report the digit."""
    REPEAT = "repeat"
    """Another packet (continuation, end, retransmission) of an event already reported."""
    NOT_A_DIGIT = "not_a_digit"
    """A valid event that is not a keypad digit (flash, tones, codes 16-255): ignored."""
    MALFORMED = "malformed"
    """Shorter than the 4-byte event payload."""


@dataclass(frozen=True)
class TelephoneEvent:
    """One decoded RFC 4733 payload."""

    code: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """0-9 * # A-D, or None for any other event code."""
        return EVENT_DIGITS[self.code] if self.code < len(EVENT_DIGITS) else None


def parse_event(payload: bytes) -> TelephoneEvent | None:
    """The first event block of a telephone-event payload, or None if it is too short."""
    if len(payload) < PAYLOAD_BYTES:
        return None
    return TelephoneEvent(code=payload[0], end=bool(payload[1] & 0x80),
                          volume=payload[1] & 0x3F,
                          duration=(payload[2] << 8) | payload[3])


class DtmfDetector:
    """Turns a stream of telephone-event packets into digits, each exactly once.

    Remembers the timestamps of the last few events (a bounded window), so a late
    retransmission of an event already reported is not a new digit.
    """

    def __init__(self, window: int = 16) -> None:
        self._seen: deque[int] = deque(maxlen=window)

    def feed(self, timestamp: int, payload: bytes) -> tuple[EventVerdict, str | None]:
        """Classify one packet; the digit is returned only with `EventVerdict.DIGIT`."""
        event = parse_event(payload)
        if event is None:
            return EventVerdict.MALFORMED, None
        if timestamp in self._seen:
            return EventVerdict.REPEAT, None
        self._seen.append(timestamp)
        digit = event.digit
        if digit is None:
            return EventVerdict.NOT_A_DIGIT, None
        return EventVerdict.DIGIT, digit

    def reset(self) -> None:
        """Forget past events (a re-INVITE to a new peer starts a new timestamp space)."""
        self._seen.clear()
