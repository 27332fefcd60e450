"""The duty line end to end against the loopback lab: answer latency, answer timing, prompt
start, RTP pacing next to baresip, concurrent calls, memory; stock pyVoIP 1.6.8 in the same run.
Prompt start and load are measured twice: warm (prompts encoded up front with `Line.prepare`, as
the console does with its greeting) and cold (a prompt never seen before, encoded on first play).

Everything is measured from outside the line: SIPp's message trace (INVITE, 180, 200, ACK
times) and dumpcap on ``lo`` (RTP). Only 127.0.0.1 is a target; every process is the lab's and
is stopped by pid. Writes its section of BENCHMARKS.md between ``<!-- bench_line -->`` and
``<!-- /bench_line -->``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "lab"))

import labctl  # noqa: E402
import labpcap  # noqa: E402

from sip.api import CallAnswered, CallRinging, LineConfig, LineEvent, Prompt  # noqa: E402
from sip.line import DutyCall, DutyLine  # noqa: E402

MARK_BEGIN = "<!-- bench_line -->"
MARK_END = "<!-- /bench_line -->"
log = logging.getLogger("bench.line")
CAVEAT = ("Caveat: this RSS is the benchmark process, which also parses every capture (tens of "
          "thousands of packet objects) between runs and keeps the heap it grew, so the figure "
          "is an upper bound, not a per-call leak; a clean figure needs the line in its own "
          "process (not done). The per-call tables above are the bounded part the tests check.")


# ------------------------------------------------------------------ measuring helpers


@dataclass
class Msg:
    at: float
    sent: bool
    first: str
    call_id: str
    cseq: str
    text: str


def trace(result: labctl.SippResult) -> list[Msg]:
    """SIPp's -trace_msg file as messages with wall-clock times."""
    out: list[Msg] = []
    for block in result.messages.split("-----------------------------------------------")[1:]:
        head, _, rest = block.partition("\n")
        if not head.strip()[:1].isdigit():
            continue  # a dashed line inside a message, not a trace separator
        kind, _, body = rest.partition("\n")
        text = body.strip("\n")
        headers = {}
        for line in text.splitlines()[1:]:
            name, sep, value = line.partition(":")
            if sep and name.strip() not in headers:
                headers[name.strip().lower()] = value.strip()
        out.append(Msg(datetime.strptime(head.strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp(),
                       "sent" in kind, text.split("\n", 1)[0].strip(),
                       headers.get("call-id", ""), headers.get("cseq", ""), text))
    return out


def per_call(msgs: list[Msg]) -> dict[str, dict[str, Msg]]:
    """For each Call-ID: first INVITE sent, first 180/200 to the INVITE, first ACK sent."""
    calls: dict[str, dict[str, Msg]] = {}
    for m in msgs:
        slot = calls.setdefault(m.call_id, {})
        if m.sent and m.first.startswith("INVITE"):
            slot.setdefault("invite", m)
        elif m.sent and m.first.startswith("ACK"):
            slot.setdefault("ack", m)
        elif not m.sent and m.first.startswith("SIP/2.0") and m.cseq.endswith("INVITE"):
            slot.setdefault(m.first.split()[1], m)
    return calls


def sdp_port(msg: Msg) -> int:
    for line in msg.text.splitlines():
        if line.startswith("m=audio"):
            return int(line.split()[1])
    return 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sweep(seconds: float) -> Prompt:
    n = int(seconds * 8000)
    pcm = bytearray()
    for i in range(n):
        t = i / 8000
        value = int(9000 * math.sin(2 * math.pi * (400 + 300 * math.sin(t)) * t))
        pcm += value.to_bytes(2, "little", signed=True)
    return Prompt(f"sweep{seconds:g}", bytes(pcm))


def intervals(packets: list[labpcap.RtpPacket], t0: float, t1: float) -> list[float]:
    """Inter-arrival gaps (ms) of one stream between t0 and t1, in sequence order."""
    window = sorted((p for p in packets if t0 <= p.time <= t1), key=lambda p: p.seq)
    return [(b.time - a.time) * 1000 for a, b in itertools.pairwise(window)
            if b.seq == (a.seq + 1) & 0xFFFF]


def pacing(gaps: list[float]) -> dict[str, float]:
    if len(gaps) < 2:
        return {"n": len(gaps), "mean": float("nan"), "stdev": float("nan"),
                "max": float("nan")}
    return {"n": len(gaps), "mean": statistics.fmean(gaps), "stdev": statistics.pstdev(gaps),
            "max": max(gaps)}


# ------------------------------------------------------------------ the line under test


class Bench:
    """A duty line registered as 100 whose behaviour per call the benchmark sets."""

    def __init__(self, lab: labctl.Lab, rtp_pairs: int = 130) -> None:
        self.low = labctl.free_port_range(rtp_pairs * 2, align=2)
        self.ports = range(self.low, self.low + rtp_pairs * 2)
        self.on_ring: Callable[[DutyCall], None] = lambda call: call.answer()
        self.on_answer: Callable[[DutyCall], None] = lambda call: None
        cfg = LineConfig("127.0.0.1", lab.proxy_port, "100", lab.users["100"],
                         rtp_port_low=self.low, rtp_port_high=self.low + rtp_pairs * 2 - 1,
                         max_calls=rtp_pairs)
        self.line = DutyLine(cfg, self._event)
        self.line.start(timeout=5)

    def _event(self, event: LineEvent) -> None:
        try:
            if isinstance(event, CallRinging):
                self.on_ring(event.call)  # type: ignore[arg-type]
            elif isinstance(event, CallAnswered):
                self.on_answer(event.call)  # type: ignore[arg-type]
        except Exception:
            log.exception("benchmark handler failed")

    def stop(self) -> None:
        self.line.stop()
        labctl.release_ports(self.ports)


def hang_up_after(seconds: float) -> Callable[[DutyCall], None]:
    def later(call: DutyCall) -> None:
        threading.Timer(seconds, call.hangup).start()
    return later


def answer_latency(lab: labctl.Lab, bench: Bench, calls: int) -> list[float]:
    bench.on_ring = lambda call: call.answer()
    bench.on_answer = hang_up_after(0.2)
    res = lab.sipp("uac_wait_bye", calls=calls, rate=5, limit=5, duration_ms=5000,
                   timeout=30 + calls)
    if not res.ok:
        log.warning("answer latency run: %s", res.describe())
    return [(c["200"].at - c["invite"].at) * 1000 for c in per_call(trace(res)).values()
            if "200" in c and "invite" in c]


def stock_answer_latency(lab: labctl.Lab, calls: int) -> list[float]:
    """Stock pyVoIP 1.6.8 VoIPPhone as extension 100, answering in its callback at once."""
    from pyVoIP.VoIP import VoIPPhone  # reference only; the product's pyVoIP use is in sip/

    def on_call(call: Any) -> None:
        try:
            call.answer()
            time.sleep(0.2)
            call.hangup()
        except Exception:
            log.exception("stock call failed")

    low = labctl.free_port_range(40, align=2)
    sip_port = labctl.free_port_range(1)
    phone = VoIPPhone("127.0.0.1", lab.proxy_port, "100", lab.users["100"], myIP="127.0.0.1",
                      callCallback=on_call, sipPort=sip_port, rtpPortLow=low,
                      rtpPortHigh=low + 39)
    phone.start()
    try:
        res = lab.sipp("uac_wait_bye", calls=calls, rate=5, limit=5, duration_ms=5000,
                       timeout=30 + 2 * calls)
        if not res.ok:
            log.warning("stock run: %s", res.describe()[:400])
        return [(c["200"].at - c["invite"].at) * 1000 for c in per_call(trace(res)).values()
                if "200" in c and "invite" in c]
    finally:
        phone.stop()
        labctl.release_ports([sip_port, *range(low, low + 40)])


def answer_timing(lab: labctl.Lab, bench: Bench, calls: int, delay: float) -> list[float]:
    bench.on_ring = lambda call: call.answer(at=call.ring_started + delay)
    bench.on_answer = hang_up_after(0.2)
    res = lab.sipp("uac_wait_bye", calls=calls, rate=10, limit=calls, duration_ms=8000,
                   timeout=30)
    if not res.ok:
        log.warning("answer timing run: %s", res.describe())
    return [((c["200"].at - c["180"].at) - delay) * 1000
            for c in per_call(trace(res)).values() if "200" in c and "180" in c]


def first_prompt_packet(lab: labctl.Lab, bench: Bench, calls: int,
                        prepared: bool) -> tuple[list[float], list[float]]:
    """ACK → first RTP packet carrying the prompt, and 200 → first RTP packet of the call."""
    prompt = sweep(0.5 if prepared else 0.52)  # different audio: the cold one is not cached
    if prepared:
        bench.line.prepare([prompt])
    bench.on_ring = lambda call: call.answer()
    bench.on_answer = lambda call: (call.play(prompt), hang_up_after(1.0)(call))
    with lab.capture(bench.ports) as cap:
        res = lab.sipp("uac_wait_bye", calls=calls, rate=5, limit=5, duration_ms=8000,
                       timeout=40)
    if not res.ok:
        log.warning("first prompt run: %s", res.describe())
    silence = {0: 0xFF, 8: 0xD5}
    after_ack, after_ok = [], []
    for c in per_call(trace(res)).values():
        if "ack" not in c or "200" not in c:
            continue
        port = sdp_port(c["200"])
        ours = [p for p in cap.packets if p.src[1] == port and p.dst[1] == res.media_port]
        ours.sort(key=lambda p: p.time)
        voiced = [p for p in ours if any(b != silence.get(p.pt, 0xFF) for b in p.payload)]
        if voiced:
            after_ack.append((voiced[0].time - c["ack"].at) * 1000)
        if ours:
            after_ok.append((ours[0].time - c["200"].at) * 1000)
    return after_ack, after_ok


def pacing_vs_baresip(lab: labctl.Lab, bench: Bench, seconds: float) -> tuple[dict[str, float],
                                                                              dict[str, float]]:
    prompt = sweep(seconds + 1)
    bench.on_ring = lambda call: call.answer()
    bench.on_answer = lambda call: call.play(prompt)
    results: dict[str, dict[str, float]] = {}
    for who, service, ports in (("ours", "100", bench.ports), ("baresip", "200",
                                                                lab.gate.rtp_ports)):
        with lab.capture(ports) as cap:
            res = lab.sipp("uac_answer_wait", service=service, duration_ms=int(seconds * 1000),
                           timeout=seconds + 20)
        if not res.ok:
            log.warning("pacing run %s: %s", who, res.describe())
        sent = [p for p in cap.packets if p.src[1] in ports and p.dst[1] == res.media_port
                and p.pt in (0, 8)]
        if not sent:
            results[who] = pacing([])
            continue
        t0 = min(p.time for p in sent) + 0.5
        results[who] = pacing(intervals(sent, t0, t0 + seconds))
    return results["ours"], results["baresip"]


@dataclass
class Load:
    calls: int
    failed: int
    streams: int
    stats: dict[str, float]
    over_40: int
    rss_before: int
    rss_after: int
    call_minutes: float
    prepared: bool = True


def concurrent(lab: labctl.Lab, bench: Bench, calls: int, seconds: float,
               prepared: bool = True) -> Load:
    # warm: prepared before the calls, as the greeting is; cold: audio never played before, so
    # the first play() of the burst has it encoded (once) on the engine's encoder thread
    prompt = sweep(seconds + (0 if prepared else 0.001 * calls + 0.02))
    if prepared:
        bench.line.prepare([prompt])
    bench.on_ring = lambda call: call.answer()
    bench.on_answer = lambda call: call.play(prompt)
    gc.collect()
    rss0 = rss_kib()
    with lab.capture(bench.ports) as cap:
        res = lab.sipp("uac_answer_wait", calls=calls, rate=max(calls, 1), limit=calls,
                       duration_ms=int(seconds * 1000) - 3000, timeout=seconds + 40,
                       trace=False)
        time.sleep(0.5)
        gc.collect()
        rss1 = rss_kib()  # before the capture is parsed in this process
    stats = res.stats()
    failed = int(stats.get("FailedCall(C)", "0") or 0) if stats else (0 if res.ok else calls)
    if not res.ok:
        failed = max(failed, 1)
        log.warning("load run %d: rc %d, errors: %s", calls, res.rc, res.errors[-1500:])
    streams: dict[int, list[labpcap.RtpPacket]] = {}
    for p in cap.packets:
        if p.src[1] in bench.ports and p.pt in (0, 8):
            streams.setdefault(p.src[1], []).append(p)
    gaps: list[float] = []
    minutes = 0.0
    for packets in streams.values():
        start = min(p.time for p in packets)
        end = max(p.time for p in packets)
        minutes += (end - start) / 60
        gaps += intervals(packets, start + 0.5, end - 0.1)
    return Load(calls, failed, len(streams), pacing(gaps), sum(g > 40 for g in gaps), rss0,
                rss1, minutes, prepared)


# ------------------------------------------------------------------ report


def fmt(values: list[float]) -> str:
    if not values:
        return "no data"
    return (f"median {statistics.median(values):.1f}, min {min(values):.1f}, "
            f"max {max(values):.1f} (n={len(values)})")


def section(r: dict[str, Any]) -> str:
    ours, stock = r["ours_latency"], r["stock_latency"]
    timing = r["timing"]
    ack, ok = r["first_ack"], r["first_ok"]
    cold_ack, cold_ok = r["cold_ack"], r["cold_ok"]
    po, pb = r["pacing_ours"], r["pacing_baresip"]
    loads: list[Load] = r["loads"]
    max_err = max((abs(e) for e in timing), default=float("nan"))
    lines = [
        MARK_BEGIN,
        "## The duty line end to end (`scripts/bench_line`)",
        "",
        f"Kamailio + SIPp + baresip on loopback, one run, {date.today().isoformat()}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average before "
        f"{r['load_before']}, after {r['load_after']} (the machine is shared). Times from "
        "SIPp's message trace (wall clock) and dumpcap on `lo`.",
        "",
        "| measure | goal | result | met |",
        "|---|---|---|---|",
        f"| INVITE → 200, answer delay 0, ours (ms) | ≤ 20 | {fmt(ours)} | "
        f"{_yes(bool(ours) and statistics.median(ours) <= 20)} |",
        f"| INVITE → 200, answer delay 0, stock pyVoIP 1.6.8 `VoIPPhone` (ms) | reference "
        f"(~1,008) | {fmt(stock)} | — |",
        f"| answer moment − configured 1.0 s, 180 → 200 at the caller (ms) | ±100 "
        f"(issue: ±20) | {fmt(timing)}; max error {max_err:.1f} | {_yes(max_err <= 100)} |",
        f"| ACK → first RTP packet carrying the prompt, **warm** (prepared), all calls (ms) | "
        f"≤ 60 | {fmt(ack)} | {_yes(bool(ack) and max(ack) <= 60)} |",
        f"| ACK → first RTP packet carrying the prompt, **cold** (never played before) (ms) | "
        f"— | {fmt(cold_ack)}; first call {cold_ack[0] if cold_ack else float('nan'):.1f} | — |",
        f"| 200 → first RTP packet of the call, warm / cold (ms) | — | {fmt(ok)} / "
        f"{fmt(cold_ok)} | — |",
        f"| RTP interval while playing, ours: mean / stdev / max gap (ms) | 20.00 ± 0.05 / "
        f"≤ 1.5 × baresip / ≤ 40 | {po['mean']:.3f} / {po['stdev']:.3f} / {po['max']:.2f} "
        f"(n={po['n']}) | {_yes(abs(po['mean'] - 20) <= 0.05 and po['stdev'] <= 1.5 * pb['stdev'] and po['max'] <= 40)} |",  # noqa: E501
        f"| RTP interval, baresip gate post, same run | reference | {pb['mean']:.3f} / "
        f"{pb['stdev']:.3f} / {pb['max']:.2f} (n={pb['n']}) | — |",
        "",
        "Concurrent answered calls, each playing a prompt to SIPp (`uac_answer_wait`), one "
        "line in this process; warm = the prompt prepared before the burst, cold = a prompt "
        "never played before (encoded once, in the background, while the streams carry "
        "silence):",
        "",
        "| calls | prompt | failed | streams seen | intervals | mean (ms) | stdev (ms) "
        "| max gap (ms) | gaps > 40 ms | goal met (0 failed, stdev ≤ 0.5, no gap > 40) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for load in loads:
        s = load.stats
        met = load.failed == 0 and s["stdev"] <= 0.5 and load.over_40 == 0
        kind = "warm" if load.prepared else "cold"
        lines.append(f"| {load.calls} | {kind} | {load.failed} | {load.streams} | {s['n']:,} | "
                     f"{s['mean']:.3f} | {s['stdev']:.3f} | {s['max']:.2f} | {load.over_40} | "
                     f"{_yes(met)} |")
    loads = [x for x in loads if x.prepared]  # RSS over the warm series
    total_minutes = sum(x.call_minutes for x in loads[1:])
    growth = loads[-1].rss_after - loads[1].rss_before if len(loads) > 1 else 0
    per = growth / total_minutes if total_minutes else float("nan")
    lines += [
        "",
        f"RSS: {loads[0].rss_before / 1024:.1f} MiB before the first load run, "
        f"{loads[-1].rss_after / 1024:.1f} MiB after the last; from the second run to the end "
        f"{growth / 1024:+.1f} MiB over {total_minutes:.1f} call-minutes = "
        f"**{per:+.0f} KiB per call-minute** (stock pyVoIP keeps every packet: ~1,380 KiB per "
        "call-minute). Line tables afterwards: "
        f"`{r['pending']}`; media engine: sessions {r['media']['sessions']}, ports in use "
        f"{r['media']['ports_in_use']}.",
        CAVEAT,
        MARK_END,
    ]
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def write_section(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    body = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if MARK_BEGIN in body and MARK_END in body:
        head, rest = body.split(MARK_BEGIN, 1)
        body = head + text + rest.split(MARK_END, 1)[1]
    else:
        body = body.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(body, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="*", default=[1, 10, 50, 100],
                        help="concurrent call counts (1-120)")
    parser.add_argument("--cold-calls", type=int, nargs="*", default=[50, 100],
                        help="concurrent call counts run with a never-played prompt (1-120)")
    parser.add_argument("--seconds", type=float, default=6.0, help="call length under load")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args()
    if not args.calls or any(not 1 <= n <= 120 for n in args.calls):
        parser.error("--calls: each count must be 1-120")
    if any(not 1 <= n <= 120 for n in args.cold_calls):
        parser.error("--cold-calls: each count must be 1-120")
    if not 4 <= args.seconds <= 30:
        parser.error("--seconds must be 4-30")
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    labctl.require_tools()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-line-") as tmp, \
            labctl.Lab(Path(tmp), auth=True) as lab:
        lab.start(gate=True)
        r: dict[str, Any] = {"load_before": load_before}
        r["stock_latency"] = stock_answer_latency(lab, 10)
        bench = Bench(lab)
        try:
            r["ours_latency"] = answer_latency(lab, bench, 20)
            r["timing"] = answer_timing(lab, bench, 20, 1.0)
            r["cold_ack"], r["cold_ok"] = first_prompt_packet(lab, bench, 20, prepared=False)
            r["first_ack"], r["first_ok"] = first_prompt_packet(lab, bench, 20, prepared=True)
            r["pacing_ours"], r["pacing_baresip"] = pacing_vs_baresip(lab, bench, 5.0)
            r["loads"] = [concurrent(lab, bench, n, args.seconds) for n in args.calls]
            r["loads"] += [concurrent(lab, bench, n, args.seconds, prepared=False)
                           for n in args.cold_calls]
            time.sleep(1.0)
            r["pending"] = bench.line.pending_memory()
            r["media"] = bench.line.media.stats()
        finally:
            bench.stop()
        r["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = section(r)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
