"""The review's tabs are widgets (console.widgets.review, issue 11): each loads its CSS from
the `.tcss` beside its module, and a tab that needs a screen opened asks the screen for it
(a message up) instead of pushing it: Enter on the call log opens the call's detail."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path

from textual.widget import Widget
from textual.widgets import DataTable

import console.widgets.review as review
from console.app import DutyConsoleApp
from console.screens.supervisor import SupervisorScreen
from console.screens.supervisor.detail import CallDetailScreen
from tests.ui.helpers import until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]

FOLDER = Path(review.__file__).parent


def test_each_tab_loads_its_css_from_the_tcss_beside_it() -> None:
    styled: set[str] = set()
    for path in sorted(FOLDER.glob("*.py")):
        module = importlib.import_module(f"console.widgets.review.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, Widget) or cls.__module__ != module.__name__:
                continue
            if "DEFAULT_CSS" in vars(cls):
                tcss = path.with_suffix(".tcss")
                assert cls.DEFAULT_CSS == tcss.read_text(encoding="utf-8"), cls.__name__
                assert cls.__name__ in cls.DEFAULT_CSS, f"{tcss.name} styles {cls.__name__}"
                styled.add(tcss.name)
    assert styled == {p.name for p in FOLDER.glob("*.tcss")}  # no .tcss left unloaded
    assert {"call_log.tcss", "kpis.tcss", "integrity.tcss"} <= styled


async def test_enter_on_the_call_log_opens_that_calls_detail(build: Build, store, week) -> None:  # type: ignore[no-untyped-def]
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await open_review(pilot, app)
        table = app.screen.query_one("#log-table", DataTable)
        table.focus()
        table.move_cursor(row=1)
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, CallDetailScreen) and app.screen.detail is not None,
            "detail",
        )
        assert isinstance(app.screen, CallDetailScreen) and app.screen.key == key
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), "back")
