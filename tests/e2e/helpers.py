"""Running the headless console in-process against the lab, and hearing what it played.

`ConsoleUnderTest` assembles the console exactly as `duty-console run --headless` does
(`console.runner.assemble`), with the wall clock injected, and stops it by the same path
SIGTERM takes. `greeting_correlation` decodes the RTP the console sent and compares it
with the prompt it rendered.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import labctl
import labpcap

from console.callflow import ShiftedClock
from console.callflow.events import FlowEvent
from console.runner import Headless, assemble
from console.store import CallRecord, StoreError
from sip.api import LineStatus
from tests.e2e.labconfig import LAB_DIR  # noqa: F401  (puts scripts/lab on sys.path)

SHANGHAI = ZoneInfo("Asia/Shanghai")
E2E_SIPP = Path(__file__).resolve().parent / "sipp"


def at(text: str) -> datetime:
    """A wall time in the config's zone, e.g. at("2026-03-02 10:00") (a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def ensure_digit_pcap(lab: labctl.Lab, digit: str = "1") -> None:
    """`pcap/dtmf_<digit>x.pcap` in the lab's pcap cache: `digit` pressed every 1.5 s, 45 s.

    One pcap with 30 presses, not one press replayed: a replay repeats the RTP timestamp,
    and an RFC 4733 receiver rightly takes a repeated timestamp for the same event.
    """
    target = lab.pcap_dir / f"dtmf_{digit}x.pcap"
    if not target.exists():
        tmp = target.with_suffix(f".{threading.get_ident()}.tmp")
        labpcap.write_pcap(tmp, labpcap.dtmf_packets(digit * 30, on_ms=160, gap_ms=1340))
        tmp.replace(target)


def ensure_tone_pcap(lab: labctl.Lab, hz: int = 600, seconds: float = 15.0) -> str:
    """`pcap/tone<hz>_<seconds>s.pcap` in the lab's pcap cache (PCMU); returns its name."""
    name = f"tone{hz}_{seconds:.0f}s.pcap"
    target = lab.pcap_dir / name
    if not target.exists():
        tmp = target.with_suffix(f".{threading.get_ident()}.tmp")
        labpcap.write_pcap(tmp, labpcap.g711_packets(labpcap.tone_pcm16(hz, seconds)))
        tmp.replace(target)
    return name


def wait_until(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class ConsoleUnderTest:
    """A headless console running on a thread; `events` is everything the flow published."""

    def __init__(self, headless: Headless) -> None:
        self.headless = headless
        self.events: list[FlowEvent] = []
        self._lock = threading.Lock()
        headless.flow.bus.subscribe(self._hear)
        self.exit_code: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="headless", daemon=True)

    def _hear(self, event: FlowEvent) -> None:
        with self._lock:
            self.events.append(event)

    def _run(self) -> None:
        self.exit_code = self.headless.run(self._ready.set)

    def start(self) -> ConsoleUnderTest:
        self._thread.start()
        if not self._ready.wait(15):
            raise AssertionError("the headless console did not start within 15 s")
        wait_until("registration", lambda: self.headless.line.status is LineStatus.REGISTERED,
                   10)
        return self

    def stop(self) -> int | None:
        self.headless.request_stop()
        self._thread.join(20)
        return self.exit_code

    def of(self, kind: type, **match: Any) -> list[Any]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)
                    and all(getattr(e, k) == v for k, v in match.items())]

    def wait_for(self, kind: type, timeout: float = 30.0, **match: Any) -> Any:
        wait_until(f"{kind.__name__} {match}", lambda: bool(self.of(kind, **match)), timeout)
        return self.of(kind, **match)[0]

    def calls(self) -> list[CallRecord]:
        store = self.headless.store
        return list(store.calls())

    def sealed_calls(self) -> list[CallRecord]:
        """The sealed calls in the record; none while it cannot be read (a fault test)."""
        try:
            return [c for c in self.calls() if c.outcome is not None]
        except StoreError:
            return []

    def sealed_call(self, sip_call_id: str | None = None, timeout: float = 30.0) -> CallRecord:
        def find() -> CallRecord | None:
            for record in self.calls():
                if record.outcome is not None and (
                    sip_call_id is None or record.sip_call_id == sip_call_id
                ):
                    return record
            return None

        wait_until("a sealed call record", lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found


@contextmanager
def running_console(config: Path, start: datetime, **overrides: Any) -> Iterator[ConsoleUnderTest]:
    """The console at wall time `start` (ShiftedClock), stopped (as by SIGTERM) at the end."""
    cut = ConsoleUnderTest(assemble(config, clock=ShiftedClock(start), **overrides)).start()
    try:
        yield cut
    finally:
        cut.stop()


def decode_stream(packets: list[labpcap.RtpPacket], dst_port: int) -> bytes:
    """PCM of the G.711 RTP sent to `dst_port` (the caller), in sequence order."""
    audio = [p for p in packets if p.dst[1] == dst_port and p.payload_type in (0, 8)]
    audio.sort(key=lambda p: p.time)
    return b"".join(labpcap.decode_g711(p.payload_type, p.payload) for p in audio)


def _samples(pcm: bytes) -> list[int]:
    import array

    out = array.array("h")
    out.frombytes(pcm[: len(pcm) // 2 * 2])
    return out.tolist()


def _corr(a: list[int], b: list[int]) -> float:
    n = min(len(a), len(b))
    if n == 0:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    da = math.sqrt(sum((x - ma) ** 2 for x in a))
    db = math.sqrt(sum((y - mb) ** 2 for y in b))
    return num / (da * db) if da and db else 0.0


def greeting_correlation(reference: bytes, heard: bytes, max_lag_s: float = 1.0) -> float:
    """Best normalised correlation of the prompt with what was heard, over lags ≤ max_lag_s.

    The first 1.5 s of the prompt are searched for in the heard audio at 10 ms steps, then
    the best lag is refined sample by sample. 1.0 is identical; G.711 alone keeps > 0.99.
    """
    ref = _samples(reference)[:12000]
    got = _samples(heard)
    best_lag, best = 0, -1.0
    for lag in range(0, int(max_lag_s * 8000), 80):
        c = _corr(ref, got[lag:lag + len(ref)])
        if c > best:
            best_lag, best = lag, c
    for lag in range(max(0, best_lag - 80), best_lag + 81):
        c = _corr(ref, got[lag:lag + len(ref)])
        best = max(best, c)
    return best
