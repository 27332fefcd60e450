"""The line's RTP engine (RFC 3550 / RFC 3551 / RFC 4733): one sender, one receiver, all calls.

Why not pyVoIP's `RTPClient` (REPORT §1.2-1.5, §5): it runs two polling threads per call, paces
with a relative sleep (the stream runs ~0.5 % slow and degrades at ~90 calls), sends PCMA
encoded as μ-law, detects DTMF only on the marker bit (misses unmarked digits, repeats
retransmitted markers) and lets an event code > 15 kill its receive thread, keeps every
received packet forever (~23 kB/s per call), accepts RTP from anyone and mishandles its ports.
None of its RTP code is reused: its header parser raises on short packets and has no bounds
checks, and its codec path is 8-bit. The pieces here are:

* `PortAllocator` - even ports from the configured range, bound on allocation, thread-safe,
  released only after the socket is closed (so a port is never handed out while in use).
* `Pacer` - the absolute schedule t0 + n·20 ms; a late wake-up catches up at most `max_burst`
  packets at a time, a stall longer than `resync_after` ticks is skipped (timestamps jump, the
  marker is set) instead of bursting. Up to `SLOT_STREAMS` streams share one schedule; more
  are spread over `SLOTS` schedules 5 ms apart, so no stream's packet waits behind more than
  24 others. A tick's packets leave with the GIL held (`HeldSendto`).
* `RtpSession` - one call's stream: continuous SSRC/sequence/timestamp for the whole call,
  re-INVITE retargets it in place; prompts are encoded once per codec (`sip.codec`), ahead
  of time by `MediaEngine.prepare()` or else on the engine's encoder thread (never on the
  caller's or the sender's thread: the stream carries silence until the frames are ready).
  The agent's microphone (`write_audio`) goes out when no prompt is playing, through a
  bounded queue that drops the oldest frames if the device runs ahead.
  Inbound: accepted only from the negotiated peer (host and port), bad packets dropped and
  counted, DTMF by `sip.dtmf`, audio into a bounded ring buffer. A session started with
  `latch=True` (the SDP named a host the line may not send to unasked) sends nothing, and
  its prompts wait, until the caller's first valid RTP packet from the media networks; its
  source becomes the peer (symmetric RTP, RFC 4961 §3).
* `MediaEngine` - owns the two threads plus a callback thread, so a slow or failing `on_dtmf`
  / `on_done` handler can neither stall pacing nor kill a thread.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import enum
import ipaddress
import logging
import math
import os
import queue
import random
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sip import codec as g711
from sip.api import AudioDirection, AudioTap, Codec, MediaError, Prompt
from sip.dtmf import DtmfDetector, EventVerdict

log = logging.getLogger("sip.media")

FRAME_SECONDS = 0.020
"""Packet interval: 160 samples at 8 kHz."""
RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")
"""V/P/X/CC, M/PT, sequence, timestamp, SSRC (RFC 3550 §5.1)."""
MAX_DATAGRAM = 4096
INBOUND_BUFFER_SECONDS = 2.0
"""How much received audio `read_audio` can lag before the oldest frames are dropped."""
RECV_BATCH = 64
"""Datagrams read from one socket per wake-up, so one flooded socket cannot starve the rest."""
CALLBACK_QUEUE = 1024
SPIN_SECONDS = 0.00025
"""The sender sleeps until this long before a tick, then spins, holding the GIL, until it is
due: a plain sleep wakes up late by the scheduler's latency. In 8 paired runs of 100 streams
(`scripts/bench_rtp`, 2026-11-22, shared 2-CPU machine) the interval stdev was lower with a
0.5 ms spin in 6, median 0.61 vs 0.81 ms. The spin used to yield (`sleep(0)`) and so handed
the GIL to any other thread right before the tick (see `HeldSendto`). With the streams
spread over up to `SLOTS` moments the sender wakes up to 4 times per 20 ms; at 0.5 ms a spin
that cost 10 % of a core at 100 calls (the console at 26 % in `scripts/bench_soak`, goal
25 %), at 0.25 ms at most 5 %."""
MIC_QUEUE_FRAMES = 10
"""Microphone frames (200 ms) queued at most; older ones are dropped when the device runs ahead."""
CLOSE_WAIT = 2.0
SLOT_STREAMS = 25
"""Streams sent back to back at one moment of the 20 ms period at most; more go at the next
of `SLOTS` moments (every 5 ms). A tick's sends are one after the other, and under load each
`sendto` on loopback costs 30-50 µs (the kernel delivers to the receiver and to the capture
in the sender's call): in `scripts/bench_soak` (2026-12-02, load 2.6-3.7) the last of 100
streams left 3.7-4.5 ms after the first, and the interval stdev grew with the place in the
tick, 1.2 ms for the first quarter to 3.1 ms for the last. Spread, no stream waits for more
than 24 others. 25 streams or fewer are all sent at one moment, as before."""
SLOTS = 4
"""Moments per 20 ms period the streams are spread over, `FRAME_SECONDS / SLOTS` apart."""
SENDER_NICE = -10
"""The sender thread's nice value when the process may raise it (root, CAP_SYS_NICE, or a
systemd unit's `LimitNICE=`): on a shared 2-core machine the sender is late by the kernel's
scheduling more than by anything in the process. Without the right it runs at the process's
own priority (logged once)."""
LATE_TICK = 0.002
"""A tick that starts more than this after its due time is counted late (`ticks_late`)."""


class HeldSendto:
    """`sendto(2)` called through `ctypes.PyDLL`, i.e. with the GIL held (Linux).

    `socket.sendto` releases the GIL around the system call, so at 100 streams a tick offered
    the GIL to the other threads 100 times; each time another thread (the receiver, the SIP
    parser, the call flow, the record's writer) took it, the sender waited to get it back: in
    `scripts/bench_soak` (2026-12-02, load 3-4) a tick of 100 packets took 5.5 ms on average
    and up to 71 ms, ~20 µs of it CPU per packet. Holding the GIL from the first packet of a
    tick to the last makes the tick one piece of work. `MSG_DONTWAIT`: a full send buffer
    drops the packet (counted) instead of blocking the process with the GIL held.
    """

    def __init__(self) -> None:
        self.raw: Any = None
        """libc's sendto(fd, buf, len, flags, addr, addrlen) (None: not available)."""
        if sys.platform != "linux":  # sockaddr without sa_len: the Linux layout only
            return
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.PyDLL(name, use_errno=True)
            call = libc.sendto
        except (OSError, AttributeError, TypeError):
            return
        call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
                         ctypes.c_char_p, ctypes.c_uint32]
        call.restype = ctypes.c_ssize_t
        self.raw = call

    @property
    def available(self) -> bool:
        return self.raw is not None

    @staticmethod
    def sockaddr(family: int, remote: tuple[str, int]) -> bytes | None:
        """`remote` as a `struct sockaddr_in`/`sockaddr_in6`; None: use `socket.sendto`."""
        host, port = remote
        try:
            if family == socket.AF_INET:
                return struct.pack("=HH4s8x", socket.AF_INET, socket.htons(port),
                                   socket.inet_pton(socket.AF_INET, host))
            if family == socket.AF_INET6 and "%" not in host:  # a scope id: let Python do it
                return struct.pack("=HHI16sI", socket.AF_INET6, socket.htons(port), 0,
                                   socket.inet_pton(socket.AF_INET6, host), 0)
        except (OSError, ValueError, OverflowError, struct.error):
            pass
        return None

    def __call__(self, fd: int, packet: bytes, sockaddr: bytes) -> int:
        """Send one datagram; 0, or the errno of the failure."""
        if self.raw(fd, packet, len(packet), MSG_DONTWAIT, sockaddr, len(sockaddr)) < 0:
            return ctypes.get_errno() or 1
        return 0


MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class DropReason(enum.Enum):
    """Why an inbound datagram was dropped (each is counted in `stats()["drops"]`)."""

    SHORT = "short"
    """Empty or shorter than the 12-byte fixed header."""
    VERSION = "version"
    CSRC_OVERRUN = "csrc_overrun"
    EXTENSION_OVERRUN = "extension_overrun"
    PADDING = "padding"
    """Padding flag set with a zero or too large pad count."""
    UNKNOWN_PAYLOAD = "unknown_payload"
    """A payload type that is neither the negotiated codec nor telephone-event."""
    FOREIGN_SOURCE = "foreign_source"
    """Not from the negotiated peer address and port (e.g. a spoofed survey digit)."""
    NOT_STARTED = "not_started"
    """Arrived before `start()`: there is no negotiated peer yet."""
    BAD_EVENT = "bad_event"
    """Telephone-event payload shorter than 4 bytes."""


@dataclass(frozen=True)
class RtpPacket:
    """The parts of a received RTP packet the engine uses."""

    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket | DropReason:
    """Parse one datagram (RFC 3550 §5.1), checking every length field against the datagram."""
    size = len(data)
    if size < HEADER.size:
        return DropReason.SHORT
    first, second, seq, ts, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        return DropReason.VERSION
    offset = HEADER.size + 4 * (first & 0x0F)
    if offset > size:
        return DropReason.CSRC_OVERRUN
    if first & 0x10:
        if offset + 4 > size:
            return DropReason.EXTENSION_OVERRUN
        offset += 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3])
        if offset > size:
            return DropReason.EXTENSION_OVERRUN
    end = size
    if first & 0x20:
        pad = data[-1]
        if pad == 0 or offset + pad > size:
            return DropReason.PADDING
        end -= pad
    return RtpPacket(bool(second & 0x80), second & 0x7F, seq, ts, ssrc, data[offset:end])


