"""The seat speaks the seat's language for what the domain and the flow decide (issue 11,
point 6): the night-mode override ("night mode early by agent 1001 at 10:07 …" on a Chinese
seat) and the flow's follow-up sentences ("call back … (message)") were shown as the record
keeps them, in English."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from textual.widgets import Input, Label

from console.app import DutyConsoleApp
from console.domain import reasons
from console.domain.labels import Language
from console.store import DutyRecord
from tests.ui.conftest import START
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:]+[A-Za-z]{2,}){2,}")


async def _switch_early(pilot, app: DutyConsoleApp) -> str:  # type: ignore[no-untyped-def]
    """Night mode early with the reason "leak"; the dialog's line about it afterwards."""
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
    await pilot.press("n")
    await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
    await pilot.press(*"leak", "enter")
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "switched")
    await pilot.press("n")
    await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog again")
    return str(app.screen.query_one("#night-now", Label).render())


async def test_the_night_override_is_worded_in_chinese(build: Build) -> None:
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        line = await _switch_early(pilot, app)
        toast = next(n.message for n in app._notifications if "leak" in n.message)
    assert "1024 于 10:00 提前转门岗" in toast and toast.endswith(":leak"), toast
    assert "1024 于 10:00 提前转门岗" in line, line
    for shown in (toast, line):
        assert not ENGLISH_SENTENCE.search(shown.replace("leak", "")), shown


async def test_the_night_override_is_worded_in_english(build: Build) -> None:
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        line = await _switch_early(pilot, app)
        toast = next(n.message for n in app._notifications if "leak" in n.message)
    assert "night mode early by agent 1024 at 10:00" in toast, toast
    assert not CJK.search(toast) and not CJK.search(line), (toast, line)


async def test_the_schedule_is_worded_in_chinese_in_the_night_dialog(build: Build) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
        line = str(app.screen.query_one("#night-now", Label).render())
    assert "2026-03-02 10:00 周一(工作日)" in line and "值班" in line, line
    assert not ENGLISH_SENTENCE.search(line), line


async def test_an_empty_night_reason_is_refused_in_the_seats_language(build: Build) -> None:
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await pilot.press("n")
        await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
        app.screen.query_one("#night-reason", Input).value = "   "
        await pilot.press("enter")
        await until(pilot, lambda: "切换夜间模式需要填写原因" in screen_text(app), "refused")
        assert screen_name(app) == "NightSwitchScreen"
        assert "required" not in screen_text(app)


async def test_the_flows_follow_ups_on_the_seat_in_chinese(
    build: Build, store: DutyRecord
) -> None:
    store.add_follow_up("1024", reasons.CALL_BACK_MESSAGE(caller="13900001111"),
                        START + dt.timedelta(hours=1))
    store.add_follow_up("1024", reasons.CALL_BACK_NO_MESSAGE(caller="unknown caller"),
                        START + dt.timedelta(hours=2))
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: "回电 13900001111(已留言)" in screen_text(app), "listed")
        assert "回电 未知号码(未留言)" in screen_text(app)
        assert "call back" not in screen_text(app)
        await pilot.press("f")
        await until(pilot, lambda: screen_name(app) == "FollowUpsScreen", "follow-ups")
        await until(pilot, lambda: "回电 13900001111(已留言)" in screen_text(app), "table")
        assert "call back" not in screen_text(app)
