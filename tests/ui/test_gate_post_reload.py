"""The gate post's list after a note: the reload shows it, whatever order things happen in.

Seen once in CI (the gate post test's "note shown in the list"): the note was stored and the
reload's `show` got the new notes, yet the list kept showing "mode: night". The notes column
was as wide as the old notes, and a screen refresh that came before the DataTable's idle
handler (where Textual widens auto-width columns) cached the cells cut at the old width; the
cache key holds no column width, so the wider column was never drawn (Textual issue #3533).
The first test forces that order; the second holds an older reload's result until a newer
one has been shown (a 30 s timer reload crossing a note).

Bad inputs tried: a note in Rich markup ("[/]", "[b]"), shown as typed (it used to be parsed
as markup: "[/]" raised a MarkupError while drawing).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from console.app import DutyConsoleApp
from console.screens.gate_post import GatePostScreen
from console.store import AgentRole
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, screen_name, screen_text, until
from tests.ui.test_gate_post import forwarded

Build = Callable[..., DutyConsoleApp]


async def _gate_post(pilot: Any, app: DutyConsoleApp, store: Any, clock: FakeClock) -> str:
    """Log the gate post in with two forwarded calls listed; the newer one's key."""
    store.create_agent("7001", "赵门岗", AgentRole.GATE_POST, "s3cret-7001")
    forwarded(store, clock, "13500000001", 90)
    newer = forwarded(store, clock, "13500000002", 30)
    await login(pilot, "7001", "s3cret-7001")
    await until(pilot, lambda: screen_name(app) == "GatePostScreen", "gate post screen")
    table = app.screen.query_one("#gate-calls", DataTable)
    await until(pilot, lambda: table.row_count == 2, "two forwarded calls listed")
    await until(pilot, lambda: "13500000002" in screen_text(app), "list drawn")
    return newer


async def _note(pilot: Any, app: DutyConsoleApp, text: str) -> None:
    """Add `text` as a note on the selected (newest) call, as the gate post does."""
    await pilot.press("enter")
    await until(pilot, lambda: screen_name(app) == "GateNoteScreen", "note dialog")
    app.screen.query_one("#gate-note-text", Input).value = text
    await pilot.press("enter")


async def test_a_screen_refresh_before_the_tables_idle_still_draws_the_new_notes(
    build: Build, store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = GatePostScreen.show

    def show_then_draw(self: GatePostScreen, *args: Any, **kwargs: Any) -> None:
        shown(self, *args, **kwargs)
        # The losing order, forced: the screen is drawn before the table's idle handler.
        self.app.screen._compositor.render_strips()

    monkeypatch.setattr(GatePostScreen, "show", show_then_draw)
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        newer = await _gate_post(pilot, app, store, clock)
        await _note(pilot, app, "已派保安到3号楼查看")
        await until(pilot, lambda: bool(store.amendments(newer)), "note stored")
        await until(pilot, lambda: "已派保安到3号楼查看" in screen_text(app), "note shown")


async def test_an_older_reload_finishing_last_does_not_bring_back_the_old_notes(
    build: Build, store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = store.gate_post_calls
    hold = {"next": False}
    held_read, release = threading.Event(), threading.Event()

    def gate_post_calls(since: dt.datetime, until_: dt.datetime) -> Any:
        calls = read(since, until_)
        if hold["next"]:
            hold["next"] = False
            held_read.set()
            release.wait(10)  # bounded: the test releases it
        return calls

    monkeypatch.setattr(store, "gate_post_calls", gate_post_calls)
    shows: list[int] = []
    shown = GatePostScreen.show

    def counted(self: GatePostScreen, *args: Any, **kwargs: Any) -> None:
        shows.append(1)
        shown(self, *args, **kwargs)

    monkeypatch.setattr(GatePostScreen, "show", counted)
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        newer = await _gate_post(pilot, app, store, clock)
        hold["next"] = True
        screen = app.screen
        assert isinstance(screen, GatePostScreen)
        screen.action_reload()  # the timer's reload: reads the old notes, answers late
        await until(pilot, held_read.is_set, "older reload has read")
        await _note(pilot, app, "已派保安到3号楼查看")
        await until(pilot, lambda: bool(store.amendments(newer)), "note stored")
        await until(pilot, lambda: "已派保安到3号楼查看" in screen_text(app), "note shown")
        before = len(shows)
        release.set()
        await until(pilot, lambda: len(shows) > before, "older reload answered")
        await pilot.pause()
        await pilot.pause()
        assert "已派保安到3号楼查看" in screen_text(app), screen_text(app)
        assert "已派保安到3号楼查看" in (screen.calls[0].notes or "")


async def test_a_note_in_markup_is_shown_as_typed(
    build: Build, store, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        newer = await _gate_post(pilot, app, store, clock)
        await _note(pilot, app, "[/]门口[b]有人[/b]")
        await until(pilot, lambda: bool(store.amendments(newer)), "note stored")
        await until(pilot, lambda: "[/]门口[b]有人[/b]" in screen_text(app), "note as typed")
        assert screen_name(app) == "GatePostScreen"
