"""The RTP sender at many calls (issue 14): streams spread over the 20 ms period, a tick's
packets sent with the GIL held, the sender's own timing counted.

At 100 calls `scripts/bench_soak` found the interval stdev growing with a stream's place in
the tick (1.2 ms for the first 25 streams, 3.1 ms for the last 25): the sends of one tick
are one after the other, and each waited for those before it. Pacing itself is a benchmark
(`scripts/bench_soak`, `scripts/bench_rtp`); these tests pin the mechanisms, on a fake clock.
"""

from __future__ import annotations

import errno
import socket
import sys
import time
from collections.abc import Iterator

import pytest

from sip.api import Codec
from sip.media import SLOT_STREAMS, SLOTS, HeldSendto, MediaEngine, RtpSession
from tests.sip.test_media import FakeClock, Peer, parse, port_range


def _sources(peer: Peer, quiet: float = 0.3) -> list[int]:
    """The source ports of what `peer` receives until it has been quiet for `quiet` s."""
    ports = []
    peer.sock.settimeout(quiet)
    try:
        while True:
            data, source = peer.sock.recvfrom(4096)
            parse(data)
            ports.append(source[1])
    except TimeoutError:
        pass
    return ports


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_engine(clock: FakeClock) -> Iterator[MediaEngine]:
    low, high = port_range(200)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], clock=clock)
    yield eng
    eng.close()


def test_streams_beyond_25_go_at_the_next_moment_of_the_period(
    fake_engine: MediaEngine, clock: FakeClock,
) -> None:
    peer = Peer()
    try:
        sessions: list[RtpSession] = []
        for _ in range(SLOT_STREAMS + 5):
            session = fake_engine.allocate()
            session.start(peer.address, Codec.PCMU, None)
            sessions.append(session)
        assert [s.slot for s in sessions] == [0] * SLOT_STREAMS + [1] * 5
        assert fake_engine.stats()["slots"] == [SLOT_STREAMS, 5] + [0] * (SLOTS - 2)
        first, second = ({s.local_port for s in sessions if s.slot == n} for n in (0, 1))
        # The clock stands at the first stream's start: only the first moment is due.
        assert set(_sources(peer)) <= first
        clock.advance(0.020 / SLOTS + 1e-6)  # the second moment, 5 ms later
        assert sorted(_sources(peer)) == sorted(second)  # one packet each, none of the rest
        clock.advance(0.020 - 0.020 / SLOTS)  # the first moment's next tick
        assert sorted(_sources(peer)) == sorted(first)
    finally:
        peer.close()


def test_a_stream_that_ends_frees_its_place_for_the_next(fake_engine: MediaEngine) -> None:
    peer = Peer()
    try:
        sessions = []
        for _ in range(SLOT_STREAMS + 1):
            session = fake_engine.allocate()
            session.start(peer.address, Codec.PCMA, None)
            sessions.append(session)
        assert sessions[-1].slot == 1
        sessions[3].close()
        newcomer = fake_engine.allocate()
        newcomer.start(peer.address, Codec.PCMA, None)
        assert newcomer.slot == 0  # back to 25 at the first moment, 1 at the second
        assert fake_engine.stats()["slots"][:2] == [SLOT_STREAMS, 1]
    finally:
        peer.close()


def test_more_streams_than_the_slots_hold_are_shared_evenly() -> None:
    low, high = port_range(600)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], clock=FakeClock())
    peer = Peer()
    try:
        for _ in range(SLOTS * SLOT_STREAMS + 6):
            eng.allocate().start(peer.address, Codec.PCMU, None)
        slots = eng.stats()["slots"]
        assert sum(slots) == SLOTS * SLOT_STREAMS + 6
        assert max(slots) - min(slots) <= 1
    finally:
        eng.close()
        peer.close()


def test_the_sender_counts_its_late_ticks(fake_engine: MediaEngine, clock: FakeClock) -> None:
    peer = Peer()
    try:
        session = fake_engine.allocate()
        session.start(peer.address, Codec.PCMU, None)
        peer.receive(1)
        assert fake_engine.stats()["ticks_late"] == 0
        clock.advance(0.1)  # the sender wakes 100 ms after a tick was due
        peer.receive(2)
        deadline = time.monotonic() + 5
        while fake_engine.stats()["ticks_late"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = fake_engine.stats()
        assert stats["ticks_late"] >= 1 and stats["tick_late_max_ms"] >= 60.0, stats
        assert stats["ticks"] >= 2 and stats["tick_work_max_ms"] >= 0.0
    finally:
        peer.close()


@pytest.mark.skipif(sys.platform != "linux", reason="the held sendto is Linux's sockaddr only")
@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"),
                                          (socket.AF_INET6, "::1")])
def test_the_held_sendto_sends_what_socket_sendto_sends(family: int, host: str) -> None:
    held = HeldSendto()
    assert held.available
    receiver = socket.socket(family, socket.SOCK_DGRAM)
    sender = socket.socket(family, socket.SOCK_DGRAM)
    try:
        receiver.bind((host, 0))
        sender.bind((host, 0))
        receiver.settimeout(5)
        address = receiver.getsockname()[:2]
        sockaddr = held.sockaddr(family, address)
        assert sockaddr is not None
        assert held(sender.fileno(), b"\x80\x00rtp", sockaddr) == 0
        data, source = receiver.recvfrom(64)
        assert data == b"\x80\x00rtp" and source[1] == sender.getsockname()[1]
        assert held(-1, b"x", sockaddr) == errno.EBADF  # a failure is an errno, not a raise
    finally:
        receiver.close()
        sender.close()


def test_what_the_held_sendto_cannot_address_goes_through_the_socket() -> None:
    assert HeldSendto.sockaddr(socket.AF_INET6, ("fe80::1%eth0", 4000)) is None
    assert HeldSendto.sockaddr(socket.AF_INET, ("not an address", 4000)) is None
    assert HeldSendto.sockaddr(socket.AF_INET, ("127.0.0.1", 70000)) is None


@pytest.mark.parametrize("hold_gil", [True, False])
def test_both_send_paths_carry_the_stream(hold_gil: bool) -> None:
    low, high = port_range(20)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], hold_gil=hold_gil)
    peer = Peer()
    try:
        session = eng.allocate()
        session.start(peer.address, Codec.PCMU, None)
        packets = peer.receive(5)
        assert [p.seq for p in packets] == [(packets[0].seq + i) & 0xFFFF for i in range(5)]
        expected = "held" if hold_gil and sys.platform == "linux" else "socket"
        assert eng.stats()["send_path"] == expected
        assert eng.stats()["send_errors"] == 0
    finally:
        eng.close()
        peer.close()