class Pacer:
    """The absolute send schedule t0 + n·interval, with bounded catch-up.

    `poll(now)` says how many ticks to send now; the caller sends that many packets per
    stream. After a late wake-up at most `max_burst` packets go out back to back, and the
    next wake-up is `catchup_gap` later until the schedule is met again. A stall of more than
    `resync_after` ticks is not caught up at all: the missed ticks are skipped.
    """

    def __init__(self, t0: float, interval: float = FRAME_SECONDS, max_burst: int = 2,
                 catchup_gap: float = 0.005, resync_after: int = 10) -> None:
        self.t0 = t0
        self.interval = interval
        self.max_burst = max_burst
        self.catchup_gap = catchup_gap
        self.resync_after = resync_after
        self.ticks = 0
        """Ticks sent or skipped so far."""
        self.skipped = 0
        self.late_polls = 0

    def due(self, now: float) -> int:
        """Ticks whose time has come and that are not yet sent."""
        return max(0, math.floor((now - self.t0) / self.interval + 1e-9) + 1 - self.ticks)

    def poll(self, now: float) -> tuple[int, int]:
        """(ticks to send now, ticks skipped before them)."""
        due = self.due(now)
        if due == 0:
            return 0, 0
        skipped = 0
        if due > self.resync_after:
            skipped = due - 1
            self.skipped += skipped
            self.ticks += skipped
            due = 1
        if due > 1:
            self.late_polls += 1
        send = min(due, self.max_burst)
        self.ticks += send
        return send, skipped

    def next_wakeup(self, now: float) -> float:
        """When to poll next: the next tick, or soon if still behind."""
        nxt = self.t0 + self.ticks * self.interval
        return now + self.catchup_gap if nxt <= now else nxt


def _on_grid(offset: float, now: float, interval: float = FRAME_SECONDS) -> float:
    """The first time offset + n·interval (n ≥ 0) that is not before `now`."""
    if now <= offset:
        return offset
    return offset + math.ceil((now - offset) / interval - 1e-9) * interval


