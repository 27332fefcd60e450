"""Keys work from anywhere they are shown (issue 11, points 3 and 11): F2–F8 switch the
review's tabs wherever the focus is, and the palette holds the supervisor's actions only."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import CommandPalette
from textual.widgets import Input, TabbedContent

from console.app import DutyConsoleApp
from console.screens.supervisor import SupervisorScreen
from tests.ui.helpers import screen_text, until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]

TAB_KEYS = {
    "f2": "tab-log",
    "f3": "tab-kpis",
    "f4": "tab-morning",
    "f5": "tab-handovers",
    "f6": "tab-quality",
    "f7": "tab-integrity",
    "f8": "tab-export",
}


async def test_tab_keys_work_with_the_focus_inside_any_tab(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        tabs = app.screen.query_one("#review-tabs", TabbedContent)
        keys = list(TAB_KEYS.items())
        for (start_key, start), (key, wanted) in zip(keys, keys[1:] + keys[:1], strict=True):
            await pilot.press(start_key)
            await until(pilot, lambda s=start: tabs.active == s, f"{start_key} → {start}")
            await pilot.press("tab")  # the focus into the tab's first widget
            await pilot.pause()
            focused = app.focused
            assert focused is not None and tabs.active == start
            await pilot.press(key)
            await until(pilot, lambda w=wanted: tabs.active == w, f"{key} from {start}")
            for _ in range(3):  # and it stays there
                await pilot.pause()
            assert tabs.active == wanted, (start, key, focused)


async def test_f9_search_from_another_tab_lands_in_the_search_box(
    build: Build, store, week
) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        await pilot.press("f8", "tab")
        await pilot.press("f9")
        await until(pilot, lambda: app.focused is app.screen.query_one("#f-text", Input), "f9")
        assert app.screen.query_one("#review-tabs", TabbedContent).active == "tab-log"


async def palette_names(pilot, app: DutyConsoleApp, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
    await pilot.press(*query)
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    lists = palette.query("CommandList")
    for _ in range(16):  # the providers answer in workers
        await pilot.pause(0.05)
    names = [str(o.prompt) for o in lists.first().options] if lists else []
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), "palette closed")
    return names


async def test_the_palette_holds_the_review_tabs_and_no_agent_action(
    build: Build, store, week
) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        names = await palette_names(pilot, app, "晨检")
        assert any("晨检" in n for n in names), names
        names = await palette_names(pilot, app, "示忙")
        assert not any("示忙" in n for n in names), names
        # Chosen in the palette, the tab opens.
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette")
        await pilot.press(*"质检")
        for _ in range(20):
            await pilot.pause(0.05)
        await pilot.press("enter")
        tabs = app.screen.query_one("#review-tabs", TabbedContent)
        await until(pilot, lambda: tabs.active == "tab-quality", "palette → 质检")
        assert "质检" in screen_text(app)
