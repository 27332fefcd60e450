"""The supervisor logs out by an intent, like the agents (issue 11: no screen reaches into
the app's members). Before, the review's Ctrl+L called `seat.logout()`, and `SeatView` kept
`logout` for it."""

from __future__ import annotations

from collections.abc import Callable

from console.app import DutyConsoleApp
from console.store import AgentState, DutyRecord
from console.ui.view import SeatView
from tests.ui.helpers import screen_name, until
from tests.ui.supervisor.test_review_screens import open_review

Build = Callable[..., DutyConsoleApp]


async def test_ctrl_l_on_the_review_logs_out_by_the_intent(build: Build, store: DutyRecord) -> None:
    assert not hasattr(SeatView, "logout"), "screens log out by posting LogoutRequested"
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: screen_name(app) == "LoginScreen", "the login screen")
        assert app.agent is None
        await until(pilot, lambda: [c.state for c in store.agent_states("9001")][-1:]
                    == [AgentState.LOGGED_OUT], "the logout in the record")
