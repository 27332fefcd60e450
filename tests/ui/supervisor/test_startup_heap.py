"""The start-up heap is frozen once per process, by the app when start-up is done.

`gc.freeze()` is process-wide and irreversible, so each check runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import asyncio, datetime as dt, gc, sys, tempfile
    from pathlib import Path
    from console.app import make_app
    from console.headset import Headset
    from console.store import DutyRecord
    from console.ui.heap import freeze_startup_heap, heap_frozen
    from console.ui.settings import UiSettings
    from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine

    async def main(tmp: Path) -> None:
        clock = FakeClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
        store = DutyRecord(f"sqlite:///{tmp / 'duty.db'}", tz=dt.UTC, clock=clock.now,
                           journal_path=tmp / "journal.jsonl")
        app = make_app(FakeLine(), store, clock,
                       UiSettings(drafts_dir=tmp / "drafts", timezone=dt.UTC),
                       FakeFlow(), headset=Headset(FakeAudio([HEADSET], 0)))
        before = (heap_frozen(), gc.get_freeze_count())
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(50):
                await pilot.pause()
                if heap_frozen():
                    break
            screen = type(app.screen).__name__
        store.close()
        print(before, heap_frozen(), gc.get_freeze_count(), screen, freeze_startup_heap())

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
    """
)


def test_app_freezes_the_startup_heap_once_when_started() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, frozen, count, screen, again = _parse(done.stdout)
    assert before == "(False, 0)"  # nothing frozen before the app starts
    assert frozen == "True" and int(count) > 10_000  # the app, its stylesheet, the modules
    assert screen == "LoginScreen"  # done at start-up, before any login
    assert again == "False"  # once per process


def _parse(out: str) -> tuple[str, str, str, str, str]:
    line = out.strip().splitlines()[-1]
    before, rest = line[: line.index(")") + 1], line[line.index(")") + 2 :].split()
    frozen, count, screen, again = rest
    return before, frozen, count, screen, again
