"""G.711 (PCMU/PCMA) for the media engine, written out rather than taken from pyVoIP or audioop.

Why not pyVoIP: stock 1.6.8 encodes PCMA with the μ-law encoder (REPORT §1.2) and works on
8-bit unsigned audio, throwing away half of every sample. Why not `audioop`: it is deprecated
and gone in Python 3.13. The algorithms are the ITU-T G.711 reference ones (the Sun `g711.c`
formulation); everything is table-driven so the per-packet work is two `bytes.translate` calls.

Our audio format everywhere is `Prompt`'s: 8 kHz mono signed 16-bit little-endian PCM.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import OrderedDict
from functools import cache

from sip.api import Codec, Prompt

SAMPLES_PER_FRAME = 160
"""20 ms at 8 kHz: one RTP packet (RFC 3551 §4.5.14 default packetization)."""
FRAME_BYTES_PCM16 = SAMPLES_PER_FRAME * 2

SILENCE_BYTE: dict[Codec, int] = {Codec.PCMU: 0xFF, Codec.PCMA: 0xD5}
"""The encoded value of linear 0 for each codec."""

_SEG_UEND = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_AEND = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for i, end in enumerate(ends):
        if value <= end:
            return i
    return len(ends)


def linear_to_ulaw(sample: int) -> int:
    """One signed 16-bit sample to a μ-law byte (G.711 §3, 14-bit magnitude, bias 33)."""
    value = sample >> 2
    if value < 0:
        value = -value
        mask = 0x7F
    else:
        mask = 0xFF
    value = min(value, 8159) + 33
    seg = _segment(value, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0x0F)) ^ mask


def ulaw_to_linear(byte: int) -> int:
    """One μ-law byte to a signed 16-bit sample."""
    u = ~byte & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def linear_to_alaw(sample: int) -> int:
    """One signed 16-bit sample to A-law (G.711 §2: 13-bit magnitude, even bits inverted)."""
    value = sample >> 3
    if value >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        value = -value - 1
    seg = _segment(value, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((value >> 1) if seg < 2 else (value >> seg)) & 0x0F
    return aval ^ mask


def alaw_to_linear(byte: int) -> int:
    """One A-law byte to a signed 16-bit sample."""
    a = byte ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


@cache
def _encode_table(codec: Codec) -> bytes:
    """65536 entries indexed by the sample's unsigned 16-bit pattern."""
    encode = linear_to_ulaw if codec is Codec.PCMU else linear_to_alaw
    return bytes(encode(i - 0x10000 if i >= 0x8000 else i) for i in range(0x10000))


@cache
def _decode_tables(codec: Codec) -> tuple[bytes, bytes]:
    """Low and high bytes of the little-endian linear value of each of the 256 codes."""
    decode = ulaw_to_linear if codec is Codec.PCMU else alaw_to_linear
    values = [decode(b) & 0xFFFF for b in range(256)]
    return bytes(v & 0xFF for v in values), bytes(v >> 8 for v in values)


def encode(codec: Codec, pcm16: bytes) -> bytes:
    """Encode s16le PCM (an odd trailing byte is ignored) to G.711 bytes, one per sample."""
    samples = array("H")
    samples.frombytes(pcm16[: len(pcm16) & ~1])
    if sys.byteorder == "big":
        samples.byteswap()
    table = _encode_table(codec)
    return bytes(map(table.__getitem__, samples))


def decode(codec: Codec, payload: bytes) -> bytes:
    """Decode G.711 bytes to s16le PCM (two bytes per input byte)."""
    low, high = _decode_tables(codec)
    out = bytearray(len(payload) * 2)
    out[0::2] = payload.translate(low)
    out[1::2] = payload.translate(high)
    return bytes(out)


def frames(codec: Codec, pcm16: bytes) -> tuple[bytes, ...]:
    """Encode and cut into 160-sample frames; the last one is padded with silence."""
    encoded = encode(codec, pcm16)
    pad = (-len(encoded)) % SAMPLES_PER_FRAME
    encoded += bytes([SILENCE_BYTE[codec]]) * pad
    return tuple(encoded[i:i + SAMPLES_PER_FRAME]
                 for i in range(0, len(encoded), SAMPLES_PER_FRAME))


class PromptCache:
    """Prompts encoded once per codec: the greeting is played on every call, encoded once.

    Bounded (least recently used goes first) so a stream of distinct prompts cannot grow memory.
    Encodes are deduplicated: while one thread encodes a prompt for a codec, others asking for
    the same prompt and codec wait for that result instead of encoding it again.
    """

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[Codec, str, int, bytes], tuple[bytes, ...]] = (
            OrderedDict())
        self._in_flight: dict[tuple[Codec, str, int, bytes], threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.encodes = 0
        """Encodes actually run (a waiter on an in-flight encode does not count)."""

    @staticmethod
    def _key(prompt: Prompt, codec: Codec) -> tuple[Codec, str, int, bytes]:
        return (codec, prompt.name, len(prompt.pcm16), prompt.pcm16)

    def peek(self, prompt: Prompt, codec: Codec) -> tuple[bytes, ...] | None:
        """The encoded frames if they are ready, else None; never encodes, never blocks long."""
        key = self._key(prompt, codec)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return hit

    def frames(self, prompt: Prompt, codec: Codec) -> tuple[bytes, ...]:
        """The prompt's encoded 20 ms frames for `codec` (encoding on first use, once)."""
        key = self._key(prompt, codec)
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return hit
                waiting = self._in_flight.get(key)
                if waiting is None:
                    self._in_flight[key] = threading.Event()
                    self.misses += 1
                    break
            waiting.wait()
            with self._lock:  # the result may already be evicted: take it or encode ourselves
                hit = self._entries.get(key)
                if hit is not None:
                    self.hits += 1
                    return hit
        try:
            encoded = frames(codec, prompt.pcm16)  # outside the lock: a long prompt takes ms
        except BaseException:
            with self._lock:
                self._in_flight.pop(key).set()  # waiters retry (and raise the same way)
            raise
        with self._lock:
            self.encodes += 1
            self._entries[key] = encoded
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            self._in_flight.pop(key).set()
        return encoded

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
