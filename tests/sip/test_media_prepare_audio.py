"""Prompts prepared once, plays that never block, the agent's microphone, and RTP liveness.

Real loopback UDP against the engine, as in `test_media`; the encoder is gated (not timed) to
prove who waits for whom.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from sip import codec
from sip.api import Codec, MediaError, Prompt
from sip.media import MIC_QUEUE_FRAMES, MediaEngine
from tests.sip.test_media import DTMF_PT, WAIT, Peer, port_range, rtp, sine, wait_for


@pytest.fixture
def engine() -> Iterator[MediaEngine]:
    low, high = port_range(40)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"])
    yield eng
    eng.close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


class GatedEncoder:
    """Replaces `sip.codec.frames`: counts encodes and holds each until `release()`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = codec.frames
        self.calls: list[tuple[Codec, int]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.lock = threading.Lock()
        monkeypatch.setattr(codec, "frames", self)

    def __call__(self, kind: Codec, pcm16: bytes) -> tuple[bytes, ...]:
        with self.lock:
            self.calls.append((kind, len(pcm16)))
        self.entered.set()
        assert self.gate.wait(WAIT), "test never released the encoder"
        return self.real(kind, pcm16)

    def release(self) -> None:
        self.gate.set()


def test_concurrent_first_encodes_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    gated = GatedEncoder(monkeypatch)
    cache = codec.PromptCache()
    prompt = Prompt("greeting", sine(160 * 50))
    results: list[tuple[bytes, ...]] = []
    threads = [threading.Thread(target=lambda: results.append(cache.frames(prompt, Codec.PCMU)))
               for _ in range(8)]
    for t in threads:
        t.start()
    assert gated.entered.wait(WAIT)
    assert cache.peek(prompt, Codec.PCMU) is None, "not ready while encoding"
    gated.release()
    for t in threads:
        t.join(WAIT)
    assert gated.calls == [(Codec.PCMU, len(prompt.pcm16))], "one encode for eight askers"
    assert len(results) == 8 and len({id(r) for r in results}) == 1
    assert cache.encodes == 1 and cache.peek(prompt, Codec.PCMU) == results[0]


def test_failed_encode_does_not_strand_waiters(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = codec.PromptCache()
    calls: list[int] = []

    def broken(kind: Codec, pcm16: bytes) -> tuple[bytes, ...]:
        calls.append(1)
        raise MemoryError("no room")

    monkeypatch.setattr(codec, "frames", broken)
    with pytest.raises(MemoryError):
        cache.frames(Prompt("x", b"\0\0"), Codec.PCMA)
    with pytest.raises(MemoryError):  # tries again instead of waiting forever
        cache.frames(Prompt("x", b"\0\0"), Codec.PCMA)
    assert len(calls) == 2 and len(cache) == 0


def test_prepare_encodes_both_codecs_once(engine: MediaEngine, peer: Peer) -> None:
    prompt = Prompt("greeting", sine(160 * 20))
    engine.prepare(prompt)
    engine.prepare(prompt)
    assert engine.stats()["prompt_encodes"] == 2  # PCMU and PCMA, once each
    for kind in Codec:
        assert engine.prompts.peek(prompt, kind) == codec.frames(kind, prompt.pcm16)
    session = engine.allocate()
    session.start(peer.address, Codec.PCMA, DTMF_PT)
    session.play(prompt)
    assert session.wait_playback(WAIT)
    assert engine.stats()["prompt_encodes"] == 2, "playing a prepared prompt encodes nothing"
    with pytest.raises(MediaError, match="Prompt"):
        engine.prepare(b"pcm")  # type: ignore[arg-type]


def test_unprepared_play_returns_at_once_and_stream_goes_on(
        engine: MediaEngine, peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    gated = GatedEncoder(monkeypatch)
    prompt = Prompt("late", sine(160 * 10))
    done: list[bool] = []
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    player = threading.Thread(target=session.play, args=(prompt, done.append))
    player.start()
    player.join(WAIT)
    assert not player.is_alive(), "play() waited for the encoder"
    assert gated.entered.wait(WAIT)
    silence = bytes([codec.SILENCE_BYTE[Codec.PCMU]]) * 160
    held = peer.receive(10)  # the sender keeps pacing while the prompt is being encoded
    assert all(p.payload == silence for p in held)
    gated.release()
    assert session.wait_playback(WAIT)
    assert wait_for(lambda: done == [True])
    assert gated.calls == [(Codec.PCMU, len(prompt.pcm16))]


def test_many_sessions_first_play_share_one_encode(
        engine: MediaEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    gated = GatedEncoder(monkeypatch)
    peers = [Peer() for _ in range(5)]
    try:
        prompt = Prompt("greeting", sine(160 * 5))
        sessions = [engine.allocate() for _ in peers]
        for session, p in zip(sessions, peers, strict=True):
            session.start(p.address, Codec.PCMA, DTMF_PT)
            session.play(prompt)
        gated.release()
        assert all(s.wait_playback(WAIT) for s in sessions)
        assert gated.calls == [(Codec.PCMA, len(prompt.pcm16))]
    finally:
        for p in peers:
            p.close()


def test_microphone_goes_out_when_no_prompt_plays(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    voice = sine(160 * 3)
    session.write_audio(voice[:101])  # odd pieces: a partial frame waits for the rest
    session.write_audio(voice[101:])
    expected = codec.encode(Codec.PCMU, voice)
    got = b""
    for _ in range(200):
        packet = peer.receive(1)[0]
        if packet.payload != bytes([0xFF]) * 160:
            got += packet.payload
            if len(got) == len(expected):
                break
    assert got == expected
    assert wait_for(lambda: session.mic_sent == 3 and session.mic_gaps == 1), (
        "three microphone frames went out, then the microphone ran dry once")


def test_prompt_goes_first_and_mic_queue_is_bounded(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMA, DTMF_PT)
    prompt = Prompt("greeting", sine(160 * 30))
    engine.prepare(prompt)
    session.play(prompt)
    mic = b"\x10\x00" * 160
    for _ in range(MIC_QUEUE_FRAMES + 15):  # the device runs ahead while the prompt plays
        session.write_audio(mic)
    assert session.mic_dropped == 15
    assert session.wait_playback(WAIT)
    mic_frame = codec.encode(Codec.PCMA, mic)
    assert wait_for(lambda: engine.stats()["mic_dropped"] == 15)
    packets = peer.receive(30 + MIC_QUEUE_FRAMES + 40)
    prompt_frames = set(engine.prompts.peek(prompt, Codec.PCMA) or ())
    kinds = ["p" if p.payload in prompt_frames else "m" if p.payload == mic_frame else "s"
             for p in packets]
    text = "".join(kinds)
    assert "m" * MIC_QUEUE_FRAMES in text and "m" * (MIC_QUEUE_FRAMES + 1) not in text
    assert text.index("m") > text.rindex("p"), "microphone only after the prompt"
    for bad in ("text", 123, None):
        with pytest.raises(MediaError, match="bytes"):
            session.write_audio(bad)  # type: ignore[arg-type]


def test_last_activity_moves_only_with_the_peers_packets(engine: MediaEngine, peer: Peer) -> None:
    clock = [100.0]
    low, high = port_range(10)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], clock=lambda: clock[0])
    stranger = Peer()
    try:
        session = eng.allocate()
        clock[0] = 110.0
        session.start(peer.address, Codec.PCMU, DTMF_PT)
        assert session.last_activity == 110.0
        clock[0] = 150.0
        stranger.send(session, rtp(0, 1, 160, b"\xff" * 160))
        assert wait_for(lambda: eng.stats()["drops"].get("foreign_source") == 1)
        assert session.last_activity == 110.0, "a spoofed packet is no sign of life"
        peer.send(session, rtp(0, 2, 320, b"\xff" * 160))
        assert wait_for(lambda: session.last_activity == 150.0)
    finally:
        stranger.close()
        eng.close()


@pytest.mark.parametrize("spin", [-0.001, 0.1, "0.0005", None])
def test_bad_spin_window_is_refused(spin: object) -> None:
    with pytest.raises(MediaError, match="spin"):
        MediaEngine("127.0.0.1", 40000, 40010, ["127.0.0.0/8"], spin=spin)  # type: ignore[arg-type]


def test_sender_with_a_frozen_clock_still_sleeps(peer: Peer) -> None:
    """The spin is timed by the monotonic clock: a test's frozen engine clock cannot make the
    sender busy-loop; it sends its first tick and then waits for the clock to move."""
    clock = [5.0]
    low, high = port_range(10)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], clock=lambda: clock[0],
                      spin=0.005)
    try:
        session = eng.allocate()
        session.start(peer.address, Codec.PCMU, DTMF_PT)
        assert len(peer.receive(1)) == 1
        clock[0] += 0.040  # two ticks later on the engine's clock
        assert len(peer.receive(2)) == 2
        assert wait_for(lambda: eng.stats()["packets_sent"] == 3)
    finally:
        eng.close()


def test_prompt_that_cannot_be_encoded_is_dropped_not_waited_for(
        engine: MediaEngine, peer: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(kind: Codec, pcm16: bytes) -> tuple[bytes, ...]:
        raise MemoryError("no room for the frames")

    monkeypatch.setattr(codec, "frames", broken)
    done: list[bool] = []
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    session.play(Prompt("broken", sine(1600)), done.append)
    assert session.wait_playback(WAIT), "nothing left queued"
    assert wait_for(lambda: done == [False])
    assert not session.playing
