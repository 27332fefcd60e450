"""G.711 in `sip.codec`: bit-exact against a reference, PCMA really A-law, frames and the cache."""

from __future__ import annotations

import math
import struct

import pytest

from sip import codec
from sip.api import Codec, Prompt


def pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


def unpack(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def sine(n: int, amplitude: int = 12000, period: float = 18.3) -> list[int]:
    return [int(amplitude * math.sin(2 * math.pi * i / period)) for i in range(n)]


def within_g711_error(original: list[int], decoded: list[int]) -> bool:
    """G.711 keeps 4 mantissa bits: the error is at most half a step (|x|/16 plus a floor)."""
    return all(abs(a - b) <= abs(a) / 16 + 33 for a, b in zip(original, decoded, strict=True))


# Known code points from the G.711 tables (values as 16-bit linear).
KNOWN = [
    (Codec.PCMU, 0xFF, 0), (Codec.PCMU, 0x7F, 0), (Codec.PCMU, 0x00, -32124),
    (Codec.PCMU, 0x80, 32124), (Codec.PCMU, 0xFE, 8), (Codec.PCMU, 0x7E, -8),
    (Codec.PCMA, 0xD5, 8), (Codec.PCMA, 0x55, -8), (Codec.PCMA, 0xAA, 32256),
    (Codec.PCMA, 0x2A, -32256),
]


@pytest.mark.parametrize(("kind", "byte", "linear"), KNOWN)
def test_known_code_points(kind: Codec, byte: int, linear: int) -> None:
    assert unpack(codec.decode(kind, bytes([byte]))) == [linear]


@pytest.mark.parametrize("kind", list(Codec))
def test_bit_exact_against_audioop(kind: Codec) -> None:
    audioop = pytest.importorskip("audioop", reason="audioop (the reference) left Python 3.13")
    every_sample = pcm(list(range(-32768, 32768)))
    every_code = bytes(range(256))
    if kind is Codec.PCMU:
        assert codec.encode(kind, every_sample) == audioop.lin2ulaw(every_sample, 2)
        assert codec.decode(kind, every_code) == audioop.ulaw2lin(every_code, 2)
    else:
        assert codec.encode(kind, every_sample) == audioop.lin2alaw(every_sample, 2)
        assert codec.decode(kind, every_code) == audioop.alaw2lin(every_code, 2)


@pytest.mark.parametrize("kind", list(Codec))
def test_round_trip_within_codec_error(kind: Codec) -> None:
    samples = [*sine(800), 32767, -32768, 0, 1, -1, 100, -100]
    decoded = unpack(codec.decode(kind, codec.encode(kind, pcm(samples))))
    assert within_g711_error(samples, decoded)


def test_pcma_is_a_law_not_mu_law() -> None:
    """Stock pyVoIP sent μ-law labelled PT 8; A-law decoding of our PCMA gives the audio back."""
    samples = sine(400)
    alaw = codec.encode(Codec.PCMA, pcm(samples))
    assert alaw != codec.encode(Codec.PCMU, pcm(samples))
    assert within_g711_error(samples, unpack(codec.decode(Codec.PCMA, alaw)))
    assert not within_g711_error(samples, unpack(codec.decode(Codec.PCMU, alaw)))


@pytest.mark.parametrize("kind", list(Codec))
def test_silence_byte_is_linear_zero(kind: Codec) -> None:
    assert codec.encode(kind, pcm([0])) == bytes([codec.SILENCE_BYTE[kind]])
    assert abs(unpack(codec.decode(kind, bytes([codec.SILENCE_BYTE[kind]])))[0]) <= 8


@pytest.mark.parametrize(("samples", "count"), [(0, 0), (1, 1), (160, 1), (161, 2), (8000, 50)])
def test_frames_are_160_samples_padded_with_silence(samples: int, count: int) -> None:
    frames = codec.frames(Codec.PCMU, pcm(sine(samples)))
    assert len(frames) == count
    assert all(len(f) == codec.SAMPLES_PER_FRAME for f in frames)
    if samples % 160:
        pad = frames[-1][samples % 160:]
        assert set(pad) == {codec.SILENCE_BYTE[Codec.PCMU]}


def test_odd_trailing_byte_is_ignored() -> None:
    assert codec.encode(Codec.PCMA, pcm([1000, -1000]) + b"\x07") == codec.encode(
        Codec.PCMA, pcm([1000, -1000]))
    assert codec.encode(Codec.PCMA, b"") == b""


def test_prompt_is_encoded_once_per_codec() -> None:
    cache = codec.PromptCache()
    greeting = Prompt("greeting", pcm(sine(1600)))
    first = cache.frames(greeting, Codec.PCMA)
    for _ in range(5):
        assert cache.frames(greeting, Codec.PCMA) is first
    other = cache.frames(greeting, Codec.PCMU)
    assert other != first
    assert (cache.misses, cache.hits) == (2, 5)


def test_same_name_different_audio_is_not_confused() -> None:
    cache = codec.PromptCache()
    a = cache.frames(Prompt("x", pcm(sine(160, 1000))), Codec.PCMU)
    b = cache.frames(Prompt("x", pcm(sine(160, 9000))), Codec.PCMU)
    assert a != b


def test_cache_is_bounded() -> None:
    cache = codec.PromptCache(capacity=4)
    for i in range(50):
        cache.frames(Prompt(f"p{i}", pcm([i] * 160)), Codec.PCMU)
    assert len(cache) == 4
