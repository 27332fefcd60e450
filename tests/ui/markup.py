"""Markup-like words as callers, agents and the record may carry them, and how to see them.

Shared by the seat's and the supervisor's markup-safety tests.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets._toast import Toast  # not exported; the class the toasts are drawn by

from console.app import DutyConsoleApp

CALLER = "[/]139[b]00"
"""A caller number as an INVITE may carry it."""
NAME = "[link=javascript:x]王[/] [@click=app.quit]q"
"""A SIP display name: a bad link, a stray close tag, an action link."""
NOTE = "[/]门口 [b]漏水[/i]"
"""A note as an agent may type it."""


def shown(widget: Widget) -> str:
    """The text a Static or Label renders (what it would draw), as plain characters."""
    return str(widget.render())


def toasts(app: DutyConsoleApp) -> list[str]:
    """The toasts up on the current screen, each rendered as it would be drawn.

    Rendering is where a markup message fails: the notification list alone holds the raw
    string whether or not it could be drawn. (`run_test` draws no toasts unless asked with
    `notifications=True`.)
    """
    return [str(t.render()) for t in app.screen.query(Toast)]


def assert_alive(app: DutyConsoleApp) -> None:
    assert app.is_running and app.return_code is None, "the console stopped"
