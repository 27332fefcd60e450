"""Call-flow benchmark against the loopback lab; writes the `bench_flow` section of BENCHMARKS.md.

Measured in one run, each with its reference:
- ring → record row written (CallRinging reaches the flow → `open_call` returned), against a
  bare `DutyRecord.open_call` on the same database;
- answer → first greeting RTP packet on the wire, and a prompt from the warm cache (memory)
  against a cold one (a pyttsx3 render in a child process: what a call would wait without
  start-up rendering);
- N simultaneous auto-answered calls (SIPp, default 50) through the whole flow: failures,
  records sealed with satisfaction 1, RTP pacing (inter-packet gap per stream).
usage: scripts/bench_flow [--calls 50]
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts" / "lab"))

import labctl  # noqa: E402

from console.callflow.events import CallAnswered, FlowEvent  # noqa: E402
from sip.api import CallRinging, LineEvent  # noqa: E402
from sip.tts import PromptCache, PromptText, make_engine  # noqa: E402
from tests.e2e.helpers import (  # noqa: E402
    E2E_SIPP,
    at,
    ensure_digit_pcap,
    running_console,
    wait_until,
)
from tests.e2e.labconfig import write_console_toml  # noqa: E402

MARK = "<!-- bench_flow -->"
END = "<!-- /bench_flow -->"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def bench(calls: int, work: Path) -> list[str]:
    lines: list[str] = []
    with labctl.Lab(work / "lab", auth=True) as lab:
        lab.start(gate=True)
        ensure_digit_pcap(lab, "1")
        config = write_console_toml(work / "seat", lab.proxy_port, max_calls=calls + 8,
                                    hold_max=2.0, digit_timeout=4.0, hangup_timeout=1.0)
        with running_console(config, at("2026-03-02 10:00")) as console:
            flow = console.headless.flow
            ring_ms: list[float] = []
            answered_at: dict[str, float] = {}
            lock = threading.Lock()
            original_sink = flow.on_line_event
            original_rang = flow.records.call_rang  # type: ignore[attr-defined]
            rang_at: dict[str, float] = {}

            def sink(event: LineEvent) -> None:
                if isinstance(event, CallRinging):
                    with lock:
                        rang_at[event.call.call_id] = time.perf_counter()
                original_sink(event)

            def call_rang(call_id: str, *args: object) -> None:
                original_rang(call_id, *args)
                with lock:
                    ring_ms.append((time.perf_counter() - rang_at[call_id]) * 1000)

            def on_event(event: FlowEvent) -> None:
                if isinstance(event, CallAnswered):
                    with lock:
                        answered_at[event.call_id] = time.time()

            sinks = console.headless.parts["sinks"]
            sinks[sinks.index(original_sink)] = sink
            flow.records.call_rang = call_rang  # type: ignore[attr-defined,method-assign]
            flow.bus.subscribe(on_event)

            t0 = time.monotonic()
            with lab.capture() as cap:
                run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", calls=calls,
                                     rate=calls, limit=calls, timeout=120, trace=False)
                result = run.wait(timeout=150)
                wait_until("every record sealed", lambda: sum(
                    1 for r in console.calls() if r.outcome is not None) >= calls, 60)
            wall = time.monotonic() - t0
            records = [r for r in console.calls() if r.outcome is not None]
            store = console.headless.store
            bare: list[float] = []
            for i in range(50):
                t = time.perf_counter()
                key = store.open_call("bench", caller_number=str(i))
                bare.append((time.perf_counter() - t) * 1000)
                store.seal_call(key, "missed", end_reason="bench")
            greeting = console.headless.parts["prompts"].greeting_for("")

        stats = result.stats()
        ok = int(stats.get("SuccessfulCall(C)", "0") or 0)
        failed = int(stats.get("FailedCall(C)", "0") or 0)
        sat1 = sum(1 for r in records if r.satisfaction == 1)
        # Per-stream pacing of what the console sent (PT 0/8), and answer → first packet.
        by_ssrc: dict[int, list[float]] = {}
        first: dict[int, float] = {}
        for p in cap.packets:
            if p.payload_type in (0, 8) and p.src[1] != p.dst[1]:
                by_ssrc.setdefault(p.ssrc, []).append(p.time)
        console_streams = {s: ts for s, ts in by_ssrc.items() if len(ts) > 50}
        gaps = []
        for ts in console_streams.values():
            ts.sort()
            first[id(ts)] = ts[0]
            gaps += [(b - a) * 1000 for a, b in itertools.pairwise(ts)]
        answer_times = sorted(answered_at.values())
        firsts = sorted(first.values())
        to_first = [(f - a) * 1000 for a, f in zip(answer_times, firsts, strict=False)
                    if 0 <= f - a < 5]

    # Cold vs warm prompt: a pyttsx3 render (child process) against a memory hit.
    spec = PromptText("bench", "您好!XX客服中心,工号 1024 为您服务。", "cmn")
    with tempfile.TemporaryDirectory() as tmp:
        cache = PromptCache(make_engine("pyttsx3"), tmp)
        t = time.perf_counter()
        cache.get(spec)
        cold = (time.perf_counter() - t) * 1000
        warm_runs = []
        for _ in range(200):
            t = time.perf_counter()
            cache.get(spec)
            warm_runs.append((time.perf_counter() - t) * 1000)
    warm = statistics.median(warm_runs)

    first_ms = statistics.median(to_first) if to_first else float("nan")
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    lines += [
        MARK,
        "## Call flow (scripts/bench_flow)",
        "",
        f"Headless console against the loopback lab (Kamailio + SIPp), SQLite record, ring limit "
        f"2 × 0.5 s, {calls} SIPp calls started at once (rate {calls}/s, limit {calls}); each "
        f"is auto-answered, walks greeting → hold/busy → message → survey (presses 1). "
        f"Load average at the end: {load} (2 shared cores).",
        "",
        "| measure | value | reference (same run) | ratio |",
        "|---|---|---|---|",
        f"| ring → record row written (median / p95) | {statistics.median(ring_ms):.2f} / "
        f"{pct(ring_ms, 0.95):.2f} ms | bare `open_call` median {statistics.median(bare):.2f} ms "
        f"| {statistics.median(ring_ms) / statistics.median(bare):.2f}× |",
        f"| answer → first greeting packet (median, n={len(to_first)}) | "
        f"{first_ms:.1f} ms | one 20 ms packet interval | {first_ms / 20:.2f}× |",
        f"| greeting from the warm cache (memory) vs cold (pyttsx3 render) | {warm * 1000:.1f} µs"
        f" | cold {cold:.0f} ms | cold is {cold / warm:.0f}× warm |",
        f"| {calls} simultaneous calls: SIPp successful / failed | {ok} / {failed} | "
        f"{calls} placed | {ok / calls:.2f} |",
        f"| records sealed / with satisfaction 1 | {len(records)} / {sat1} | {calls} | "
        f"{sat1 / calls:.2f} |",
        f"| RTP pacing of {len(console_streams)} console streams: gap median / p99 / max | "
        f"{statistics.median(gaps):.2f} / {pct(gaps, 0.99):.2f} / {max(gaps):.2f} ms | 20 ms "
        f"ptime | p99 {pct(gaps, 0.99) / 20:.2f}× |",
        f"| wall time of the {calls}-call run | {wall:.1f} s | prompt length greeting "
        f"{greeting.seconds:.1f} s | |",
        "",
        f"Greeting prompt: {greeting.seconds:.2f} s. Answer → first packet pairs the n-th answer "
        "with the n-th stream start (both sorted), so it is approximate under load.",
        END,
    ]
    return lines


def write_section(lines: list[str]) -> None:
    path = REPO / "BENCHMARKS.md"
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    section = "\n".join(lines)
    # Up to the closing `END`, or to a second `MARK` as older runs closed the section.
    pattern = re.compile(re.escape(MARK) + r".*?(?:" + re.escape(END) + "|" + re.escape(MARK) + ")",
                         re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip("\n") + "\n\n" + section + "\n")
    path.write_text(text, "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.calls <= 200:
        parser.error("--calls must be 1-200")
    with tempfile.TemporaryDirectory(prefix="bench-flow-") as tmp:
        lines = bench(args.calls, Path(tmp))
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
