"""The long-lived heap is frozen by the app: when start-up is done, and once a login is in.

`gc.freeze()` is process-wide and irreversible, so each check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import asyncio, datetime as dt, gc, json, tempfile
    from pathlib import Path
    from textual.widgets import Input
    from console.app import make_app
    from console.headset import Headset
    from console.store import AgentRole, DutyRecord
    from console.ui.heap import freeze_heap, frozen_at
    from console.ui.settings import UiSettings
    from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine

    async def main(tmp: Path) -> dict:
        seen: dict = {}
        clock = FakeClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC))
        store = DutyRecord(f"sqlite:///{tmp / 'duty.db'}", tz=dt.UTC, clock=clock.now)
        store.create_agent("9001", "张主任", AgentRole.SUPERVISOR, "s3cret-9001")
        app = make_app(FakeLine(), store, clock,
                       UiSettings(drafts_dir=tmp / "drafts", timezone=dt.UTC),
                       FakeFlow(), headset=Headset(FakeAudio([HEADSET], 0)))
        seen["before"] = [sorted(frozen_at()), gc.get_freeze_count()]
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                await pilot.pause()
                if frozen_at():
                    break
            seen["started"] = [sorted(frozen_at()), gc.get_freeze_count(),
                               type(app.screen).__name__]
            app.screen.query_one("#agent-id", Input).value = "9001"
            app.screen.query_one("#secret", Input).value = "s3cret-9001"
            app.screen.query_one("#secret", Input).focus()
            await pilot.press("enter")
            for _ in range(400):
                await pilot.pause(0.01)
                if len(frozen_at()) == 2:
                    break
            seen["logged in"] = [sorted(frozen_at()), gc.get_freeze_count(),
                                 type(app.screen).__name__]
        store.close()
        seen["again"] = [freeze_heap("started"), freeze_heap("logged in")]
        return seen

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(main(Path(tmp)))))
    """
)


def test_app_freezes_the_heap_once_started_and_once_logged_in() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == [[], 0]  # nothing frozen before the app starts
    started, at_start, screen = seen["started"]
    assert started == ["started"] and screen == "LoginScreen" and at_start > 10_000
    logged_in, after_login, screen = seen["logged in"]
    assert logged_in == ["logged in", "started"] and screen == "SupervisorScreen"
    assert after_login > at_start  # the role's screen and what it imported
    assert seen["again"] == [False, False]  # once per process each
