"""RTP send pacing of `sip.media.MediaEngine` for 1-100 streams, against stock pyVoIP's RTPClient.

Why a separate process receives: the measurement must not share the sender's GIL. The receiver
binds one loopback socket per stream and reads the kernel's receive timestamp of every packet
(SO_TIMESTAMPNS), so its own scheduling does not blur the figures. Per stream it measures the
intervals between consecutive packets after a warm-up; the table pools all streams.

Usage: .venv/bin/python scripts/bench_rtp.py [--seconds 5] [--no-write]
Writes its section of BENCHMARKS.md between `<!-- bench_rtp -->` and `<!-- /bench_rtp -->`.
Only loopback is used; every stream and the receiver process are stopped at the end of a run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value; Python does not export it
WARMUP = 0.5
MARK_BEGIN = "<!-- bench_rtp -->"
MARK_END = "<!-- /bench_rtp -->"
LOAD_BEFORE = "?"


# ---------------------------------------------------------------- receiver (child process)


def receive(count: int, seconds: float) -> None:
    """Child: bind `count` sockets, print their ports, record for `seconds`, print the stats."""
    sel = selectors.DefaultSelector()
    socks = []
    for index in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, index)
        socks.append(sock)
    print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
    arrivals: list[list[tuple[int, int]]] = [[] for _ in range(count)]
    cmsg_space = socket.CMSG_SPACE(16)
    deadline = time.monotonic() + seconds + 30.0  # if no packet ever comes
    first: int | None = None
    stop_at: float | None = None
    while time.monotonic() < deadline:
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        for key, _ in sel.select(0.1):
            ready = key.fileobj
            assert isinstance(ready, socket.socket)
            while True:
                try:
                    data, ancdata, _flags, _addr = ready.recvmsg(2048, cmsg_space)
                except BlockingIOError:
                    break
                stamp = time.time_ns()
                for level, kind, payload in ancdata:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = struct.unpack("qq", payload[:16])
                        stamp = sec * 1_000_000_000 + nsec
                if len(data) >= 4:
                    arrivals[key.data].append((stamp, struct.unpack_from("!H", data, 2)[0]))
                if first is None:
                    first = stamp
                    stop_at = time.monotonic() + WARMUP + seconds
    print(json.dumps(analyse(arrivals, first or 0, seconds)), flush=True)


def analyse(arrivals: list[list[tuple[int, int]]], first: int, seconds: float) -> dict[str, float]:
    begin = first + int(WARMUP * 1e9)
    end = begin + int(seconds * 1e9)
    intervals: list[float] = []
    lost = 0
    silent = 0
    for stream in arrivals:
        window = [(t, s) for t, s in stream if begin <= t <= end]
        if len(window) < 2:
            silent += 1
            continue
        for (t0, s0), (t1, s1) in itertools.pairwise(window):
            intervals.append((t1 - t0) / 1e6)
            lost += ((s1 - s0) & 0xFFFF) - 1
    if not intervals:
        return {"intervals": 0, "silent_streams": silent}
    ordered = sorted(intervals)
    return {
        "intervals": len(intervals),
        "mean": statistics.fmean(intervals),
        "stdev": statistics.pstdev(intervals),
        "max": ordered[-1],
        "p99": ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)],
        "over_30": sum(1 for i in intervals if i > 30.0) / len(intervals),
        "lost": lost,
        "silent_streams": silent,
    }


# ---------------------------------------------------------------- senders (parent process)


@dataclass
class Result:
    stack: str
    streams: int
    stats: dict[str, float]
    cpu: float
    """Sender CPU over the run, % of one core."""


def sine_pcm16(seconds: float) -> bytes:
    n = int(8000 * seconds)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(i / 9.1)) for i in range(n)))


def start_ours(ports: list[int], seconds: float, spin: float | None = None) -> Callable[[], None]:
    from sip.api import Codec, Prompt
    from sip.media import SPIN_SECONDS, MediaEngine

    low = random.randrange(40000, 55000) & ~1  # the allocator skips ports others hold
    engine = MediaEngine("127.0.0.1", low, low + 2 * len(ports) + 200, ["127.0.0.0/8"],
                         spin=SPIN_SECONDS if spin is None else spin)
    prompt = Prompt("bench", sine_pcm16(seconds + WARMUP + 3))
    engine.prepare(prompt)  # as the console prepares its greeting
    for port in ports:
        session = engine.allocate()
        session.start(("127.0.0.1", port), Codec.PCMA, 101)
        session.play(prompt)
    return engine.close


def start_recorded(ports: list[int], seconds: float) -> Callable[[], None]:
    """As `start_ours`, each stream also recorded to a stereo WAV (`[recording] enabled`):
    the tap decodes every sent frame and the recorder's thread writes both directions."""
    import tempfile
    from pathlib import Path

    from console.callflow.recording import Recorder
    from sip.api import Codec, Prompt
    from sip.media import MediaEngine

    folder = tempfile.TemporaryDirectory(prefix="bench-rtp-rec-")
    recorder = Recorder(Path(folder.name))
    low = random.randrange(40000, 55000) & ~1
    engine = MediaEngine("127.0.0.1", low, low + 2 * len(ports) + 200, ["127.0.0.0/8"])
    prompt = Prompt("bench", sine_pcm16(seconds + WARMUP + 3))
    engine.prepare(prompt)
    recordings = []
    for i, port in enumerate(ports):
        session = engine.allocate()
        session.start(("127.0.0.1", port), Codec.PCMA, 101)
        rec = recorder.open(Path(folder.name) / f"stream-{i}.wav", 2, f"bench-{i}")
        recordings.append(rec)
        session.set_tap(rec.tap)
        session.play(prompt)

    def stop() -> None:
        engine.close()
        for rec in recordings:
            rec.close()
        recorder.stop()
        if recorder.dropped:
            print(f"bench_rtp: the recorder dropped {recorder.dropped} frames", file=sys.stderr)
        folder.cleanup()

    return stop


