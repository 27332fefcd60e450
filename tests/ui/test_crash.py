"""An error nothing in the seat handled ends the app as one line, never a traceback.

Textual's own ending prints a screenful of traceback with locals to whoever sits at the seat
and `duty-console` exited 0 after it (the tmux review test's board-tab crash showed both).
Now the traceback is in the log, the terminal gets one line in the seat's language and the
exit code is 1.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from console.app import DutyConsoleApp
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import login, ring, screen_name, until


def _boom() -> None:
    raise RuntimeError("a widget ID used twice\nits second line")


async def test_an_unhandled_error_is_one_line_in_the_seats_language_and_exit_code_1(
    build: Callable[..., DutyConsoleApp], capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build()
    caplog.set_level(logging.ERROR, logger="console.app")
    running = asyncio.create_task(app.run_async(headless=True, size=(100, 30)))
    for _ in range(200):
        if app.is_running and app.screen is not None:
            break
        await asyncio.sleep(0.025)
    app.call_later(_boom)
    await asyncio.wait_for(running, 20)
    assert app.return_code == 1
    said = capsys.readouterr()
    shown = [line for line in (said.err + said.out).splitlines() if line.strip()]
    crashed = [line for line in shown if "坐席程序内部出错" in line]
    assert len(crashed) == 1, shown
    assert "RuntimeError: a widget ID used twice" in crashed[0]
    assert "its second line" not in crashed[0]
    assert not any("Traceback" in line or "locals" in line for line in shown), shown
    logged = [r for r in caplog.records if "internal error" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the whole traceback, in the log


async def test_a_seat_ending_on_an_error_hands_its_ringing_caller_to_the_gate_post(
    build: Callable[..., DutyConsoleApp], flow: FakeFlow, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before, the seat's end stopped the line and the ringing caller got 480 (the tmux
    review test, ci18): a caller dropped by a bug in a screen. Now they go to the gate post
    as a confirmed Ctrl+Q sends them."""
    app = build()
    caplog.set_level(logging.ERROR, logger="console.app")
    with pytest.raises(RuntimeError, match="a widget ID used twice"):
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            ring(flow, "c1", "13800138000", clock.now())
            await until(pilot, lambda: screen_name(app) == "RingingScreen", "the banner")
            app.call_later(_boom)
            await pilot.pause(0.5)
    assert flow.taken == [("c1", "1024")]
    assert ("transfer_to_gate_post", "c1") in flow.actions
    said = [r.getMessage() for r in caplog.records]
    assert any("1 call(s) on the line: 1 handed to the gate post, 0 not" in m for m in said)
