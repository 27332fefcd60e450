"""Soak of the duty line: memory, threads, CPU and RTP pacing of the headless console in its
own process, over many short calls against the loopback lab; baresip's pacing in the same run.

The console runs as `python scripts/bench_soak.py --line CONFIG` (the same assembly as
`duty-console run --headless`, plus tracemalloc on request), so every figure is that process's
own (/proc/<pid>/status and /proc/<pid>/stat), never the benchmark's. Phases, one run:

1. soak: short SIPp calls (ring limit 2 × 0.5 s, auto-answer, greeting, the caller hangs up
   `--hold-ms` after the answer) in batches of 100; RSS after each batch, once every call of
   it is sealed. Growth per call is taken after the first 100 (warm-up: prompts, pools);
2. load: `--concurrent` simultaneous calls held ~12 s: the most threads seen, CPU of the
   console over the window all are up, and the RTP it sends (dumpcap on lo): interval
   stdev and gaps > 30 ms per stream, pooled;
3. reference: one (and ten) calls to the lab's baresip gate post, same capture method.

With `--trace`, the child writes after each batch which kinds of objects grew (a census of
`gc.get_objects()`), and with BENCH_SOAK_TRACEMALLOC=1 also tracemalloc's biggest growth
(several times slower), to `soak-trace.txt`, printed at the end: what a call leaves behind.
Only 127.0.0.1 is a target; every process started is the lab's or the child, stopped by pid.
Writes its section of BENCHMARKS.md between ``<!-- bench_soak -->`` and ``<!-- /bench_soak -->``.
usage: scripts/bench_soak [--calls 2000] [--concurrent 100] [--budget 600] [--no-write]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "lab"))

import labctl  # noqa: E402
import labpcap  # noqa: E402

MARK = "<!-- bench_soak -->"
END = "<!-- /bench_soak -->"
MONDAY_10 = "2026-03-02T10:00:00+08:00"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BATCH = 100


# ------------------------------------------------------------------ the line's process


def child(config: str, clock_start: str, trace: str) -> int:
    """The console, headless, in this process; SIGUSR1 writes a tracemalloc diff (--trace)."""
    from console.runner import assemble, clock_from, configure_logging, install_signals

    configure_logging("INFO")
    if trace:
        import collections
        import gc
        import tracemalloc

        deep = os.environ.get("BENCH_SOAK_TRACEMALLOC") == "1"
        if deep:
            tracemalloc.start(8)
        snaps: list[tracemalloc.Snapshot] = []
        census: list[collections.Counter[str]] = []

        def count_objects() -> None:
            """Live objects by type, the growth since the last batch (cheap: no tracing)."""
            now = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
            with open(trace, "a", encoding="utf-8") as out:
                if census:
                    grown = now - census[-1]
                    out.write(f"== census {len(census)}: {sum(now.values())} objects, "
                              f"grown: {grown.most_common(12)}\n")
            census[:] = [now]

        def dump(signum: int, frame: object) -> None:
            # What only the cyclic collector frees (it waits in the heap until a full
            # collection): by type, since the last batch.
            gc.set_debug(gc.DEBUG_SAVEALL)
            gc.collect()
            cyclic = collections.Counter(type(o).__qualname__ for o in gc.garbage)
            gc.garbage.clear()
            gc.set_debug(0)
            gc.collect()  # now free them (saved, they would be counted again next time)
            with open(trace, "a", encoding="utf-8") as out:
                out.write(f"== cyclic garbage: {sum(cyclic.values())} objects: "
                          f"{cyclic.most_common(12)}\n")
            count_objects()
            if not deep:
                return
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__),
                 tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
                 tracemalloc.Filter(False, "*/linecache.py")])
            with open(trace, "a", encoding="utf-8") as out:
                if snaps:
                    diff = snap.compare_to(snaps[-1], "traceback")
                    total = sum(d.size_diff for d in diff)
                    out.write(f"== snapshot {len(snaps)}: traced {total / 1024:+.1f} KiB\n")
                    for d in diff[:15]:
                        out.write(f"{d.size_diff / 1024:+.1f} KiB {d.count_diff:+d} blocks\n")
                        out.write("".join(f"    {line}\n" for line in d.traceback.format()[-10:]))
                snaps[:] = [snap]

        signal.signal(signal.SIGUSR1, dump)
    headless = assemble(config, clock=clock_from(clock_start))
    probe = os.environ.get("BENCH_SOAK_PROBE")
    if probe:
        install_probe(probe, headless)
    install_signals(headless)
    return headless.run()


def install_probe(path: str, headless: Any) -> None:
    """--probe: on SIGUSR2 the child appends one JSON line to `path`: its garbage
    collections since the last line (count, longest, total per generation), every thread's
    CPU seconds (/proc/self/task) and the RTP sender's own counters (`MediaEngine.stats`).
    Nothing runs between two signals but the gc callback: no thread of its own."""
    import gc
    import json
    import threading

    started = [0.0]
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(on_gc)

    def snapshot(signum: int, frame: object) -> None:
        cpu = {}
        for t in threading.enumerate():
            try:
                fields = Path(f"/proc/self/task/{t.native_id}/stat").read_text().rsplit(")", 1)
                parts = fields[1].split()
                cpu[t.name] = (int(parts[11]) + int(parts[12])) / CLK_TCK
            except (OSError, IndexError, ValueError):
                continue
        media = getattr(getattr(headless, "line", None), "media", None)
        stats = media.stats() if media is not None else {}
        line = {"t": time.monotonic(), "cpu": cpu,
                "gc": {g: [len(v), round(max(v, default=0) * 1000, 2),
                           round(sum(v) * 1000, 1)] for g, v in pauses.items()},
                "media": {k: v for k, v in stats.items()
                          if k.startswith(("tick", "send")) or k in ("late_polls", "skipped_ticks",
                                                           "max_burst", "active")}}
        for v in pauses.values():
            v.clear()
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")

    signal.signal(signal.SIGUSR2, snapshot)


@dataclass
class Proc:
    """The child's /proc figures."""

    pid: int

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_kib(self) -> int:
        return self.status("VmRSS")

    def threads(self) -> int:
        return self.status("Threads")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------ measuring


