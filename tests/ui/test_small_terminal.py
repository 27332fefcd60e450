"""Nothing cut at 80×24 (issue 11, point 8): the seat, call, after-call and supervisor
screens in both languages. Seen: every footer lost its last keys (^q 退出 on the seat and
the call, F9/F1/^q on the review, behind the palette key), and the call log's date filters
showed "2026-02" for "2026-02-24"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.domain.labels import Language
from console.ui.texts import cell_width, text
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import answer_call, login, screen_name, until
from tests.ui.supervisor.conftest import SUPERVISOR, fill_week
from tests.ui.test_modal_footers import bottom_row

Build = Callable[..., DutyConsoleApp]
SIZE = (80, 24)
TABS = ("tab-log", "tab-kpis", "tab-morning", "tab-handovers", "tab-quality",
        "tab-integrity", "tab-export", "tab-attendance", "tab-events", "tab-follow-ups")
LANGUAGES = [Language.ZH, Language.EN]


def footer_problems(app: DutyConsoleApp, where: str) -> list[str]:
    """Each shown key of the screen in front must be on the bottom row, whole."""
    row = bottom_row(app)
    problems = []
    for key, active in app.screen.active_bindings.items():
        binding = active.binding
        if not binding.show or key == "ctrl+p":
            continue
        shown = binding.group.description if binding.group else binding.description
        if shown not in row:
            problems.append(f"{where}: {key} {shown!r} not in the footer {row!r}")
    return problems


def input_problems(app: DutyConsoleApp, where: str) -> list[str]:
    """Each input on screen is wide enough for its value (or, empty, its placeholder)."""
    problems = []
    for widget in app.screen.query(Input).results(Input):
        if not widget.display or not widget.region:
            continue
        words = widget.value or widget.placeholder
        if cell_width(words) > widget.content_region.width:
            problems.append(f"{where}: #{widget.id} {words!r} in {widget.content_region.width}")
    return problems


async def _settle(pilot: Pilot[int]) -> None:
    for _ in range(8):
        await pilot.pause(0.02)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.value)
async def test_the_agents_screens_fit_80x24(
    build: Build, flow: FakeFlow, clock: FakeClock, language: Language
) -> None:
    app = build(settings={"language": language})
    problems: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await _settle(pilot)
        problems += footer_problems(app, "seat") + input_problems(app, "seat")
        await answer_call(pilot, flow, "c1", "13800138000", clock.now(), log_in=False)
        await _settle(pilot)
        problems += footer_problems(app, "call") + input_problems(app, "call")
        flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: not app.screen.live, "after-call work")  # type: ignore[attr-defined]
        await _settle(pilot)
        problems += footer_problems(app, "after-call") + input_problems(app, "after-call")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.value)
async def test_the_supervisors_tabs_fit_80x24(
    build: Build, store, language: Language
) -> None:
    fill_week(store, per_day=3)
    app = build(settings={"language": language})
    problems: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, *SUPERVISOR)
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        screen = app.screen
        tabs = screen.query_one("#review-tabs", TabbedContent)
        for tab in TABS:
            screen.action_tab(tab)  # type: ignore[attr-defined]
            await until(pilot, lambda t=tab: tabs.active == t, tab)
            await _settle(pilot)
            problems += footer_problems(app, tab) + input_problems(app, tab)
        assert text("common.quit", language) in bottom_row(app)
    assert not problems, "\n".join(problems)


async def test_the_review_names_every_tab_key_when_it_has_room(build: Build) -> None:
    """At 160 columns the footer keeps one entry per tab key (the grouping is for 80)."""
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await login(pilot, *SUPERVISOR)
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        await _settle(pilot)
        row = bottom_row(app)
        assert "f2 通话记录" in row.replace("  ", " ") and "f4 晨检" in row.replace("  ", " ")
        assert not footer_problems(app, "wide")
