"""A dialog's footer shows the dialog's keys, not the keys of the screen under it (issue 11,
point 11: "modal footers show the parent's keys"). A modal screen's background lets the
screen below show through; a dialog without a footer of its own showed that screen's
footer at the bottom row, advertising keys that do nothing there (F6 保持 under the hang-up
question, F5 交接班 under the call detail where F5 plays the recording)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.pilot import Pilot

from console.app import DutyConsoleApp
from console.store import DutyRecord
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import answer_call, login, screen_name, until
from tests.ui.supervisor.conftest import SUPERVISOR

Build = Callable[..., DutyConsoleApp]
Open = Callable[[Pilot[int], DutyConsoleApp, FakeFlow, FakeClock], Awaitable[None]]


def bottom_row(app: DutyConsoleApp) -> str:
    """The screen's last row as drawn (the footer's place)."""
    strips = app.screen._compositor.render_strips()
    return "".join(seg.text for seg in strips[-1])


async def _seat(pilot: Pilot[int], app: DutyConsoleApp, *_: object) -> None:
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")


async def _on_call(pilot: Pilot[int], app: DutyConsoleApp, flow: FakeFlow,
                   clock: FakeClock) -> None:
    await answer_call(pilot, flow, "c1", "13800138000", clock.now())


async def _hang_up(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await _on_call(pilot, app, flow, clock)
    await pilot.press("f8")


async def _escalate(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await _on_call(pilot, app, flow, clock)
    await pilot.press("f9")


async def _away(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await _seat(pilot, app)
    await pilot.press("b")


async def _night(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await _seat(pilot, app)
    await pilot.press("n")


async def _handover(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await _seat(pilot, app)
    await pilot.press("o")


async def _notice(pilot, app, flow, clock) -> None:  # type: ignore[no-untyped-def]
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
    await pilot.press("f7")
    await until(pilot, lambda: "f10" in app.screen.active_bindings, "the Integrity tab")
    await pilot.press("f10")


CASES: list[tuple[str, Open, str, str, tuple[str, ...]]] = [
    # (dialog, how to open it, its parent, a key it shows, keys of the parent it must not)
    ("ConfirmScreen", _hang_up, "CallScreen", "取消", ("保持", "挂断", "上报")),
    ("EventReportScreen", _escalate, "CallScreen", "取消", ("保持", "挂断")),
    ("AwayScreen", _away, "SeatScreen", "取消", ("夜间模式", "登出")),
    ("NightSwitchScreen", _night, "SeatScreen", "取消", ("示忙", "登出")),
    ("HandoverWriteScreen", _handover, "SeatScreen", "交班", ("夜间模式", "登出")),
    ("HolidayNoticeScreen", _notice, "SupervisorScreen", "取消", ("交接班", "质检")),
]


@pytest.mark.parametrize(("dialog", "open_it", "parent", "own", "not_shown"), CASES,
                         ids=[c[0] for c in CASES])
async def test_a_dialog_shows_only_its_own_keys(
    build: Build, flow: FakeFlow, clock: FakeClock, store: DutyRecord,
    dialog: str, open_it: Open, parent: str, own: str, not_shown: tuple[str, ...],
) -> None:
    app = build()
    async with app.run_test(size=(120, 30)) as pilot:
        await open_it(pilot, app, flow, clock)
        await until(pilot, lambda: screen_name(app) == dialog, dialog)
        assert type(app.screen_stack[-2]).__name__ == parent
        await until(pilot, lambda: own in bottom_row(app), f"{dialog}'s own keys")
        row = bottom_row(app)
        for word in not_shown:
            assert word not in row, f"{parent}'s key {word!r} under {dialog}: {row!r}"


async def test_the_handover_to_accept_has_its_footer_at_the_bottom(
    build: Build, store: DutyRecord
) -> None:
    store.write_handover("2048", "平静", "")
    app = build()
    async with app.run_test(size=(120, 30)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "HandoverAcceptScreen", "handover")
        await until(pilot, lambda: "接班确认" in bottom_row(app), "its key at the bottom")
