"""The audio tap of an RTP session (what call recording is built on), on real loopback UDP.

The tap must see exactly what went each way: every received audio frame decoded, every sent
frame (prompt or silence) as the peer decodes it, never a DTMF event or a dropped packet;
and a tap that fails must not stall or break the stream.
"""

from __future__ import annotations

import threading

import pytest

from sip import codec
from sip.api import AudioDirection, Codec, MediaError, Prompt
from sip.media import MediaEngine
from tests.sip.test_media import (  # the same loopback fixtures as the engine's own tests
    DTMF_PT,
    WAIT,
    Peer,
    dtmf,
    engine,
    peer,
    rtp,
    sine,
    wait_for,
)

__all__ = ["engine", "peer"]  # fixtures, re-exported for pytest


class Tap:
    """Collects what a session hands over, per direction, with the thread it came on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: dict[AudioDirection, list[bytes]] = {d: [] for d in AudioDirection}
        self.threads: dict[AudioDirection, set[str]] = {d: set() for d in AudioDirection}

    def __call__(self, direction: AudioDirection, pcm: bytes) -> None:
        with self.lock:
            self.frames[direction].append(pcm)
            self.threads[direction].add(threading.current_thread().name)

    def count(self, direction: AudioDirection) -> int:
        with self.lock:
            return len(self.frames[direction])


@pytest.mark.parametrize("kind", list(Codec))
def test_tap_sees_received_audio_decoded_and_nothing_else(
    engine: MediaEngine, peer: Peer, kind: Codec
) -> None:
    tap = Tap()
    session = engine.allocate()
    session.set_tap(tap)
    session.start(peer.address, kind, DTMF_PT)
    pcm = sine(160 * 5)
    coded = codec.encode(kind, pcm)
    peer.send(session, dtmf(1, 100, marker=True))  # an event: not audio, never tapped
    peer.send(session, b"\x80")  # garbage: dropped, never tapped
    for i in range(5):
        peer.send(session, rtp(kind.value, i, i * 160, coded[i * 160:(i + 1) * 160]))
    assert wait_for(lambda: tap.count(AudioDirection.RECEIVED) == 5)
    assert b"".join(tap.frames[AudioDirection.RECEIVED]) == codec.decode(kind, coded)
    assert tap.threads[AudioDirection.RECEIVED] == {"rtp-recv"}
    assert session.read_audio(10) == codec.decode(kind, coded)  # the tap copies, takes nothing


def test_tap_sees_every_sent_frame_as_the_peer_hears_it(engine: MediaEngine, peer: Peer) -> None:
    tap = Tap()
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    peer.receive(3)  # silence before the tap: not seen
    session.set_tap(tap)
    prompt = Prompt("greeting", sine(160 * 10))
    session.play(prompt)
    assert session.wait_playback(WAIT)
    session.set_tap(None)
    seen = tap.count(AudioDirection.SENT)
    heard = peer.receive(40)
    # what the tap saw is a contiguous run of what the peer got, frame by frame
    tapped = tap.frames[AudioDirection.SENT]
    decoded = [codec.decode(Codec.PCMU, p.payload) for p in heard]
    start = next(i for i in range(len(decoded)) if decoded[i:i + seen] == tapped)
    assert seen >= 10 and start >= 0
    talk = b"".join(tapped)
    assert codec.decode(Codec.PCMU, codec.encode(Codec.PCMU, prompt.pcm16)) in talk
    assert tap.threads[AudioDirection.SENT] == {"rtp-send"}
    assert tap.count(AudioDirection.SENT) == seen  # None stopped it


def test_a_tap_that_raises_is_removed_and_the_stream_goes_on(
    engine: MediaEngine, peer: Peer
) -> None:
    calls: list[AudioDirection] = []

    def broken(direction: AudioDirection, pcm: bytes) -> None:
        calls.append(direction)
        raise OSError(28, "No space left on device")

    session = engine.allocate()
    session.set_tap(broken)
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    first = peer.receive(1)[0]
    later = peer.receive(10)
    assert later[-1].seq == (first.seq + 10) & 0xFFFF  # paced on, no gap
    assert wait_for(lambda: engine.stats()["tap_errors"] == 1)
    assert calls == [AudioDirection.SENT]  # called once, then removed


@pytest.mark.parametrize("bad", ["not callable", 42])
def test_bad_tap_is_refused(engine: MediaEngine, bad: object) -> None:
    session = engine.allocate()
    with pytest.raises(MediaError, match="not callable"):
        session.set_tap(bad)  # type: ignore[arg-type]


def test_closing_drops_the_tap(engine: MediaEngine, peer: Peer) -> None:
    tap = Tap()
    session = engine.allocate()
    session.set_tap(tap)
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    assert wait_for(lambda: tap.count(AudioDirection.SENT) >= 2)
    session.close()
    settled = tap.count(AudioDirection.SENT)
    peer.drain()
    assert not wait_for(lambda: tap.count(AudioDirection.SENT) > settled, timeout=0.2)
