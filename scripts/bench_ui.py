"""Benchmark of the seat's TUI: cold start to an interactive screen, line event → ringing banner.

Cold start: a fresh interpreter per run (imports included) builds the app over a temporary
SQLite duty record with fakes for the line, runs it headless, and reports when the login
screen is ready for input and when the seat screen is up after a login (scrypt included).
Banner latency: in one process, the real `CallFlow` hears `CallRinging` from a fake line
(the moment the line has accepted the INVITE) and the time until the ringing banner has its
content is taken per call; Textual paints it on its next frame. Writes its table between the
`<!-- bench_ui -->` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARK = "<!-- bench_ui -->"
END = "<!-- /bench_ui -->"


def _child_cold_start(t_spawn: float) -> None:
    """Runs in a fresh interpreter: build, start, log in; print the times as JSON."""
    import datetime as dt

    from console.app import make_app
    from console.headset import Headset
    from console.store import AgentRole, DutyRecord
    from console.ui.settings import UiSettings
    from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine
    from tests.ui.helpers import login, screen_name, until

    t_imported = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    clock = FakeClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
    store = DutyRecord(f"sqlite:///{tmp / 'duty.db'}", tz=dt.UTC, clock=clock.now,
                       journal_path=tmp / "journal.jsonl")
    store.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    t_store = time.time()
    app = make_app(FakeLine(), store, clock, UiSettings(drafts_dir=tmp / "drafts"),
                   FakeFlow(), headset=Headset(FakeAudio([HEADSET], 0)))
    marks: dict[str, float] = {}

    async def run() -> None:
        async with app.run_test(size=(130, 40)) as pilot:
            await until(pilot, lambda: screen_name(app) == "LoginScreen")
            marks["login_ready"] = time.time()
            t_login = time.time()
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            await pilot.pause()
            marks["seat_ready"] = time.time()
            marks["login_to_seat"] = time.time() - t_login

    asyncio.run(run())
    store.close()
    print(json.dumps({
        "imports": t_imported - t_spawn,
        "store_setup": t_store - t_imported,
        "to_login_screen": marks["login_ready"] - t_spawn,
        "to_seat_screen": marks["seat_ready"] - t_spawn,
        "login_to_seat": marks["login_to_seat"],
    }))


def cold_start(runs: int) -> list[dict[str, float]]:
    results = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(runs):
        t_spawn = time.time()
        out = subprocess.run(
            [sys.executable, __file__, "--child", repr(t_spawn)],
            capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def banner_latency(calls: int) -> list[float]:
    """Line event (CallRinging) → ringing banner content shown, per call, in seconds."""
    import datetime as dt

    from console.app import make_app
    from console.callflow import CallFlow, FlowSettings, ShiftedClock
    from console.headset import Headset
    from console.store import AgentRole, DutyRecord
    from console.ui.settings import UiSettings
    from console.widgets.ring_banner import RingBanner
    from tests.callflow.fakes import FakeLine as CallerSide
    from tests.callflow.fakes import FixedStaffing, MemoryRecords, TinyPrompts
    from tests.ui.fakes import HEADSET, FakeAudio, FakeLine
    from tests.ui.helpers import login, screen_name, until

    tmp = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    clock = ShiftedClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
    store = DutyRecord(f"sqlite:///{tmp / 'duty.db'}", tz=dt.UTC,
                       journal_path=tmp / "journal.jsonl")
    store.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    flow = CallFlow(MemoryRecords(), FixedStaffing(True), TinyPrompts(),
                    FlowSettings(ring_limit_seconds=600), clock=clock)
    caller = CallerSide(flow.on_line_event)
    app = make_app(FakeLine(), store, clock, UiSettings(drafts_dir=tmp / "drafts"), flow,
                   headset=Headset(FakeAudio([HEADSET], 0)))
    shown: dict[str, float] = {}
    original = RingBanner.show

    def timed_show(self: RingBanner, call, *args, **kwargs):  # type: ignore[no-untyped-def]
        shown.setdefault(call.call_id, time.perf_counter())
        return original(self, call, *args, **kwargs)

    RingBanner.show = timed_show  # type: ignore[method-assign]
    latencies: list[float] = []

    async def run() -> None:
        async with app.run_test(size=(130, 40)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            for _ in range(calls):
                t0 = time.perf_counter()
                call = caller.ring("13800000000")
                cid = call.call_id
                await until(pilot, lambda cid=cid: cid in shown, "banner")  # type: ignore[misc]
                latencies.append(shown[call.call_id] - t0)
                call.caller_hangs_up()
                await until(pilot, lambda: screen_name(app) == "SeatScreen", "banner gone")

    try:
        asyncio.run(run())
    finally:
        RingBanner.show = original  # type: ignore[method-assign]
        flow.stop()
        store.close()
    return latencies


def _ms(values: list[float]) -> tuple[str, str, str]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{statistics.median(values) * 1000:.0f}", f"{p95 * 1000:.0f}",
            f"{max(values) * 1000:.0f}")


def section(cold: list[dict[str, float]], banner: list[float]) -> str:
    load = os.getloadavg()
    med = {k: statistics.median(r[k] for r in cold) for k in cold[0]}
    goal_start = med["to_login_screen"] <= 1.0
    b_med, b_p95, b_max = _ms(banner)
    goal_banner = float(b_p95) <= 100
    rows = [
        f"| cold start → login screen ready (fresh interpreter, imports included) | ≤ 1.0 s | "
        f"{med['to_login_screen'] * 1000:.0f} ms median of {len(cold)} "
        f"(imports {med['imports'] * 1000:.0f} ms) | {'met' if goal_start else '**NOT met**'} |",
        f"| cold start → seat screen after login (scrypt verify included) | — | "
        f"{med['to_seat_screen'] * 1000:.0f} ms median (login → seat "
        f"{med['login_to_seat'] * 1000:.0f} ms) | — |",
        f"| line event (INVITE accepted, `CallRinging`) → ringing banner content | ≤ 100 ms | "
        f"median {b_med} ms, p95 {b_p95} ms, max {b_max} ms over {len(banner)} calls | "
        f"{'met' if goal_banner else '**NOT met**'} |",
    ]
    return "\n".join([
        MARK,
        "## Agent console TUI (`scripts/bench_ui`)",
        "",
        f"Headless Textual (`run_test`, 130×40), fakes for the line and the headset, a temporary "
        f"SQLite duty record, the real `CallFlow` for the banner path. Machine: {os.cpu_count()} "
        f"CPUs, Python {platform.python_version()}, {date.today()}; load average before "
        f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (the machine is shared). The banner time "
        "is taken when the banner widget receives its content; Textual paints on its next "
        "frame (≤ 1/60 s later). The SIP parsing of the INVITE itself is not included.",
        "",
        "| measure | goal | result | goal met |",
        "|---|---|---|---|",
        *rows,
        END,
    ])


def write_section(text: str, path: Path) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if MARK in old and END in old:
        head, rest = old.split(MARK, 1)
        tail = rest.split(END, 1)[1]
        new = head + text + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child_cold_start(float(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts (1-50)")
    parser.add_argument("--calls", type=int, default=30, help="banner measurements (1-500)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50 or not 1 <= args.calls <= 500:
        parser.error("--runs must be 1-50 and --calls 1-500")
    cold = cold_start(args.runs)
    banner = banner_latency(args.calls)
    text = section(cold, banner)
    print(text)
    if not args.no_write:
        write_section(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