class PortAllocator:
    """Even RTP ports (RFC 3550 §11) from [low, high], each bound before it is handed out."""

    def __init__(self, host: str, low: int, high: int) -> None:
        try:
            self.family = (socket.AF_INET6 if ipaddress.ip_address(host).version == 6
                           else socket.AF_INET)
        except ValueError:
            raise MediaError(f"media host {host!r} is not an IP address") from None
        if not (1 <= low <= 65535 and 1 <= high <= 65535):
            raise MediaError(f"RTP port range {low}-{high} is not within 1-65535")
        self.host = host
        self.ports = tuple(range(low + (low & 1), high, 2))
        """Even ports whose odd RTCP neighbour is also in the range."""
        if not self.ports:
            raise MediaError(f"RTP port range {low}-{high} holds no even/odd port pair")
        self._in_use: set[int] = set()
        self._cursor = 0
        self._lock = threading.Lock()

    def acquire(self) -> tuple[int, socket.socket]:
        """Bind the next free even port; rotating, so a just-freed port is reused last."""
        with self._lock:
            count = len(self.ports)
            for step in range(count):
                index = (self._cursor + step) % count
                port = self.ports[index]
                if port in self._in_use:
                    continue
                sock = socket.socket(self.family, socket.SOCK_DGRAM)
                try:
                    sock.bind((self.host, port))
                except OSError:
                    sock.close()  # taken by another process: skip it
                    continue
                sock.setblocking(False)
                self._in_use.add(port)
                self._cursor = (index + 1) % count
                return port, sock
            raise MediaError(f"no free RTP port in {self.ports[0]}-{self.ports[-1] + 1} "
                             f"({len(self._in_use)} in use by this line)",
                             title="RTP ports exhausted")

    def release(self, port: int) -> None:
        """Return a port whose socket is already closed."""
        with self._lock:
            self._in_use.discard(port)

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._in_use)


class SessionState(enum.Enum):
    """Lifecycle of one RTP session."""

    ALLOCATED = "allocated"
    """Port bound, nothing sent: waiting for the answer's `start()`."""
    ACTIVE = "active"
    CLOSED = "closed"


SESSION_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.ALLOCATED: frozenset({SessionState.ACTIVE, SessionState.CLOSED}),
    SessionState.ACTIVE: frozenset({SessionState.CLOSED}),
    SessionState.CLOSED: frozenset(),
}


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Literal[_Keep.KEEP] = _Keep.KEEP
"""`retarget()` default: leave the codec / DTMF payload type as negotiated before."""


@dataclass
class _Queued:
    prompt: Prompt
    on_done: Callable[[bool], None] | None
    frames: tuple[bytes, ...] = ()
    codec: Codec | None = None
    """The codec `frames` are encoded for; not ready to send while it differs from the stream's."""
    position: int = 0