def start_stock(ports: list[int], seconds: float) -> Callable[[], None]:
    from pyVoIP.RTP import PayloadType, RTPClient, TransmitType

    pcm = sine_pcm16(seconds + WARMUP + 3)
    unsigned8 = bytes((s >> 8) + 128 for s in struct.unpack(f"<{len(pcm) // 2}h", pcm))
    clients = []
    for port in ports:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()[1]
        probe.close()
        client = RTPClient({0: PayloadType.PCMU}, "127.0.0.1", local, "127.0.0.1", port,
                           TransmitType.SENDRECV)
        client.start()
        client.write(unsigned8)
        clients.append(client)

    def stop() -> None:
        for client in clients:
            client.stop()

    return stop


def start_plain(ports: list[int], seconds: float) -> Callable[[], None]:
    """The floor this machine allows: a bare absolute-schedule loop, no codec, no locks."""
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stop = threading.Event()

    def loop() -> None:
        t0 = time.monotonic()
        tick = 0
        while not stop.is_set():
            for port in ports:
                header = struct.pack("!BBHII", 0x80, 8, tick & 0xFFFF, tick * 160, port)
                sock.sendto(header + b"\xd5" * 160, ("127.0.0.1", port))
            tick += 1
            delay = t0 + tick * 0.020 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    thread = threading.Thread(target=loop, name="plain-sender", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(1.0)
        sock.close()

    return halt


def tick_cost(streams: int, ticks: int = 200) -> tuple[float, float]:
    """(ms per tick of `streams` packets, share of it spent in `sendto`), sending in-process."""
    import cProfile
    import pstats

    from sip.api import Codec, Prompt
    from sip.media import MediaEngine

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    low = random.randrange(40000, 55000) & ~1
    engine = MediaEngine("127.0.0.1", low, low + 2 * streams + 200, ["127.0.0.0/8"])
    try:
        prompt = Prompt("bench", sine_pcm16(30))
        engine.prepare(prompt)
        sessions = [engine.allocate() for _ in range(streams)]
        for session in sessions:
            session.start(sink.getsockname(), Codec.PCMA, 101)
            session.play(prompt)
        started = time.perf_counter()
        for _ in range(ticks):
            for session in sessions:
                session._send(1, 0)
        per_tick = (time.perf_counter() - started) / ticks * 1000
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(ticks // 4):
            for session in sessions:
                session._send(1, 0)
        profile.disable()
        stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in stats.values())
        send = sum(v[2] for k, v in stats.items() if "sendto" in k[2])
        return per_tick, (send / total if total else 0.0)
    finally:
        engine.close()
        sink.close()


STARTERS: dict[str, Callable[[list[int], float], Callable[[], None]]] = {
    "ours": start_ours, "stock": start_stock, "plain": start_plain,
    "ours-nospin": lambda ports, seconds: start_ours(ports, seconds, spin=0.0),
    "ours-rec": start_recorded}


def run(stack: str, streams: int, seconds: float) -> Result:
    child = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(streams), "--seconds", str(seconds)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        starter = STARTERS[stack]
        cpu0 = time.process_time()
        wall0 = time.monotonic()
        stop = starter(ports, seconds)
        try:
            line = child.stdout.readline()
        finally:
            cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
            stop()
        child.wait(10)
        return Result(stack, streams, json.loads(line), cpu)
    finally:
        if child.poll() is None:
            child.kill()  # the receiver we started, by its own handle
            child.wait()


def table(results: list[Result], seconds: float,
          cost: tuple[float, float] | None = None) -> str:
    names = {"ours": "sip.media.MediaEngine", "stock": "stock pyVoIP 1.6.8 RTPClient",
             "plain": "reference: bare socket loop",
             "ours-nospin": "MediaEngine with a plain sleep (spin 0, before the change)",
             "ours-rec": "MediaEngine, every stream recorded to WAV (tap + recorder)"}
    lines = [
        MARK_BEGIN,
        "## RTP send pacing (`scripts/bench_rtp`)",
        "",
        f"{seconds:g} s per run after {WARMUP:g} s warm-up; every stream plays a prompt; "
        "intervals between consecutive packets of each stream, from the kernel receive "
        "timestamps of a separate receiver process on loopback; all streams pooled. "
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; load average before the runs {LOAD_BEFORE}, after "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared).",
        "",
        "| sender | streams | intervals | mean (ms) | stdev (ms) | p99 (ms) | max (ms) "
        "| > 30 ms | lost | sender CPU (% of a core) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r.stats
        if not s.get("intervals"):
            lines.append(f"| {names[r.stack]} | {r.streams} | 0 | - | - | - | - | - | - "
                         f"| {r.cpu:.1f} |")
            continue
        lines.append(
            f"| {names[r.stack]} | {r.streams} | {s['intervals']:,} | {s['mean']:.3f} "
            f"| {s['stdev']:.3f} | {s['p99']:.2f} | {s['max']:.2f} | {s['over_30']:.2%} "
            f"| {s['lost']} | {r.cpu:.1f} |")
    ours = {r.streams: r.stats for r in results if r.stack == "ours"}
    goal = ours.get(100)
    if goal and goal.get("intervals"):
        met = goal["stdev"] <= 0.5 and goal["max"] <= 40.0
        lines += ["", f"Goal for 100 streams (stdev ≤ 0.5 ms, no gap > 40 ms): "
                  f"**{'met' if met else 'NOT met'}** (stdev {goal['stdev']:.3f} ms, "
                  f"max {goal['max']:.2f} ms)."]
    floor = next((r.stats for r in results if r.stack == "plain" and r.streams == 100), None)
    if floor and floor.get("intervals"):
        lines.append(f"The bare socket loop, 100 streams, same run: stdev {floor['stdev']:.3f} ms, "
                     f"max {floor['max']:.2f} ms: what this machine allowed at that moment.")
    recorded = {r.streams: r for r in results if r.stack == "ours-rec"}
    unrecorded = {r.streams: r for r in results if r.stack == "ours"}
    for n in sorted(set(recorded) & set(unrecorded)):
        rec, bare = recorded[n], unrecorded[n]
        if rec.stats.get("intervals") and bare.stats.get("intervals"):
            lines.append(
                f"Recording every stream, {n} streams, same run: stdev "
                f"{rec.stats['stdev']:.3f} vs {bare.stats['stdev']:.3f} ms "
                f"(×{rec.stats['stdev'] / max(bare.stats['stdev'], 1e-9):.2f}), max "
                f"{rec.stats['max']:.2f} vs {bare.stats['max']:.2f} ms, sender CPU "
                f"{rec.cpu:.1f} vs {bare.cpu:.1f} % of a core.")
    plain = next((r.stats for r in results if r.stack == "ours-nospin" and r.streams == 100),
                 None)
    if plain and plain.get("intervals") and goal and goal.get("intervals"):
        from sip.media import SPIN_SECONDS

        lines.append(f"Plain sleep instead of sleep + {SPIN_SECONDS * 1000:g} ms spin, "
                     "100 streams, same run: "
                     f"stdev {plain['stdev']:.3f} ms vs {goal['stdev']:.3f} ms (one run each; "
                     "on this shared machine one run swings by about as much).")
    if cost is not None:
        lines.append(f"Sender cost, in-process: {cost[0]:.2f} ms per tick of 100 packets, "
                     f"{cost[1]:.0%} of it in `sendto` (the rest: header, frame pick, lock); "
                     "the last stream of a tick leaves that much after the first.")
    lines.append(MARK_END)
    return "\n".join(lines)


def write_section(section: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--streams", type=int, nargs="*", default=[1, 10, 50, 100])
    parser.add_argument("--stock-streams", type=int, nargs="*", default=[1, 10])
    parser.add_argument("--plain-streams", type=int, nargs="*", default=[1, 100])
    parser.add_argument("--nospin-streams", type=int, nargs="*", default=[1, 100],
                        help="MediaEngine with a plain sleep (spin 0), for comparison")
    parser.add_argument("--recorded-streams", type=int, nargs="*", default=[1, 10, 50],
                        help="MediaEngine with every stream recorded to WAV")
    args = parser.parse_args()
    if args.seconds <= 0 or args.seconds > 60:
        parser.error("--seconds must be in (0, 60]")
    if any(not 1 <= n <= 200 for n in [*args.streams, *args.stock_streams,
                                        *args.plain_streams, *args.nospin_streams,
                                        *args.recorded_streams]):
        parser.error("stream counts must be 1-200")
    if args.receiver is not None:
        receive(args.receiver, args.seconds)
        return 0
    global LOAD_BEFORE
    LOAD_BEFORE = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    results = []
    for stack, counts in (("plain", args.plain_streams), ("stock", args.stock_streams),
                          ("ours-nospin", args.nospin_streams), ("ours", args.streams),
                          ("ours-rec", args.recorded_streams)):
        for n in counts:
            result = run(stack, n, args.seconds)
            results.append(result)
            sys.stderr.write(f"{stack} {n}: {result.stats} cpu {result.cpu:.1f}%\n")
    section = table(results, args.seconds, tick_cost(100))
    sys.stdout.write(section + "\n")
    if not args.no_write:
        write_section(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
