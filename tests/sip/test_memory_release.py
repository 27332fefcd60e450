"""An ended call leaves nothing behind in the line: bench_soak saw ~50 KiB per call kept
because a cancelled timer held its closure until its time (timer H: 32 s, the call and its
media with 2 s of audio), a closed RTP session kept its buffered audio, and a session's DTMF
handler (the call's bound method) tied call and session in a cycle only a full GC breaks."""

from __future__ import annotations

import gc
import weakref

from sip.api import Codec
from sip.media import MediaEngine
from sip.timers import ManualScheduler
from tests.sip.test_media import DTMF_PT, Peer, engine, peer, rtp, wait_for

__all__ = ["engine", "peer"]  # fixtures, re-exported for pytest


class _Holder:
    """Stands for a call a timer's closure refers to."""

    def fire(self) -> None:
        raise AssertionError("a cancelled timer ran")


def test_a_cancelled_timer_lets_go_of_what_its_closure_held() -> None:
    scheduler = ManualScheduler()
    holder = _Holder()
    alive = weakref.ref(holder)
    handle = scheduler.call_later(32.0, holder.fire, "invite-H")
    handle.cancel()
    del holder
    assert alive() is None  # before its time, while the handle is still in the heap
    scheduler.advance(40.0)  # and running it is a no-op


def test_a_closed_session_frees_its_audio_and_its_dtmf_handler(
    engine: MediaEngine, peer: Peer
) -> None:
    session = engine.allocate()
    holder = _Holder()
    alive = weakref.ref(holder)
    session.on_dtmf = lambda digit, h=holder: None  # type: ignore[misc]
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    for seq in range(5):
        peer.sock.sendto(rtp(0, seq, seq * 160, b"\xff" * 160), ("127.0.0.1", session.local_port))
    assert wait_for(lambda: session.buffered_frames >= 5)
    session.close()
    del holder
    gc.disable()  # freed by reference counting, not by a later collection
    try:
        assert session.buffered_frames == 0
        assert session.on_dtmf is None and alive() is None
    finally:
        gc.enable()
