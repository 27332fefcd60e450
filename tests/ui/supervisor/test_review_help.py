"""F1 / ? open a help screen that explains every status word (issue 11, point 11)."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from console.app import DutyConsoleApp
from console.domain.labels import Language
from console.screens.help import STATUS_WORDS, HelpScreen
from console.screens.supervisor import SupervisorScreen
from console.ui.texts import text
from tests.ui.helpers import until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]


async def test_f1_and_question_mark_explain_every_status_word(
    build: Build, store, week
) -> None:  # type: ignore[no-untyped-def]
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        for key in ("f1", "question_mark"):
            if key == "f1":  # from inside an input too: F1 works wherever it is shown
                app.screen.query_one("#f-since", Input).focus()
            else:  # ? is a character: an input keeps it, so from the table
                app.screen.query_one("#log-table").focus()
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), f"help by {key}")
            words = str(app.screen.query_one("#help-words").render())
            for label, state, meaning in STATUS_WORDS:
                assert text(label, Language.EN) in words and text(meaning, Language.EN) in words
                assert not state or text(state, Language.EN) in words
            gate = f"{text('gate.label', Language.EN)}: {text('gate.unknown', Language.EN)}"
            assert gate in words
            assert text("headset.none", Language.EN) in words
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, SupervisorScreen), "closed")