def pacing(gaps: list[float]) -> dict[str, float]:
    if len(gaps) < 2:
        return {"n": len(gaps), "mean": float("nan"), "stdev": float("nan"),
                "max": float("nan"), "over_30": 0}
    return {"n": len(gaps), "mean": statistics.fmean(gaps), "stdev": statistics.pstdev(gaps),
            "max": max(gaps), "over_30": sum(g > 30 for g in gaps)}


def stream_gaps(packets: list[labpcap.RtpPacket], ports: set[int],
                window: tuple[float, float] | None = None) -> tuple[list[float], int]:
    """Inter-arrival gaps (ms) of every stream sent from `ports`, in sequence order, after a
    0.5 s warm-up and without the last 0.1 s (hang-up), or only within `window` (epoch
    seconds); and the number of streams."""
    streams: dict[tuple[int, int], list[labpcap.RtpPacket]] = {}
    for p in packets:
        if p.src[1] in ports and p.payload_type in (0, 8):
            streams.setdefault((p.src[1], p.ssrc), []).append(p)
    gaps: list[float] = []
    for stream in streams.values():
        start = min(p.time for p in stream)
        end = max(p.time for p in stream)
        lo, hi = window if window is not None else (start + 0.5, end - 0.1)
        window_packets = sorted((p for p in stream if max(lo, start + 0.5) <= p.time <= hi),
                                key=lambda p: p.seq)
        gaps += [(b.time - a.time) * 1000 for a, b in itertools.pairwise(window_packets)
                 if b.seq == (a.seq + 1) & 0xFFFF]
    return gaps, len(streams)


