"""The RTP engine on real loopback UDP: pacing structure, codecs, DTMF, filtering, ports, memory.

Every assertion is on what a receiving socket saw (counts, sequence/timestamp continuity,
decoded audio) or on the engine's counters; none is a wall-clock threshold.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from sip import codec
from sip.api import Codec, MediaError, Prompt
from sip.media import DropReason, MediaEngine, Pacer, RtpSession, parse_rtp

DTMF_PT = 101
WAIT = 5.0


@dataclass(frozen=True)
class Rtp:
    marker: bool
    pt: int
    seq: int
    ts: int
    ssrc: int
    payload: bytes


def parse(data: bytes) -> Rtp:
    first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    assert first == 0x80
    return Rtp(bool(second & 0x80), second & 0x7F, seq, ts, ssrc, data[12:])


def rtp(pt: int, seq: int, ts: int, payload: bytes, marker: bool = False,
        first: int = 0x80, ssrc: int = 0x1234) -> bytes:
    return struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc) + payload


def dtmf(code: int, ts: int, end: bool = False, marker: bool = False, seq: int = 1) -> bytes:
    return rtp(DTMF_PT, seq, ts, bytes([code, 0x80 if end else 0, 0, 160]), marker)


def sine(samples: int, amplitude: int = 9000) -> bytes:
    return struct.pack(f"<{samples}h", *(int(amplitude * math.sin(i / 7.3))
                                         for i in range(samples)))


def unpack(data: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def wait_for(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


class Peer:
    """The far end: a loopback socket that records what it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(WAIT)
        self.address: tuple[str, int] = self.sock.getsockname()

    def receive(self, count: int) -> list[Rtp]:
        return [parse(self.sock.recvfrom(4096)[0]) for _ in range(count)]

    def drain(self) -> None:
        self.sock.settimeout(0.0)
        try:
            while True:
                self.sock.recvfrom(4096)
        except BlockingIOError:
            pass
        finally:
            self.sock.settimeout(WAIT)

    def send(self, session: RtpSession, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", session.local_port))

    def close(self) -> None:
        self.sock.close()


def port_range(size: int) -> tuple[int, int]:
    """A random even-based range, so parallel runs rarely meet (the allocator skips busy ports)."""
    low = random.randrange(30000, 60000 - size) & ~1
    return low, low + size - 1


@pytest.fixture
def engine() -> Iterator[MediaEngine]:
    low, high = port_range(200)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8", "::1/128"])
    yield eng
    eng.close()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


def assert_one_stream(packets: list[Rtp]) -> None:
    """Same SSRC, sequence +1 and timestamp +160 from packet to packet."""
    assert len({p.ssrc for p in packets}) == 1
    for a, b in itertools.pairwise(packets):
        assert b.seq == (a.seq + 1) & 0xFFFF
        assert b.ts == (a.ts + 160) & 0xFFFFFFFF


# ---------------------------------------------------------------- sending


@pytest.mark.parametrize("kind", list(Codec))
def test_prompt_goes_out_paced_continuous_and_decodable(
        engine: MediaEngine, peer: Peer, kind: Codec) -> None:
    prompt = Prompt("greeting", sine(160 * 25 + 37))  # 25 frames and a bit
    done: list[bool] = []
    session = engine.allocate()
    session.start(peer.address, kind, DTMF_PT)
    session.play(prompt, done.append)
    packets = peer.receive(60)
    assert_one_stream(packets)
    assert {p.pt for p in packets} == {kind.value}
    assert packets[0].marker, "marker on the stream's first packet"
    silence = bytes([codec.SILENCE_BYTE[kind]]) * 160
    talk = [i for i, p in enumerate(packets) if p.payload != silence]
    start = talk[0]
    assert packets[start].marker, "marker on the talkspurt's first packet"
    assert sum(p.marker for p in packets) == (1 if start == 0 else 2)
    audio = b"".join(p.payload for p in packets[start:start + 26])
    assert all(p.payload == silence for p in packets[start + 26:])
    decoded = unpack(codec.decode(kind, audio))[: len(prompt.pcm16) // 2]
    original = unpack(prompt.pcm16)
    assert all(abs(a - b) <= abs(a) / 16 + 33 for a, b in zip(original, decoded, strict=True))
    assert session.wait_playback(WAIT)
    assert wait_for(lambda: done == [True])


def test_silence_before_any_prompt(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMA, None)
    packets = peer.receive(10)
    assert_one_stream(packets)
    assert all(p.payload == bytes([0xD5]) * 160 for p in packets)


def test_prompts_queue_in_order_and_report_once(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    events: list[tuple[str, bool]] = []
    first = Prompt("a", sine(320, 3000))
    second = Prompt("b", sine(480, 20000))
    session.play(first, lambda ok: events.append(("a", ok)))  # queued before start: fine
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    session.play(second, lambda ok: events.append(("b", ok)))
    assert session.wait_playback(WAIT)
    assert wait_for(lambda: len(events) == 2)
    assert events == [("a", True), ("b", True)]
    packets = peer.receive(12)
    assert_one_stream(packets)


def test_stop_playback_drops_and_reports_false(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    events: list[bool] = []
    session.play(Prompt("long", sine(8000 * 5)), events.append)
    session.play(Prompt("next", sine(8000)), events.append)
    peer.receive(5)
    session.stop_playback()
    assert session.wait_playback(0.5)
    assert wait_for(lambda: events == [False, False])
    peer.drain()
    packets = peer.receive(5)
    assert all(p.payload == b"\xff" * 160 for p in packets[1:])


def test_wait_playback_times_out_then_false_after_close(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, None)
    events: list[bool] = []
    session.play(Prompt("long", sine(8000 * 10)), events.append)
    assert session.wait_playback(0.05) is False
    closer = threading.Timer(0.1, session.close)
    closer.start()
    assert session.wait_playback(WAIT) is False
    closer.join()
    session.play(Prompt("after", sine(160)), events.append)
    assert wait_for(lambda: events == [False, False])


# ---------------------------------------------------------------- pacing schedule


def test_pacer_on_time_sends_one_per_tick() -> None:
    pacer = Pacer(100.0)
    sent = [pacer.poll(100.0 + 0.02 * n + 0.0001) for n in range(1000)]
    assert sent == [(1, 0)] * 1000
    assert pacer.next_wakeup(100.0 + 0.02 * 999 + 0.001) == pytest.approx(100.0 + 0.02 * 1000)


def test_pacer_has_no_drift_with_jittery_wakeups() -> None:
    pacer = Pacer(0.0)
    rng = random.Random(7)
    total = 0
    now = 0.0
    while now < 60.0:
        total += pacer.poll(now)[0]
        now = pacer.next_wakeup(now) + rng.uniform(0.0, 0.004)  # always a bit late
    expected = math.floor(now / 0.02) + 1  # ticks on the grid up to `now`
    assert pacer.skipped == 0
    assert expected - 1 <= total <= expected  # the one due at `now` may not be polled yet


def test_pacer_catches_up_in_bounded_bursts() -> None:
    pacer = Pacer(0.0, max_burst=2, catchup_gap=0.005)
    assert pacer.poll(0.0) == (1, 0)
    now = 0.1 + 0.0001  # woke 5 ticks late
    bursts = []
    for _ in range(3):
        bursts.append(pacer.poll(now))
        now = pacer.next_wakeup(now)
    assert bursts == [(2, 0), (2, 0), (1, 0)]
    assert now == pytest.approx(0.12)  # back on the grid
    assert pacer.ticks == 6
    assert pacer.skipped == 0


def test_pacer_skips_a_long_stall_instead_of_bursting() -> None:
    pacer = Pacer(0.0, resync_after=10)
    assert pacer.poll(0.0) == (1, 0)
    send, skipped = pacer.poll(1.0)  # one second stalled: 50 ticks due
    assert (send, skipped) == (1, 49)
    assert pacer.next_wakeup(1.0) == pytest.approx(1.02)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_late_sender_catches_up_then_resyncs_with_marker(peer: Peer) -> None:
    clock = FakeClock()
    low, high = port_range(20)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"], clock=clock)
    try:
        session = eng.allocate()
        session.start(peer.address, Codec.PCMU, None)
        first = peer.receive(1)
        clock.advance(0.1 + 1e-6)  # 5 ticks late: caught up, at most 2 back to back
        caught_up = peer.receive(5)
        assert_one_stream(first + caught_up)
        assert eng.stats()["max_burst"] == 2
        assert eng.stats()["skipped_ticks"] == 0
        clock.advance(2.0)  # a 2 s stall: skipped, not burst out
        resumed = peer.receive(1)[0]
        assert resumed.marker
        assert resumed.seq == (caught_up[-1].seq + 1) & 0xFFFF
        assert resumed.ts == (caught_up[-1].ts + 160 * 100) & 0xFFFFFFFF
        assert eng.stats()["skipped_ticks"] == 99
        assert eng.stats()["max_burst"] == 2
    finally:
        eng.close()


# ---------------------------------------------------------------- re-INVITE


def test_retarget_keeps_one_stream(engine: MediaEngine, peer: Peer) -> None:
    other = Peer()
    try:
        session = engine.allocate()
        session.start(peer.address, Codec.PCMU, DTMF_PT)
        before = peer.receive(10)
        port = session.local_port
        session.retarget(other.address)
        after = other.receive(20)
        assert session.local_port == port
        assert after[0].ssrc == before[0].ssrc
        assert_one_stream(after)
        # Every sequence number between the last packet at A and the first at B went to A:
        peer.sock.settimeout(0.2)
        late = []
        try:
            while True:
                late.append(parse(peer.sock.recvfrom(4096)[0]))
        except TimeoutError:
            pass
        assert_one_stream(before + late + after)  # no gap, no duplicate: one stream, one rate
        assert after[0].marker
        assert engine.stats()["active"] == 1
    finally:
        other.close()


def test_retarget_to_other_codec_mid_prompt(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    done: list[bool] = []
    session.play(Prompt("long", sine(160 * 100)), done.append)
    assert [p.pt for p in peer.receive(5)] == [0] * 5
    session.retarget(peer.address, Codec.PCMA)
    packets = peer.receive(30)
    switched = [p.pt for p in packets]
    assert switched[-20:] == [8] * 20
    assert_one_stream(packets)
    assert session.wait_playback(WAIT)
    assert wait_for(lambda: done == [True])


# ---------------------------------------------------------------- receiving


def test_dtmf_variants_over_udp(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    digits: list[str] = []
    session.on_dtmf = digits.append
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    script = [
        dtmf(1, 1000, marker=True), dtmf(1, 1000), dtmf(1, 1000, end=True),   # marked
        dtmf(1, 1000, end=True), dtmf(1, 1000, end=True),                      # repeated end
        dtmf(1, 2600), dtmf(1, 2600, end=True),                                # unmarked, again 1
        dtmf(20, 4200, marker=True), dtmf(255, 5800, end=True),                # not digits
        dtmf(3, 7400, marker=True), dtmf(3, 7400, marker=True),                # repeated marker
        dtmf(10, 9000), dtmf(11, 10600), dtmf(12, 12200), dtmf(15, 13800),
    ]
    for seq, packet in enumerate(script):
        peer.send(session, packet[:2] + struct.pack("!H", seq) + packet[4:])
    assert wait_for(lambda: len(digits) >= 7)
    time.sleep(0.1)
    assert digits == ["1", "1", "3", "*", "#", "A", "D"]
    assert engine.stats()["dtmf_digits"] == 7


def test_spoofed_digit_from_another_source_is_dropped(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    digits: list[str] = []
    session.on_dtmf = digits.append
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    intruder = Peer()  # same host, other port: not the negotiated peer either
    try:
        intruder.send(session, dtmf(9, 500, marker=True))
        intruder.send(session, dtmf(9, 500, end=True))
        assert wait_for(lambda: engine.stats()["drops"].get("foreign_source") == 2)
        peer.send(session, dtmf(2, 700, marker=True))
        assert wait_for(lambda: digits == ["2"])
    finally:
        intruder.close()


def test_nothing_accepted_before_start(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    peer.send(session, dtmf(1, 10, marker=True))
    assert wait_for(lambda: engine.stats()["drops"].get("not_started") == 1)


GARBAGE = {
    DropReason.SHORT: [b"", b"\x80", b"\x80\x00\x00\x01\x00\x00\x00"],
    DropReason.VERSION: [rtp(0, 1, 1, b"x" * 160, first=0x40), b"\x00" * 40],
    DropReason.CSRC_OVERRUN: [rtp(0, 1, 1, b"\x00" * 8, first=0x8F)],
    DropReason.EXTENSION_OVERRUN: [rtp(0, 1, 1, b"", first=0x90),
                                   rtp(0, 1, 1, b"\xbe\xde\x00\x40" + b"\x00" * 8, first=0x90)],
    DropReason.PADDING: [rtp(0, 1, 1, b"\xff" * 10 + b"\x00", first=0xA0),
                         rtp(0, 1, 1, b"\xff" * 10 + b"\xc8", first=0xA0)],
    DropReason.UNKNOWN_PAYLOAD: [rtp(13, 1, 1, b"\x40"), rtp(8, 1, 1, b"\xd5" * 160),
                                 rtp(96, 1, 1, b"\x01\x80\x00\x10")],
    DropReason.BAD_EVENT: [rtp(DTMF_PT, 1, 1, b"\x01\x80")],
}


def test_garbage_is_dropped_counted_and_harmless(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    digits: list[str] = []
    session.on_dtmf = digits.append
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    for packets in GARBAGE.values():
        for packet in packets:
            peer.send(session, packet)
    peer.send(session, dtmf(4, 99, marker=True))
    assert wait_for(lambda: digits == ["4"])
    drops = engine.stats()["drops"]
    assert drops == {reason.value: len(packets) for reason, packets in GARBAGE.items()}
    assert session.read_audio(10) == b""


def test_valid_header_variants_are_accepted() -> None:
    csrc = rtp(0, 1, 1, b"\x00" * 8 + b"\xff" * 4, first=0x82)
    ext = rtp(0, 1, 1, b"\xbe\xde\x00\x01" + b"\x00" * 4 + b"\xff" * 4, first=0x90)
    padded = rtp(0, 1, 1, b"\xff" * 4 + b"\x00\x00\x03", first=0xA0)
    for data in (csrc, ext, padded):
        packet = parse_rtp(data)
        assert not isinstance(packet, DropReason)
        assert packet.payload == b"\xff" * 4


def test_inbound_audio_is_decoded(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMA, DTMF_PT)
    pcm = sine(160 * 4)
    alaw = codec.encode(Codec.PCMA, pcm)
    for i in range(4):
        peer.send(session, rtp(8, i, i * 160, alaw[i * 160:(i + 1) * 160]))
    assert wait_for(lambda: session.buffered_frames == 4)
    got = session.read_audio(3) + session.read_audio(10)
    assert got == codec.decode(Codec.PCMA, alaw)
    assert session.read_audio(10) == b""


def test_memory_bounded_after_thousands_of_packets(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    payload = b"\x10" * 160

    def flood(first: int, count: int) -> None:
        """Batches of 100, each read before the next, so the kernel's socket buffer never drops."""
        for batch in range(first, first + count, 100):
            target = engine.stats()["packets_received"] + 100
            for i in range(batch, batch + 100):
                peer.send(session, rtp(0, i & 0xFFFF, i * 160, payload))
            assert wait_for(lambda: engine.stats()["packets_received"] >= target)  # noqa: B023

    flood(0, 2000)
    # only allocations made by sip/ code count: in the full suite, other threads of the process
    # (the session-wide lab's readers) allocate during the window too
    only_sip = [tracemalloc.Filter(True, "*/sip/*")]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(only_sip)
        flood(2000, 6000)
        after = tracemalloc.take_snapshot().filter_traces(only_sip)
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert session.buffered_frames == 100  # 2 s
    assert engine.stats()["audio_overruns"] > 0
    assert grown < 100_000, f"grew {grown} bytes over 6000 packets"
    assert len(session.read_audio(1000)) == 100 * 320


# ---------------------------------------------------------------- robustness of callbacks


def test_callbacks_that_raise_do_not_kill_threads(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    seen: list[str] = []

    def bad_handler(digit: str) -> None:
        seen.append(digit)
        raise RuntimeError("handler bug")

    def bad_done(ok: bool) -> None:
        raise ValueError("done bug")

    session.on_dtmf = bad_handler
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    session.play(Prompt("p", sine(160)), bad_done)
    peer.send(session, dtmf(1, 100, marker=True))
    peer.send(session, dtmf(2, 300, marker=True))
    assert wait_for(lambda: seen == ["1", "2"])
    assert wait_for(lambda: engine.stats()["callback_errors"] == 3)
    before = peer.receive(1)[0]
    after = peer.receive(3)
    assert after[-1].seq == (before.seq + 3) & 0xFFFF  # the sender goes on


def test_slow_callback_does_not_stall_pacing(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    release = threading.Event()

    def slow(digit: str) -> None:
        release.wait(WAIT)

    session.on_dtmf = slow
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    peer.send(session, dtmf(1, 100, marker=True))
    assert wait_for(lambda: engine.stats()["dtmf_digits"] == 1)
    packets = peer.receive(20)  # would time out if the sender waited for the handler
    release.set()
    assert_one_stream(packets)


# ---------------------------------------------------------------- ports


def test_ports_even_distinct_exhaustion_and_reuse(peer: Peer) -> None:
    low, high = port_range(8)  # 4 even ports
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"])
    try:
        sessions = []
        with pytest.raises(MediaError) as raised:
            for _ in range(10):
                sessions.append(eng.allocate())
        assert raised.value.title == "RTP ports exhausted"
        ports = [s.local_port for s in sessions]
        assert 1 <= len(ports) <= 4
        assert len(set(ports)) == len(ports)
        assert all(p % 2 == 0 and low <= p < high for p in ports)
        assert eng.stats()["ports_in_use"] == len(ports)
        sessions[0].start(peer.address, Codec.PCMU, None)
        freed = sessions[1].local_port if len(sessions) > 1 else sessions[0].local_port
        (sessions[1] if len(sessions) > 1 else sessions[0]).close()
        again = eng.allocate()
        assert again.local_port == freed
        with pytest.raises(MediaError):
            eng.allocate()
    finally:
        eng.close()


def test_port_in_use_elsewhere_is_skipped() -> None:
    low, _high = port_range(6)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        squatter.bind(("127.0.0.1", low))
    except OSError:
        squatter.close()
        pytest.skip(f"port {low} is busy in this environment; nothing to squat")
    eng = MediaEngine("127.0.0.1", low, low + 5, ["127.0.0.0/8"])
    try:
        ports = {eng.allocate().local_port for _ in range(2)}
        assert low not in ports
    finally:
        eng.close()
        squatter.close()


def port_is_free(port: int) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def test_close_releases_ports_and_is_idempotent(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    assert not port_is_free(session.local_port)
    session.start(peer.address, Codec.PCMU, None)
    peer.receive(2)
    session.close()
    session.close()
    assert port_is_free(session.local_port)
    assert engine.stats()["ports_in_use"] == 0
    assert engine.stats()["sessions"] == 0
    peer.drain()
    peer.sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.sock.recvfrom(4096)


def test_engine_close_stops_threads_and_frees_everything(peer: Peer) -> None:
    low, high = port_range(40)
    eng = MediaEngine("127.0.0.1", low, high, ["127.0.0.0/8"])
    sessions = [eng.allocate() for _ in range(5)]
    for s in sessions:
        s.start(peer.address, Codec.PCMU, None)
    done: list[bool] = []
    sessions[0].play(Prompt("p", sine(8000 * 5)), done.append)
    eng.close()
    assert all(port_is_free(s.local_port) for s in sessions)
    assert not any(t.is_alive() for t in (eng._sender, eng._receiver, eng._dispatcher))
    assert done == [False]
    with pytest.raises(MediaError):
        eng.allocate()
    eng.close()


def test_many_sessions_all_paced(engine: MediaEngine) -> None:
    peers = [Peer() for _ in range(20)]
    try:
        sessions = [engine.allocate() for _ in peers]
        for s, p in zip(sessions, peers, strict=True):
            s.start(p.address, Codec.PCMA, DTMF_PT)
            s.play(Prompt("g", sine(160 * 10)))
        for p in peers:
            assert_one_stream(p.receive(15))
        assert len({s.ssrc for s in sessions}) == 20
    finally:
        for p in peers:
            p.close()


def test_ipv6_loopback_stream() -> None:
    try:
        receiver = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        receiver.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here ({exc})")
    receiver.settimeout(WAIT)
    low, high = port_range(20)
    eng = MediaEngine("::1", low, high, ["::1/128"])
    try:
        session = eng.allocate()
        digits: list[str] = []
        session.on_dtmf = digits.append
        session.start(receiver.getsockname()[:2], Codec.PCMU, DTMF_PT)
        assert_one_stream([parse(receiver.recvfrom(4096)[0]) for _ in range(5)])
        receiver.sendto(dtmf(5, 80, marker=True), ("::1", session.local_port))
        assert wait_for(lambda: digits == ["5"])
    finally:
        eng.close()
        receiver.close()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("remote", "what"), [
    (("192.0.2.10", 4000), "outside the media networks"),
    (("example.com", 4000), "not (IP address, port)"),
    (("127.0.0.1", 0), "not 1-65535"),
    (("127.0.0.1", 70000), "not 1-65535"),
    (("127.0.0.1", "4000"), "not 1-65535"),
    (("::1", 4000), "IPv6"),
    (("127.0.0.1",), "not (IP address, port)"),
])
def test_bad_remote_refused_and_session_still_usable(
        engine: MediaEngine, peer: Peer, remote: tuple[str, int], what: str) -> None:
    session = engine.allocate()
    with pytest.raises(MediaError, match=re.escape(what)):
        session.start(remote, Codec.PCMU, DTMF_PT)
    session.start(peer.address, Codec.PCMU, DTMF_PT)
    assert_one_stream(peer.receive(3))


@pytest.mark.parametrize(("codec_value", "dtmf_pt", "what"), [
    (0, DTMF_PT, "codec"), ("PCMA", DTMF_PT, "codec"), (Codec.PCMU, 13, "dynamic"),
    (Codec.PCMU, 128, "dynamic"), (Codec.PCMU, "101", "dynamic"),
])
def test_bad_codec_or_event_type(engine: MediaEngine, peer: Peer, codec_value: object,
                                 dtmf_pt: object, what: str) -> None:
    session = engine.allocate()
    with pytest.raises(MediaError, match=what):
        session.start(peer.address, codec_value, dtmf_pt)  # type: ignore[arg-type]


def test_wrong_order_calls(engine: MediaEngine, peer: Peer) -> None:
    session = engine.allocate()
    with pytest.raises(MediaError, match="nothing to retarget"):
        session.retarget(peer.address)
    session.start(peer.address, Codec.PCMU, None)
    with pytest.raises(MediaError, match="active -> active"):
        session.start(peer.address, Codec.PCMU, None)
    with pytest.raises(MediaError, match="Prompt"):
        session.play(b"raw bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_frames"):
        session.read_audio(-1)
    session.close()
    with pytest.raises(MediaError):
        session.retarget(peer.address)


@pytest.mark.parametrize(("args", "what"), [
    (("localhost", 30000, 30100, ["127.0.0.0/8"]), "not an IP address"),
    (("127.0.0.1", 30001, 30001, ["127.0.0.0/8"]), "no even/odd port pair"),
    (("127.0.0.1", 30100, 30000, ["127.0.0.0/8"]), "no even/odd port pair"),
    (("127.0.0.1", 0, 30000, ["127.0.0.0/8"]), "1-65535"),
    (("127.0.0.1", 30000, 30100, ["not-a-net"]), "media network"),
    (("127.0.0.1", 30000, 30100, []), "no media networks"),
])
def test_bad_engine_settings(args: tuple[str, int, int, list[str]], what: str) -> None:
    with pytest.raises(MediaError, match=what):
        MediaEngine(*args)