class RtpSession:
    """One call's RTP stream on one local port; created by `MediaEngine.allocate()`."""

    on_dtmf: Callable[[str], None] | None
    """Called once per received digit (0-9 * # A-D), on the engine's callback thread."""

    def __init__(self, engine: MediaEngine, port: int, sock: socket.socket) -> None:
        self._engine = engine
        self.local_port = port
        self.sock = sock
        self.on_dtmf = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self.state = SessionState.ALLOCATED
        self.remote: tuple[str, int] | None = None
        """Where the stream is sent; None before `start()` and while waiting to latch."""
        self.offered: tuple[str, int] | None = None
        """The address the SDP named (the destination unless the session latches)."""
        self.codec: Codec | None = None
        self.dtmf_pt: int | None = None
        rng = random.SystemRandom()
        self.ssrc = rng.getrandbits(32)
        self._seq = rng.getrandbits(16)
        self._ts = rng.getrandbits(32)
        self._marker = True
        self._talking = False
        self._silence = b""
        self._current: _Queued | None = None
        self._queue: collections.deque[_Queued] = collections.deque()
        self._detector = DtmfDetector()
        self._inbound: collections.deque[bytes] = collections.deque(
            maxlen=int(INBOUND_BUFFER_SECONDS / FRAME_SECONDS))
        self._mic: collections.deque[tuple[Codec, bytes]] = collections.deque(
            maxlen=MIC_QUEUE_FRAMES)
        self._mic_rest = b""
        self.mic_dropped = 0
        self.mic_sent = 0
        """Microphone frames sent to the caller."""
        self.mic_gaps = 0
        """Times the microphone ran dry mid-speech, so silence filled in (device late)."""
        self.last_activity = engine.clock()
        """Engine-clock time of the last packet accepted from the peer (or of `start()`)."""
        self._tap: AudioTap | None = None
        self.tap_errors = 0
        self.slot = 0
        """The moment of the 20 ms period the stream is sent at (`SLOTS`), set when it
        starts sending; kept for the session's life, so its intervals stay 20 ms."""
        self._dest: tuple[tuple[str, int] | None, bytes | None] = (None, None)
        """(remote, its sockaddr for `HeldSendto`), rebuilt when the remote changes."""
        self.sent = 0
        self.received = 0
        self.digits = 0
        self.overruns = 0
        self.send_errors = 0

    # ------------------------------------------------------------ control (any thread)

    def _move(self, new: SessionState) -> None:
        if new not in SESSION_TRANSITIONS[self.state]:
            raise MediaError(f"RTP session on port {self.local_port}: "
                             f"{self.state.value} -> {new.value} is not allowed")
        self.state = new

    def _check_remote(self, remote: tuple[str, int]) -> tuple[str, int]:
        try:
            host, port = remote
            ip = ipaddress.ip_address(host)
        except (TypeError, ValueError):
            raise MediaError(f"RTP peer {remote!r} is not (IP address, port)") from None
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise MediaError(f"RTP peer port {port!r} is not 1-65535")
        if not any(ip in net for net in self._engine.media_networks):
            raise MediaError(f"RTP peer {ip} is outside the media networks",
                             title="Media address refused")
        wanted = 6 if self._engine.allocator.family == socket.AF_INET6 else 4
        if ip.version != wanted:
            raise MediaError(f"RTP peer {ip} is IPv{ip.version}; this line's media is IPv{wanted}")
        return str(ip), port

    @staticmethod
    def _check_dtmf_pt(dtmf_pt: int | None) -> None:
        if dtmf_pt is not None and not (isinstance(dtmf_pt, int) and 96 <= dtmf_pt <= 127):
            raise MediaError(f"telephone-event payload type {dtmf_pt!r} is not dynamic (96-127)")

    def start(self, remote: tuple[str, int], codec: Codec, dtmf_pt: int | None,
              latch: bool = False) -> None:
        """Begin the stream to `remote` (silence until a prompt is played).

        `latch`: `remote` (the SDP's address) is not trusted as a destination; nothing is
        sent, and prompts wait, until the caller's first RTP packet names where to send
        (symmetric RTP, RFC 4961 §3: the source we receive from is where we send to).
        """
        peer = self._check_remote(remote)
        self._check_codec(codec)
        self._check_dtmf_pt(dtmf_pt)
        with self._lock:
            self._move(SessionState.ACTIVE)
            self.offered = peer
            self.remote = None if latch else peer
            self.codec, self.dtmf_pt = codec, dtmf_pt
            self._silence = bytes([g711.SILENCE_BYTE[codec]]) * g711.SAMPLES_PER_FRAME
            self.last_activity = self._engine.clock()
        self._encode_pending()
        self._engine._activate(self)
        log.info("RTP %d -> %s %s dtmf=%s", self.local_port,
                 f"latching (SDP {peer[0]}:{peer[1]})" if latch else f"{peer[0]}:{peer[1]}",
                 codec.name, dtmf_pt)

    @property
    def latched(self) -> bool:
        """True once the stream has a destination (at once, or from the first packet)."""
        with self._lock:
            return self.remote is not None

    def retarget(self, remote: tuple[str, int], codec: Codec | None = None,
                 dtmf_pt: int | Literal[_Keep.KEEP] | None = KEEP, latch: bool = False) -> None:
        """Re-INVITE: same socket, SSRC, sequence and timestamp; new peer (and codec).

        `latch`: the new address is not trusted; the stream pauses until RTP arrives.
        """
        peer = self._check_remote(remote)
        if codec is not None:
            self._check_codec(codec)
        if dtmf_pt is not KEEP:
            self._check_dtmf_pt(dtmf_pt)
        with self._lock:
            if self.state is not SessionState.ACTIVE:
                raise MediaError(f"RTP session on port {self.local_port} is "
                                 f"{self.state.value}: nothing to retarget")
            self.offered = peer
            self.remote = None if latch else peer
            if dtmf_pt is not KEEP:
                self.dtmf_pt = dtmf_pt
            if codec is not None and codec is not self.codec:
                self.codec = codec
                self._silence = bytes([g711.SILENCE_BYTE[codec]]) * g711.SAMPLES_PER_FRAME
            self._marker = True
            now_codec = self.codec
        self._encode_pending()
        log.info("RTP %d retargeted -> %s:%d%s %s", self.local_port, *peer,
                 " (latching)" if latch else "", now_codec.name if now_codec else "-")

    @staticmethod
    def _check_codec(codec: object) -> None:
        if not isinstance(codec, Codec):
            raise MediaError(f"codec {codec!r} is not one of {[c.name for c in Codec]}")

    def _encode_pending(self) -> None:
        """Give every queued prompt frames for the current codec, without blocking.

        Frames already in the engine's cache are attached at once; the rest are handed to the
        engine's encoder thread, which calls `_attach` when they are ready.
        """
        with self._lock:
            codec = self.codec
            items = ([self._current] if self._current else []) + list(self._queue)
            stale = [q for q in items if q.codec is not codec]
        if codec is None or not stale:
            return
        missing: dict[int, Prompt] = {}
        for item in stale:
            frames = self._engine.prompts.peek(item.prompt, codec)
            if frames is None:
                missing[id(item.prompt)] = item.prompt
            else:
                self._attach(item.prompt, codec, frames)
        for prompt in missing.values():
            self._engine._encode_later(prompt, codec, self)

    def _attach(self, prompt: Prompt, codec: Codec, frames: tuple[bytes, ...]) -> None:
        """Frames for `prompt` in `codec` are ready: hand them to the queued items that wait."""
        with self._lock:
            if self.codec is not codec:
                return
            items = ([self._current] if self._current else []) + list(self._queue)
            for item in items:
                if item.prompt is prompt and item.codec is not codec:
                    item.frames, item.codec = frames, codec

    def play(self, prompt: Prompt, on_done: Callable[[bool], None] | None = None) -> None:
        """Queue a prompt; `on_done(True)` once its last frame is sent, False if dropped."""
        if not isinstance(prompt, Prompt):
            raise MediaError(f"play() needs a Prompt, not {type(prompt).__name__}")
        if on_done is not None and not callable(on_done):
            raise MediaError(f"on_done {on_done!r} is not callable")
        with self._lock:
            closed = self.state is SessionState.CLOSED
            if not closed:
                self._queue.append(_Queued(prompt, on_done))
        if closed:
            self._engine._callback(on_done, False)
            return
        self._encode_pending()

    def _drop_prompt(self, prompt: Prompt) -> None:
        """A prompt that cannot be encoded: drop its queued plays, reporting them unfinished."""
        with self._lock:
            dropped = [q for q in ([self._current] if self._current else []) + list(self._queue)
                       if q.prompt is prompt]
            if self._current is not None and self._current.prompt is prompt:
                self._current = None
            for item in dropped:
                if item in self._queue:
                    self._queue.remove(item)
            if self._current is None and not self._queue:
                self._idle.notify_all()
        for item in dropped:
            self._engine._callback(item.on_done, False)

    def stop_playback(self) -> None:
        """Barge-in: drop the current and queued prompts (`on_done(False)`); silence follows."""
        with self._lock:
            dropped = self._drop_prompts()
        for item in dropped:
            self._engine._callback(item.on_done, False)

    def _drop_prompts(self) -> list[_Queued]:
        dropped = ([self._current] if self._current else []) + list(self._queue)
        self._current = None
        self._queue.clear()
        self._talking = False
        self._idle.notify_all()
        return dropped

    def wait_playback(self, timeout: float | None = None) -> bool:
        """Block until every queued prompt is sent; False on timeout or if the session closed."""
        with self._idle:
            done = self._idle.wait_for(
                lambda: self.state is SessionState.CLOSED
                or (self._current is None and not self._queue), timeout)
            return bool(done) and self.state is not SessionState.CLOSED

    @property
    def playing(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue)

    def read_audio(self, max_frames: int) -> bytes:
        """Up to `max_frames` received 20 ms frames as s16le PCM (b"" if none); never blocks."""
        if not isinstance(max_frames, int) or max_frames < 0:
            raise ValueError(f"max_frames must be a non-negative int, not {max_frames!r}")
        out = []
        with self._lock:
            for _ in range(min(max_frames, len(self._inbound))):
                out.append(self._inbound.popleft())
        return b"".join(out)

    def write_audio(self, pcm16: bytes) -> None:
        """Queue the agent's microphone audio (s16le PCM) for the caller; never blocks.

        Cut into 20 ms frames (a partial frame waits for the next write) and encoded here, on
        the caller's thread. Sent when no prompt is playing; at most `MIC_QUEUE_FRAMES` wait,
        the oldest are dropped (and counted) if the device delivers faster than 50 frames/s.
        """
        if not isinstance(pcm16, (bytes, bytearray, memoryview)):
            raise MediaError(f"write_audio() needs bytes of s16le PCM, not {type(pcm16).__name__}")
        data = bytes(pcm16)
        with self._lock:
            codec = self.codec
            if self.state is not SessionState.ACTIVE or codec is None:
                return  # not started or closed: nobody to send to
            data = self._mic_rest + data
            whole = len(data) - len(data) % g711.FRAME_BYTES_PCM16
            self._mic_rest = data[whole:]
        frames = [g711.encode(codec, data[i:i + g711.FRAME_BYTES_PCM16])
                  for i in range(0, whole, g711.FRAME_BYTES_PCM16)]
        with self._lock:
            for frame in frames:
                if len(self._mic) == self._mic.maxlen:
                    self.mic_dropped += 1
                self._mic.append((codec, frame))

    def set_tap(self, tap: AudioTap | None) -> None:
        """Copy each received frame and each sent frame, as s16le PCM, to `tap` (None: stop).

        Received frames are handed over on the receiver thread, sent ones on the sender
        thread right after the packet left, outside the session lock; the sender decodes
        its G.711 payload back (two `bytes.translate`, only while a tap is set). A tap that
        raises is logged and removed, so a failing recorder can never stall the stream.
        """
        if tap is not None and not callable(tap):
            raise MediaError(f"tap {tap!r} is not callable")
        with self._lock:
            self._tap = tap

    def _feed_tap(self, tap: AudioTap, direction: AudioDirection, frames: list[bytes]) -> None:
        try:
            for pcm in frames:
                tap(direction, pcm)
        except Exception:
            self.tap_errors += 1
            log.exception("RTP %d: audio tap failed; tap removed", self.local_port)
            with self._lock:
                if self._tap is tap:
                    self._tap = None

    @property
    def buffered_frames(self) -> int:
        with self._lock:
            return len(self._inbound)

    def close(self) -> None:
        """Stop sending, drop prompts, close the socket and release the port (idempotent)."""
        dropped = self._shutdown()
        if dropped is None:
            return
        for item in dropped:
            self._engine._callback(item.on_done, False)
        if self.mic_sent or self.mic_dropped:
            log.info("RTP %d closed: %d packets sent, microphone %d frames sent, %d dropped, "
                     "%d gaps", self.local_port, self.sent, self.mic_sent, self.mic_dropped,
                     self.mic_gaps)
        self._engine._retire(self)

    def _shutdown(self) -> list[_Queued] | None:
        with self._lock:
            if self.state is SessionState.CLOSED:
                return None
            self._move(SessionState.CLOSED)
            self._tap = None
            self._inbound.clear()  # a closed call's audio is never read: free it now
            self._mic.clear()
            self.on_dtmf = None  # the call's bound method: a cycle only the full GC breaks
            return self._drop_prompts()

    # ------------------------------------------------------------ sender thread

    def _send(self, count: int, skipped: int) -> int:
        """Send `count` frames (prompt or silence); the socket is used only under the lock."""
        done: list[_Queued] = []
        sent = 0
        tapped: list[bytes] = []
        with self._lock:
            if self.state is not SessionState.ACTIVE or self.remote is None:
                return 0
            tap = self._tap
            if skipped:
                self._ts = (self._ts + skipped * g711.SAMPLES_PER_FRAME) & 0xFFFFFFFF
                self._marker = True
            pt = self.codec.value if self.codec else 0
            held = self._engine.held_sendto
            remote = self.remote
            sockaddr = None
            if held is not None:
                if self._dest[0] != remote:
                    self._dest = (remote, held.sockaddr(self.sock.family, remote))
                sockaddr = self._dest[1]
            send_held = held if held is not None and sockaddr is not None else None
            fd = self.sock.fileno()  # closed only under this lock: the fd stays this socket's
            for _ in range(count):
                payload = self._next_frame(done)
                first = 0x80 | pt if self._marker else pt
                self._marker = False
                packet = HEADER.pack(0x80, first, self._seq, self._ts, self.ssrc) + payload
                if tap is not None:
                    tapped.append(payload)
                try:
                    if send_held is not None and sockaddr is not None:
                        errno = send_held(fd, packet, sockaddr)
                        if errno:
                            raise OSError(errno, os.strerror(errno))
                    else:
                        self.sock.sendto(packet, remote)
                    sent += 1
                except OSError as exc:
                    self.send_errors += 1
                    if self.send_errors in (1, 100, 10000):
                        log.warning("RTP %d: send to %s failed (%s), %d so far",
                                    self.local_port, self.remote, exc, self.send_errors)
                self._seq = (self._seq + 1) & 0xFFFF
                self._ts = (self._ts + g711.SAMPLES_PER_FRAME) & 0xFFFFFFFF
            self.sent += sent
            if done and self._current is None and not self._queue:
                self._idle.notify_all()
            codec = self.codec
        for item in done:
            self._engine._callback(item.on_done, True)
        if tap is not None and codec is not None:
            self._feed_tap(tap, AudioDirection.SENT, [g711.decode(codec, p) for p in tapped])
        return sent

    def _next_frame(self, done: list[_Queued]) -> bytes:
        while True:
            if self._current is None:
                if not self._queue or self._queue[0].codec is not self.codec:
                    return self._mic_frame()
                self._current = self._queue.popleft()
            item = self._current
            if item.codec is not self.codec:  # re-encoding after a codec change
                self._talking = False
                return self._silence
            if item.position < len(item.frames):
                frame = item.frames[item.position]
                item.position += 1
                if not self._talking:
                    self._talking = True
                    self._marker = True  # talkspurt start (RFC 3551 §4.1)
                if item.position == len(item.frames):
                    done.append(item)
                    self._current = None
                return frame
            done.append(item)  # an empty prompt
            self._current = None

    def _mic_frame(self) -> bytes:
        """The next microphone frame in the stream's codec, or silence (lock held)."""
        while self._mic:
            codec, frame = self._mic.popleft()
            if codec is self.codec:
                if not self._talking:
                    self._talking = True
                    self._marker = True
                self.mic_sent += 1
                return frame
        if self._talking:
            self.mic_gaps += 1
        self._talking = False
        return self._silence

    # ------------------------------------------------------------ receiver thread

    def _on_datagram(self, data: bytes, source: tuple[Any, ...]) -> DropReason | None:
        with self._lock:
            remote, audio_pt, dtmf_pt, codec = self.remote, None, self.dtmf_pt, self.codec
            active = self.state is SessionState.ACTIVE
            if codec is not None:
                audio_pt = codec.value
        if not active or codec is None:
            return DropReason.NOT_STARTED
        if remote is not None and (source[0] != remote[0] or source[1] != remote[1]):
            return DropReason.FOREIGN_SOURCE
        packet = parse_rtp(data)
        if isinstance(packet, DropReason):
            return packet
        if remote is None:  # waiting to latch: the first RTP of this call from our networks
            if packet.payload_type != audio_pt and packet.payload_type != dtmf_pt:
                return DropReason.UNKNOWN_PAYLOAD
            if not self._latch((str(source[0]), int(source[1]))):
                return DropReason.FOREIGN_SOURCE
        if packet.payload_type == audio_pt and codec is not None:
            pcm = g711.decode(codec, packet.payload)
            with self._lock:
                if len(self._inbound) == self._inbound.maxlen:
                    self.overruns += 1
                self._inbound.append(pcm)
                self.received += 1
                self.last_activity = self._engine.clock()
                tap = self._tap
            if tap is not None:
                self._feed_tap(tap, AudioDirection.RECEIVED, [pcm])
            return None
        if dtmf_pt is not None and packet.payload_type == dtmf_pt:
            verdict, digit = self._detector.feed(packet.timestamp, packet.payload)
            if verdict is EventVerdict.MALFORMED:
                return DropReason.BAD_EVENT
            self.received += 1
            self.last_activity = self._engine.clock()
            if digit is not None:
                self.digits += 1
                self._engine.dtmf_digits += 1
                log.debug("RTP %d: DTMF %s", self.local_port, digit)
                self._engine._callback(self._dispatch_digit, digit)
            return None
        return DropReason.UNKNOWN_PAYLOAD

    def _latch(self, source: tuple[str, int]) -> bool:
        """Make `source` the stream's destination if it may be one (receiver thread)."""
        try:
            ip = ipaddress.ip_address(source[0].split("%", 1)[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not any(ip in net for net in self._engine.media_networks):
            return False
        with self._lock:
            if self.remote is not None or self.state is not SessionState.ACTIVE:
                return self.remote == source
            self.remote = source
            self._marker = True
        self._engine.latches += 1
        log.info("RTP %d latched -> %s:%d (SDP said %s)", self.local_port, source[0],
                 source[1], f"{self.offered[0]}:{self.offered[1]}" if self.offered else "-")
        return True

    def _dispatch_digit(self, digit: str) -> None:
        handler = self.on_dtmf
        if handler is not None and self.state is not SessionState.CLOSED:
            handler(digit)


class MediaEngine:
    """All RTP of one line: one sender thread on an absolute clock, one receiver thread."""

    def __init__(self, host: str, port_low: int, port_high: int,
                 media_networks: Sequence[str],
                 clock: Callable[[], float] = time.monotonic,
                 spin: float = SPIN_SECONDS, hold_gil: bool = True,
                 sender_nice: int | None = SENDER_NICE) -> None:
        if not isinstance(spin, (int, float)) or not 0 <= spin <= 0.005:
            raise MediaError(f"spin {spin!r} must be 0-0.005 s")
        self.spin = float(spin)
        held = HeldSendto() if hold_gil else None
        self.held_sendto: HeldSendto | None = held if held is not None and held.available \
            else None
        """Sends a tick's packets with the GIL held; None: `socket.sendto` (not Linux, or
        `hold_gil=False`, the comparison in `scripts/bench_rtp`)."""
        self.sender_nice = sender_nice
        """Asked for the sender thread (None: leave it); `stats()["sender_nice"]` is what
        it got."""
        self._sender_nice_got: int | None = None
        self.allocator = PortAllocator(host, port_low, port_high)
        try:
            self.media_networks = tuple(ipaddress.ip_network(n, strict=False)
                                        for n in media_networks)
        except (TypeError, ValueError) as exc:
            raise MediaError(f"media network: {exc}") from None
        if not self.media_networks:
            raise MediaError("no media networks: RTP could be sent nowhere")
        self.host = host
        self.clock = clock
        self.prompts = g711.PromptCache()
        self._lock = threading.Lock()
        self._sessions: dict[int, RtpSession] = {}
        self._active: tuple[RtpSession, ...] = ()
        self._ops: collections.deque[tuple[RtpSession, threading.Event | None]] = (
            collections.deque())
        self._added: collections.deque[RtpSession] = collections.deque()
        self._stopping = threading.Event()
        self._has_active = threading.Event()
        self._closed = False
        self.drops: collections.Counter[str] = collections.Counter(
            {reason.value: 0 for reason in DropReason})
        """Written by the receiver only; every key exists from the start so readers never see
        the dict change size."""
        self.packets_sent = 0
        self.packets_received = 0
        self.dtmf_digits = 0
        self.latches = 0
        """Sessions that took their destination from the caller's first packet."""
        self.callback_errors = 0
        self.callbacks_dropped = 0
        self.pacers: list[Pacer | None] = [None] * SLOTS
        """The send schedule of each slot (None: no stream in it); the sender's own."""
        self.max_burst_sent = 0
        self.ticks = 0
        """Ticks the sender sent (each: one packet per active stream)."""
        self.ticks_late = 0
        """Ticks whose first packet left more than `LATE_TICK` after its due time."""
        self.tick_late_max = 0.0
        """Seconds: the latest a tick's first packet left after its due time."""
        self.tick_work = 0.0
        """Seconds the sender spent sending ticks (the sum; divide by `ticks`)."""
        self.tick_work_max = 0.0
        self._callbacks: queue.Queue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.Queue(CALLBACK_QUEUE))
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._sender = threading.Thread(target=self._send_loop, name="rtp-send", daemon=True)
        self._receiver = threading.Thread(target=self._recv_loop, name="rtp-recv", daemon=True)
        self._dispatcher = threading.Thread(target=self._callback_loop, name="rtp-callbacks",
                                            daemon=True)
        self._encodes: queue.Queue[tuple[Prompt, Codec, RtpSession | None] | None] = (
            queue.Queue())
        self._encoder = threading.Thread(target=self._encode_loop, name="rtp-encode",
                                         daemon=True)
        self._encoder.start()
        self._sender.start()
        self._receiver.start()
        self._dispatcher.start()

    # ------------------------------------------------------------ public

    def allocate(self) -> RtpSession:
        """A new session on a freshly bound even port; MediaError when the range is exhausted."""
        with self._lock:
            if self._closed:
                raise MediaError("the media engine is closed")
        port, sock = self.allocator.acquire()
        session = RtpSession(self, port, sock)
        with self._lock:
            self._sessions[port] = session
            self._added.append(session)
        self._wake()
        return session

    def prepare(self, prompt: Prompt) -> None:
        """Encode `prompt` for every codec now (blocking), so its first `play()` sends at once.

        Safe to call from several threads: each prompt+codec is encoded once, others wait.
        """
        if not isinstance(prompt, Prompt):
            raise MediaError(f"prepare() needs a Prompt, not {type(prompt).__name__}")
        for codec in Codec:
            self.prompts.frames(prompt, codec)

    def _encode_later(self, prompt: Prompt, codec: Codec, session: RtpSession | None) -> None:
        """Encode on the encoder thread, then `session._attach` the frames."""
        self._encodes.put((prompt, codec, session))

    def _encode_loop(self) -> None:
        for codec in Codec:  # build the G.711 tables (~40 ms each) before the first call needs them
            g711.decode(codec, g711.encode(codec, b"\0\0"))
        while True:
            item = self._encodes.get()
            if item is None:
                return
            prompt, codec, session = item
            try:
                frames = self.prompts.frames(prompt, codec)
            except Exception:
                log.exception("encoding prompt %r for %s failed", prompt.name, codec.name)
                if session is not None:  # drop it (on_done(False)) rather than wait forever
                    session._drop_prompt(prompt)
                continue
            if session is not None:
                session._attach(prompt, codec, frames)

    def close(self) -> None:
        """Close every session, stop the threads, release every port."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sessions = list(self._sessions.values())
        for session in sessions:
            dropped = session._shutdown() or []
            for item in dropped:
                self._callback(item.on_done, False)
        self._stopping.set()
        self._has_active.set()
        self._wake()
        for thread in (self._sender, self._receiver):
            if thread is not threading.current_thread():
                thread.join(5.0)
        with self._lock:
            leftover = list(self._sessions.values())
            self._sessions.clear()
            self._active = ()
            self._added.clear()
            ops = list(self._ops)
            self._ops.clear()
        for session in leftover:
            self._close_socket(session)
        for _session, done in ops:
            if done is not None:
                done.set()
        self._callbacks.put(None)
        self._encodes.put(None)
        if self._dispatcher is not threading.current_thread():
            self._dispatcher.join(5.0)
        if self._encoder is not threading.current_thread():
            self._encoder.join(5.0)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def stats(self) -> dict[str, Any]:
        """Counters for the status line, the tests and the benchmark."""
        with self._lock:
            sessions = list(self._sessions.values())
            active = len(self._active)
        pacers = [p for p in list(self.pacers) if p is not None]
        return {
            "sessions": len(sessions),
            "active": active,
            "ports_in_use": self.allocator.in_use,
            "packets_sent": self.packets_sent,
            "packets_received": self.packets_received,
            "drops": {k: v for k, v in list(self.drops.items()) if v},
            "dropped": sum(list(self.drops.values())),
            "dtmf_digits": self.dtmf_digits,
            "latches": self.latches,
            "audio_overruns": sum(s.overruns for s in sessions),
            "send_errors": sum(s.send_errors for s in sessions),
            "callback_errors": self.callback_errors,
            "callbacks_dropped": self.callbacks_dropped,
            "late_polls": sum(p.late_polls for p in pacers),
            "skipped_ticks": sum(p.skipped for p in pacers),
            "slots": [sum(1 for s in sessions if s.state is SessionState.ACTIVE
                          and s.slot == slot) for slot in range(SLOTS)],
            "max_burst": self.max_burst_sent,
            "send_path": "held" if self.held_sendto is not None else "socket",
            "sender_nice": self._sender_nice_got,
            "ticks": self.ticks,
            "ticks_late": self.ticks_late,
            "tick_late_max_ms": round(self.tick_late_max * 1000, 3),
            "tick_work_mean_ms": round(self.tick_work * 1000 / max(1, self.ticks), 3),
            "tick_work_max_ms": round(self.tick_work_max * 1000, 3),
            "prompts_cached": len(self.prompts),
            "prompt_encodes": self.prompts.encodes,
            "mic_dropped": sum(s.mic_dropped for s in sessions),
            "tap_errors": sum(s.tap_errors for s in sessions),
        }

    # ------------------------------------------------------------ session plumbing

    def _activate(self, session: RtpSession) -> None:
        with self._lock:
            if session.local_port in self._sessions and session not in self._active:
                counts = [0] * SLOTS
                for other in self._active:
                    counts[other.slot] += 1
                session.slot = next((slot for slot, n in enumerate(counts) if n < SLOT_STREAMS),
                                    counts.index(min(counts)))
                self._active = (*self._active, session)
        self._has_active.set()

    def _retire(self, session: RtpSession) -> None:
        """Take the session off both threads; its port is released once its socket is closed."""
        done = threading.Event()
        with self._lock:
            if self._sessions.get(session.local_port) is not session:
                return
            del self._sessions[session.local_port]
            self._active = tuple(s for s in self._active if s is not session)
            receiver_alive = self._receiver.is_alive() and not self._stopping.is_set()
            if receiver_alive:
                self._ops.append((session, done))
        if not receiver_alive or threading.current_thread() is self._receiver:
            self._remove_now(session)
            return
        self._wake()
        if not done.wait(CLOSE_WAIT):
            log.warning("RTP %d: receiver did not confirm close; port stays reserved",
                        session.local_port)

    def _remove_now(self, session: RtpSession) -> None:
        try:
            self._selector.unregister(session.sock)
        except (KeyError, ValueError, OSError):
            pass
        self._close_socket(session)

    def _close_socket(self, session: RtpSession) -> None:
        with session._lock:  # the sender uses the socket only under this lock
            session.sock.close()
        self.allocator.release(session.local_port)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or closed

    def _callback(self, func: Callable[..., None] | None, *args: Any) -> None:
        if func is None:
            return
        try:
            self._callbacks.put_nowait((func, args))
        except queue.Full:
            self.callbacks_dropped += 1
            log.error("callback queue full; dropped %r%r", func, args)

    # ------------------------------------------------------------ threads

    def _raise_priority(self) -> None:
        """Give the sender thread `sender_nice` if the process may (Linux: a thread's own
        nice value, `setpriority(PRIO_PROCESS, tid)`)."""
        if self.sender_nice is None or not hasattr(os, "setpriority"):
            return
        tid = threading.get_native_id()
        try:
            os.setpriority(os.PRIO_PROCESS, tid, self.sender_nice)
        except OSError as exc:
            log.info("RTP sender stays at nice %d (%s): pacing depends on the machine's load",
                     os.getpriority(os.PRIO_PROCESS, tid), exc.strerror or exc)
        self._sender_nice_got = os.getpriority(os.PRIO_PROCESS, tid)

    def _send_loop(self) -> None:
        self._raise_priority()
        pacers = self.pacers
        base = 0.0
        grouped: tuple[RtpSession, ...] = ()
        groups: list[list[RtpSession]] = [[] for _ in range(SLOTS)]
        while not self._stopping.is_set():
            active = self._active
            if not active:
                pacers[:] = [None] * SLOTS
                self._has_active.clear()
                if not self._active:
                    self._has_active.wait(1.0)
                continue
            if active is not grouped:  # a stream came or went (the tuple is replaced)
                groups = [[] for _ in range(SLOTS)]
                for session in active:
                    groups[session.slot].append(session)
                grouped = active
            now = self.clock()
            if all(p is None for p in pacers):
                base = now  # the first stream: its first packet goes at once
            for slot, group in enumerate(groups):
                pacer = pacers[slot]
                if not group:
                    pacers[slot] = None
                    continue
                if pacer is None:
                    pacer = pacers[slot] = Pacer(_on_grid(base + slot * FRAME_SECONDS / SLOTS,
                                                          now))
                count, skipped = pacer.poll(now)
                if not count:
                    continue
                self.max_burst_sent = max(self.max_burst_sent, count)
                due = pacer.t0 + (pacer.ticks - count) * pacer.interval
                started = self.clock()
                for session in group:
                    try:
                        self.packets_sent += session._send(count, skipped)
                    except Exception:
                        log.exception("RTP %d: send failed", session.local_port)
                self._count_tick(started - due, self.clock() - started)
                now = self.clock()
            now = self.clock()
            delay = min(p.next_wakeup(now) for p in pacers if p is not None) - now \
                if any(p is not None for p in pacers) else FRAME_SECONDS
            if delay > 0:
                self._sleep(min(delay, FRAME_SECONDS))  # close() waits at most a tick

    def _count_tick(self, late: float, work: float) -> None:
        """The sender's own timing: how late a tick started, how long its sends took."""
        self.ticks += 1
        if late > LATE_TICK:
            self.ticks_late += 1
        if late > self.tick_late_max:
            self.tick_late_max = late
        self.tick_work += work
        if work > self.tick_work_max:
            self.tick_work_max = work

    def _sleep(self, delay: float) -> None:
        """Sleep `delay` s: coarse sleep, then a spin over the last `spin` s.

        The spin keeps the GIL (with `held_sendto`): the thread that wakes from the coarse
        sleep has the GIL back before the tick is due, and the tick's first packet leaves
        without waiting for another thread to give it up. Timed by `time.monotonic` whatever
        the engine clock is, so a test's frozen clock cannot turn the spin into a busy loop.
        """
        end = time.monotonic() + delay
        coarse = delay - self.spin
        if coarse > 0:
            time.sleep(coarse)
        clock = time.monotonic
        if self.held_sendto is not None:
            while clock() < end:
                pass
            return
        while clock() < end:
            time.sleep(0)  # gives up the GIL and the CPU for a moment

    def _recv_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                events = self._selector.select(0.5)
            except OSError:
                log.exception("RTP selector failed")
                continue
            for key, _mask in events:
                session = key.data
                if session is None:
                    self._drain_wake()
                    continue
                self._read(session)
            self._apply_ops()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(512):
                pass
        except OSError:
            pass

    def _apply_ops(self) -> None:
        while True:
            with self._lock:
                if self._added:
                    kind, session, done = "add", self._added.popleft(), None
                elif self._ops:
                    kind = "remove"
                    session, done = self._ops.popleft()
                else:
                    return
            if kind == "add":
                if session.state is not SessionState.CLOSED:
                    try:
                        self._selector.register(session.sock, selectors.EVENT_READ, session)
                    except (KeyError, ValueError, OSError):
                        log.exception("RTP %d: cannot watch the socket", session.local_port)
            else:
                self._remove_now(session)
                if done is not None:
                    done.set()

    def _read(self, session: RtpSession) -> None:
        for _ in range(RECV_BATCH):
            try:
                data, source = session.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                return  # e.g. ICMP error reported on the socket; nothing to read
            self.packets_received += 1
            try:
                reason = session._on_datagram(data, source)
            except Exception:
                log.exception("RTP %d: packet handling failed", session.local_port)
                reason = None
            if reason is not None:
                self.drops[reason.value] += 1
                if reason is DropReason.FOREIGN_SOURCE:
                    log.debug("RTP %d: dropped a packet from %s", session.local_port, source)

    def _callback_loop(self) -> None:
        while True:
            item = self._callbacks.get()
            if item is None:
                return
            func, args = item
            try:
                func(*args)
            except Exception:
                self.callback_errors += 1
                log.exception("media callback %r failed", func)