def by_position(packets: list[labpcap.RtpPacket], ports: set[int],
                window: tuple[float, float]) -> str:
    """--probe: is the jitter the tick's start or its length? Streams by their place in the
    tick (how long after the tick's first packet theirs left), in quarters: the mean place
    and the interval stdev of each quarter; and the stdev of the ticks' first packets."""
    mine = sorted((p for p in packets if p.src[1] in ports and p.payload_type in (0, 8)
                   and window[0] <= p.time <= window[1]), key=lambda p: p.time)
    if not mine:
        return "no packets"
    t0 = mine[0].time
    ticks: dict[int, list[labpcap.RtpPacket]] = {}
    for p in mine:
        ticks.setdefault(int((p.time - t0 + 0.005) // 0.020), []).append(p)
    place: dict[int, list[float]] = {}
    for tick in ticks.values():
        first = tick[0].time
        for p in tick:
            place.setdefault(p.src[1], []).append((p.time - first) * 1000)
    starts = [tick[0].time for _, tick in sorted(ticks.items())]
    start_gaps = [(b - a) * 1000 for a, b in itertools.pairwise(starts)]
    gaps_of: dict[int, list[float]] = {}
    for port in place:
        stream = sorted((p for p in mine if p.src[1] == port), key=lambda p: p.seq)
        gaps_of[port] = [(b.time - a.time) * 1000 for a, b in itertools.pairwise(stream)
                         if b.seq == (a.seq + 1) & 0xFFFF]
    order = sorted(place, key=lambda port: statistics.mean(place[port]))
    quarter = max(1, len(order) // 4)
    parts = []
    for i in range(0, len(order), quarter):
        group = order[i:i + quarter]
        gaps = [g for port in group for g in gaps_of[port]]
        if len(gaps) > 1:
            parts.append(f"place {statistics.mean(statistics.mean(place[q]) for q in group):.2f}"
                         f" ms: stdev {statistics.stdev(gaps):.3f}")
    first = statistics.stdev(start_gaps) if len(start_gaps) > 1 else float("nan")
    return f"ticks' first packets: stdev {first:.3f} ms; " + "; ".join(parts)


def sealed(db: Path) -> int:
    """Calls the child has sealed so far (its SQLite record, read-only from outside)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM calls WHERE outcome IS NOT NULL").fetchone()
    return int(row[0])


def wait_for(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Result:
    load_before: str
    points: list[tuple[int, int, float, str]] = field(default_factory=list)
    """(calls done, RSS KiB, seconds since the start of the soak, load average)."""
    failed: int = 0
    budget_hit: bool = False
    threads_idle: int = 0
    threads_max: int = 0
    threads_arrival: int = 0
    """The most threads seen in the first 3 s of the load: INVITEs, answers, claims."""
    probe: str = ""
    """The child's probe lines (JSON: before the load, all up, window end, all sealed)."""
    nice: int = 0
    """The console's nice value (--nice)."""
    positions: str = ""
    """The interval stdev by a stream's place in the tick (`by_position`)."""
    concurrent: int = 0
    cpu_pct: float = float("nan")
    load_during: str = ""
    ours: dict[str, float] = field(default_factory=dict)
    """Pacing in the 8 s window when every call is up (the CPU window)."""
    ours_whole: dict[str, float] = field(default_factory=dict)
    """Pacing over the whole calls: the arrival of 100 INVITEs at once and the hang-ups too."""
    streams: int = 0
    baresip: dict[int, tuple[dict[str, float], int]] = field(default_factory=dict)
    load_after: str = ""


def bench(work: Path, calls: int, concurrent: int, hold_ms: int, budget: float,
          trace: bool, probe: bool = False, nice: int = 0) -> Result:
    from tests.e2e.labconfig import write_console_toml

    result = Result(loadavg())
    slow = trace and os.environ.get("BENCH_SOAK_TRACEMALLOC") == "1"
    with labctl.Lab(work / "lab", auth=True) as lab:
        lab.start(gate=True)
        seat = work / "seat"
        config = write_console_toml(seat, lab.proxy_port, max_calls=concurrent + 10,
                                    hold_max=60.0, message_seconds=5.0, hangup_timeout=2.0,
                                    prompt_cache=ROOT / "var" / "bench-prompt-cache")
        cfg = tomllib.loads(config.read_text("utf-8"))
        rtp = set(range(cfg["line"]["rtp_port_low"], cfg["line"]["rtp_port_high"] + 1))
        trace_path = work / "soak-trace.txt"
        log_path = work / "console.log"
        argv = [sys.executable, str(Path(__file__).resolve()), "--line", str(config),
                "--clock-start", MONDAY_10]
        if trace:
            argv += ["--trace-file", str(trace_path)]
        probe_path = work / "probe.jsonl"
        env = dict(os.environ, BENCH_SOAK_PROBE=str(probe_path)) if probe else None
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=ROOT, env=env,
                                    preexec_fn=(lambda: os.setpriority(os.PRIO_PROCESS, 0, nice))
                                    if nice else None)

        def mark() -> None:
            if probe and proc.poll() is None:
                os.kill(proc.pid, signal.SIGUSR2)
                time.sleep(0.05)
        try:
            try:
                wait_for("the console to register", lambda: proc.poll() is not None or (
                    "waiting for calls" in log_path.read_text("utf-8", "replace")),
                    600 if slow else 120)
                if proc.poll() is not None:
                    raise RuntimeError(f"the console exited with {proc.returncode}")
            except Exception:
                print(log_path.read_text("utf-8", "replace")[-3000:], file=sys.stderr)
                raise
            me = Proc(proc.pid)
            db = seat / "duty.db"
            # 1. soak: batches of short calls
            t0 = time.monotonic()
            done = 0
            while done < calls:
                if time.monotonic() - t0 > budget:
                    result.budget_hit = True
                    break
                # tracemalloc slows the child several times: slower calls, or they time out
                run = lab.sipp_start("uac_answer_wait", calls=BATCH, rate=3 if slow else 10,
                                     limit=10 if slow else 40,
                                     duration_ms=hold_ms, timeout=240, trace=False)
                res = run.wait(timeout=300)
                stats = res.stats()
                result.failed += int(stats.get("FailedCall(C)", "0") or 0) if stats else BATCH
                done += BATCH
                wait_for("every call of the batch sealed", lambda n=done: sealed(db) >= n, 60)
                time.sleep(0.5)
                if trace:
                    os.kill(proc.pid, signal.SIGUSR1)
                    time.sleep(1.0)
                result.points.append((done, me.rss_kib(), time.monotonic() - t0, loadavg()))
                print(f"soak: {done} calls, RSS {result.points[-1][1]} KiB, "
                      f"{result.points[-1][2]:.0f} s, load {loadavg()}", flush=True)
            # 2. load: `concurrent` calls at once, ~12 s each
            result.threads_idle = me.threads()
            result.concurrent = concurrent
            with lab.capture(sorted(rtp)) as cap:
                mark()
                run = lab.sipp_start("uac_answer_wait", calls=concurrent, rate=concurrent,
                                     limit=concurrent, duration_ms=12000, timeout=90,
                                     trace=False)
                base = sealed(db)
                # all up: answered at the ring limit (1 s) and past the SIPp ramp; the
                # threads are watched from the first INVITE on (the answers' burst too)
                arrival = time.monotonic()
                while time.monotonic() - arrival < 3.0:
                    result.threads_arrival = max(result.threads_arrival, me.threads())
                    time.sleep(0.1)
                mark()
                cpu0, w0, e0 = me.cpu_seconds(), time.monotonic(), time.time()
                peak = 0
                while time.monotonic() - w0 < 8.0:
                    peak = max(peak, me.threads())
                    time.sleep(0.25)
                cpu1, w1, e1 = me.cpu_seconds(), time.monotonic(), time.time()
                mark()
                result.load_during = loadavg()
                res = run.wait(timeout=120)
                wait_for("the load calls sealed", lambda: sealed(db) >= base + concurrent, 60)
                mark()
            result.threads_max = peak
            if probe and probe_path.exists():
                result.probe = probe_path.read_text("utf-8")
            result.cpu_pct = 100 * (cpu1 - cpu0) / (w1 - w0)
            stats = res.stats()
            result.failed += int(stats.get("FailedCall(C)", "0") or 0) if stats else concurrent
            gaps, result.streams = stream_gaps(cap.packets, rtp)
            result.ours_whole = pacing(gaps)
            gaps, _ = stream_gaps(cap.packets, rtp, (e0, e1))
            result.ours = pacing(gaps)
            if probe:
                result.positions = by_position(cap.packets, rtp, (e0, e1))
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        # 3. reference: baresip's own pacing, same machine, same minute
        for n in (1, 10):
            gate_ports = set(lab.gate.rtp_ports)
            with lab.capture(sorted(gate_ports)) as cap:
                res = lab.sipp("uac_answer_wait", service="200", calls=n, rate=n, limit=n,
                               duration_ms=6000, timeout=40, trace=False)
            gaps, streams = stream_gaps(cap.packets, gate_ports)
            result.baresip[n] = (pacing(gaps), streams)
        if trace and trace_path.exists():
            print(trace_path.read_text("utf-8"))
    result.load_after = loadavg()
    return result


# ------------------------------------------------------------------ report


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def section(r: Result, hold_ms: int) -> list[str]:
    lines = [MARK, "## Soak: memory, threads, CPU, pacing (scripts/bench_soak)", ""]
    lines += [
        f"{date.today().isoformat()}, {os.cpu_count()} cores shared with other users "
        f"(load average before {r.load_before}, during the {r.concurrent}-call load "
        f"{r.load_during}, after {r.load_after}). The headless console runs in its own "
        f"{f'(started at nice {r.nice}) ' if r.nice else ''}"
        f"process; every figure is read from its /proc. Short calls: SIPp `uac_answer_wait` "
        f"(ring limit 2 × 0.5 s, auto-answer, greeting, the caller hangs up {hold_ms} ms after "
        f"the answer), batches of {BATCH} at 10 calls/s, ≤ 40 at once; SIPp failures in the "
        f"run: {r.failed}.",
        "",
        "| calls done | RSS (MiB) | seconds into the soak | load average (1, 5, 15 min) |",
        "|---|---|---|---|",
    ]
    for calls, rss, secs, load in r.points:
        lines.append(f"| {calls} | {rss / 1024:.1f} | {secs:.0f} | {load} |")
    lines.append("")
    if len(r.points) >= 2:
        first, last = r.points[0], r.points[-1]
        per_call = (last[1] - first[1]) / max(1, last[0] - first[0])
        lines.append(f"RSS growth after the first {first[0]} calls: "
                     f"{last[1] - first[1]:+d} KiB over {last[0] - first[0]} calls = "
                     f"**{per_call:.2f} KiB per call** (goal ≤ 2): "
                     f"{_yes(per_call <= 2.0)}.")
    if r.budget_hit:
        lines.append(f"The time budget ended the soak at {r.points[-1][0] if r.points else 0} "
                     "calls (2 shared cores).")
    o, w = r.ours, r.ours_whole
    lines += [
        "",
        f"| {r.concurrent} concurrent calls | value | goal | met |",
        "|---|---|---|---|",
        f"| threads of the console (idle → most seen) | {r.threads_idle} → {r.threads_max} | "
        f"≤ 12 | {_yes(r.threads_max <= 12)} |",
        f"| threads while the {r.concurrent} INVITEs arrive and are answered (first 3 s) | "
        f"{r.threads_arrival} | — | — |",
        f"| CPU of the console while all are up (8 s window) | {r.cpu_pct:.1f} % of a core | "
        f"≤ 25 % | {_yes(r.cpu_pct <= 25)} |",
        f"| RTP to the callers: streams / intervals | {r.streams} / {o.get('n', 0)} | "
        f"{r.concurrent} streams | {_yes(r.streams >= r.concurrent)} |",
        f"| RTP interval, all calls up (the CPU window): mean / stdev / max (ms) | "
        f"{o.get('mean', float('nan')):.3f} / "
        f"{o.get('stdev', float('nan')):.3f} / {o.get('max', float('nan')):.2f} | stdev ≤ 0.5,"
        f" no gap > 30 | {_yes(o.get('stdev', 99) <= 0.5 and o.get('over_30', 1) == 0)} |",
        f"| intervals over 30 ms, same window | {o.get('over_30', 0)} | 0 | "
        f"{_yes(o.get('over_30', 1) == 0)} |",
        f"| RTP over the whole calls (arrival of {r.concurrent} INVITEs at once, hang-ups): "
        f"mean / stdev / max (ms), over 30 ms | {w.get('mean', float('nan')):.3f} / "
        f"{w.get('stdev', float('nan')):.3f} / {w.get('max', float('nan')):.2f}, "
        f"{w.get('over_30', 0)} | — | — |",
    ]
    lines += probe_rows(r)
    for n, (p, streams) in sorted(r.baresip.items()):
        lines.append(f"| reference: baresip gate post, {n} call(s), {streams} stream(s), same "
                     f"run: mean / stdev / max (ms) | {p['mean']:.3f} / {p['stdev']:.3f} / "
                     f"{p['max']:.2f} (n={p['n']}, {p['over_30']} over 30 ms) | — | — |")
    ref = r.baresip.get(1, ({}, 0))[0].get("stdev", float("nan"))
    lines += [
        "",
        f"Threads: 12 while no line call blocks (SIP receive, timers, events; RTP send, receive, "
        f"encode, callbacks; the call-flow dispatcher; the record's writer, the anchor log, the "
        f"calendar watch; main), however many calls are up. Two kinds come and go: the seat's "
        f"claim thread (`claims-<seat>`) exists only while answer claims are being settled and "
        f"ends 1 s after the last (the 13th of the arrival row: 100 calls reaching the ring "
        f"limit together), and the dispatcher's blocking pool adds one (at most {4}) only while "
        f"an OPTIONS probe, a REFER or our BYE waits for its answer, gone {2:g} s later.",
        "",
        f"Pacing: in this run baresip alone paces its one stream at {ref:.3f} ms stdev; ours is "
        f"{o.get('stdev', float('nan')) / ref:.2f}× that with {r.concurrent} streams. "
        + ("The 0.5 ms goal is met in this run. "
           if o.get("stdev", 99) <= 0.5 and o.get("over_30", 1) == 0 else
           "The 0.5 ms goal is not met in this run; compare with the reference, taken at the "
           "same load. ")
        + "The sender spreads more than 25 streams over 4 moments 5 ms apart and sends each "
        "moment's packets with the GIL held, at nice -10 when the process may (issue 14; "
        "before that, at load 3.3: 2.377 ms stdev, 201 intervals over 30 ms, 67.6 ms the "
        "longest over the whole calls, against baresip's 1.668 ms: 1.43×). The figures move "
        "with the machine's load: the 2 cores are shared with other engineers' tests.",
        "", END]
    return lines


def probe_rows(r: Result) -> list[str]:
    """The sender's own counters and the child's garbage collections, from its probe lines."""
    import json

    try:
        marks = [json.loads(line) for line in r.probe.splitlines() if line.startswith("{")]
    except ValueError:
        return []
    if len(marks) < 3:
        return []
    up, end = marks[1]["media"], marks[2]["media"]
    if "ticks" not in end:  # a media engine without the sender's counters
        return []
    ticks = end["ticks"] - up["ticks"]
    work = (end["tick_work_mean_ms"] * end["ticks"] - up["tick_work_mean_ms"] * up["ticks"])

    def pauses(mark: dict[str, Any]) -> str:
        return ", ".join(f"gen{g} {n}× (longest {longest:.1f} ms)"
                         for g, (n, longest, _total) in mark["gc"].items() if n) or "none"

    return [
        f"| RTP sender, all calls up: moments sent (≤ 25 streams each) / started > 2 ms late"
        f" / mean send time (ms) | {ticks} / {end['ticks_late'] - up['ticks_late']} / "
        f"{work / max(1, ticks):.2f} (path: {end.get('send_path')}, nice "
        f"{end.get('sender_nice')}) | — | — |",
        f"| RTP interval stdev by a stream's place in its moment (CPU window) | "
        f"{r.positions or '—'} | — | — |",
        f"| garbage collections while the {r.concurrent} INVITEs arrive / while all are up | "
        f"{pauses(marks[1])} / {pauses(marks[2])} | — | — |",
    ]


def write_section(lines: list[str]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    block = "\n".join(lines)
    pattern = re.compile(re.escape(MARK) + r".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else (
        text.rstrip("\n") + "\n\n" + block + "\n")
    path.write_text(text, "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="short calls in the soak")
    parser.add_argument("--concurrent", type=int, default=100, help="calls at once (load)")
    parser.add_argument("--hold-ms", type=int, default=1500,
                        help="a soak caller hangs up this long after the answer")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds the soak phase may take (it stops at a batch boundary)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc diffs per batch")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--nice", type=int, default=0,
                        help="start the console at this nice value (systemd's Nice=; below 0 "
                             "needs root): every thread of it, not only the RTP sender")
    parser.add_argument("--probe", action="store_true",
                        help="also print the child's raw probe lines: gc pauses, thread CPU "
                             "and sender counters per phase of the load (SIGUSR2 snapshots)")
    parser.add_argument("--line", help=argparse.SUPPRESS)
    parser.add_argument("--clock-start", default=MONDAY_10, help=argparse.SUPPRESS)
    parser.add_argument("--trace-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.line:
        return child(args.line, args.clock_start, args.trace_file or "")
    if not BATCH <= args.calls <= 5000 or args.calls % BATCH:
        parser.error(f"--calls must be a multiple of {BATCH}, {BATCH}-5000")
    if not 1 <= args.concurrent <= 150:
        parser.error("--concurrent must be 1-150")
    if not 60 <= args.budget <= 1800:
        parser.error("--budget must be 60-1800 seconds")
    labctl.require_tools()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        r = bench(Path(tmp), args.calls, args.concurrent, args.hold_ms, args.budget, args.trace,
                  probe=True, nice=args.nice)
    r.nice = args.nice
    lines = section(r, args.hold_ms)
    print("\n".join(lines))
    if args.probe and r.probe:
        print("probe (before the load, all up, window end, all sealed):")
        print(r.probe)
    if not args.no_write:
        write_section(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
