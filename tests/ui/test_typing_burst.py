"""Keys typed as one burst land where the focus is when each key is handled (issue 11, point 10).

A paste of keys, a password manager's auto-type or a fast typist delivers `1024⇥secret⏎` before
the app has handled the first Tab. Textual routes a key to the widget focused when the app reads
it and resolves Tab (and a screen's keys) only after the key came back up from that widget, so
the whole burst went to 工号, and a call's notes to 来电人.
"""

from __future__ import annotations

from textual.widgets import Input, TextArea

from tests.ui.conftest import START
from tests.ui.helpers import answer_call, burst, login, ring, screen_name, screen_text, until


async def test_login_typed_as_one_burst_fills_both_fields_and_logs_in(build) -> None:
    app = build()
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen_name(app) == "LoginScreen", "login screen")
        await pilot.pause()
        burst(app, [*"1024", "tab", *"s3cret-1024", "enter"])
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "the burst logged in")
        assert app.agent is not None and app.agent.agent_id == "1024"
        await until(pilot, lambda: "1024 就绪" in screen_text(app), "the seat drawn")


async def test_login_id_then_enter_moves_to_the_secret_within_the_burst(build) -> None:
    app = build()
    async with app.run_test(size=(130, 40)) as pilot:
        await until(pilot, lambda: screen_name(app) == "LoginScreen", "login screen")
        await pilot.pause()
        burst(app, [*"1024", "enter", *"wrong"])
        agent_id = app.screen.query_one("#agent-id", Input)
        secret = app.screen.query_one("#secret", Input)
        await until(pilot, lambda: secret.value == "wrong", "the secret got its keys")
        assert agent_id.value == "1024"


async def test_call_notes_typed_as_one_burst_fill_their_fields(build, flow) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c1", "13800138000", START)
        screen = app.screen
        name = screen.query_one("#caller_name", Input)
        await until(pilot, lambda: app.focused is name, "the call screen focuses 来电人")
        burst(app, [*"Wang", "tab", *"13900", "tab", *"Room 5", "tab", *"no water"])
        content = screen.query_one("#content", TextArea)
        await until(pilot, lambda: content.text == "no water", "the content got its keys")
        assert name.value == "Wang"
        assert screen.query_one("#contact", Input).value == "13900"
        assert screen.query_one("#address", Input).value == "Room 5"


async def test_keys_typed_with_the_answer_go_to_the_call_screen_that_it_opens(
    build, flow
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        ring(flow, "c1", "13800138000", START)
        await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
        burst(app, ["enter", *"Li", "tab", *"139"])
        await until(pilot, lambda: screen_name(app) == "CallScreen", "answered")
        screen = app.screen

        def contact() -> str:
            found = screen.query("#contact").results(Input)
            return next((i.value for i in found), "")

        await until(pilot, lambda: contact() == "139", "contact got its keys")
        assert screen.query_one("#caller_name", Input).value == "Li"
