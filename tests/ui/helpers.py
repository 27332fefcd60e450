"""Pilot helpers: wait by polling `pilot.pause()` until a condition holds (never sleep)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from console.app import DutyConsoleApp
from console.callflow.events import CallArrived, Mode, SeatRinging
from tests.ui.fakes import FakeFlow


async def until(pilot: Pilot[int], condition: Callable[[], bool], what: str = "") -> None:
    """Poll the app until `condition()` holds; fail after 400 polls (about 10 s)."""
    for _ in range(400):
        if condition():
            return
        await pilot.pause(0.025)
    seen = screen_text(pilot.app)  # type: ignore[arg-type]
    raise AssertionError(f"timed out waiting for {what or condition}; on screen:\n{seen}")


def screen_name(app: DutyConsoleApp) -> str:
    return type(app.screen).__name__


def screen_text(app: DutyConsoleApp) -> str:
    """What the agent sees: the current screen's rendered lines and the notifications up."""
    strips = app.screen._compositor.render_strips()
    lines = ["".join(seg.text for seg in strip) for strip in strips]
    lines += [f"{n.title}: {n.message}" for n in app._notifications]
    return "\n".join(lines)


async def login(pilot: Pilot[int], agent_id: str = "1024", secret: str = "s3cret-1024") -> None:
    app = pilot.app
    await until(pilot, lambda: screen_name(app) == "LoginScreen", "login screen")  # type: ignore[arg-type]
    app.screen.query_one("#agent-id", Input).value = agent_id
    app.screen.query_one("#secret", Input).value = secret
    app.screen.query_one("#secret", Input).focus()
    await pilot.press("enter")


def ring(flow: FakeFlow, call_id: str, caller: str, at: dt.datetime, mode: Mode = Mode.STAFFED,
         auto_in: float = 15.0) -> None:
    flow.takeable.add(call_id)
    flow.emit(CallArrived(at, call_id, caller, mode), SeatRinging(at, call_id, auto_in))


async def press_button(pilot: Pilot[int], button_id: str) -> None:
    """Press a button as the user would (a toast may cover it, so no click by position).

    `Button.press()` is Textual's documented way to simulate a press; a second press while
    the first's "-active" effect is still shown is otherwise ignored by the key binding.
    """
    button = pilot.app.screen.query_one(f"#{button_id}", Button)
    button.press()
    await pilot.pause()


async def answer_call(pilot: Pilot[int], flow: FakeFlow, call_id: str, caller: str,
                      at: dt.datetime, *, log_in: bool = True) -> None:
    """Log in (unless already), let `call_id` ring and answer it with Enter: the call screen."""
    app = pilot.app
    if log_in:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")  # type: ignore[arg-type]
    ring(flow, call_id, caller, at)
    await until(pilot, lambda: screen_name(app) == "RingingScreen")  # type: ignore[arg-type]
    await pilot.press("enter")
    await until(pilot, lambda: screen_name(app) == "CallScreen")  # type: ignore[arg-type]


def classify(app: DutyConsoleApp, category: str = "consultation") -> None:
    """Choose the call's category on the call screen in front (F10 refuses notes without)."""
    app.screen.query_one("#category", Select).value = category


def burst(app: DutyConsoleApp, keys: list[str]) -> None:
    """Type `keys` as one burst, as a paste or a password manager does: every key is queued
    at the driver before the app handles the first (`pilot.press` waits after each key)."""
    from textual import events
    from textual.app import _character_to_key

    for key in keys:
        char = key if len(key) == 1 else None
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        event = events.Key(key, char)
        event.set_sender(app)
        assert app._driver is not None
        app._driver.send_message(event)
