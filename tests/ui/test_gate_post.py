"""The gate post logs in at night: the forwarded calls, a note on one, the morning sees it.

Bad inputs tried: an empty note (refused, nothing written), Escape (nothing written), a note
on a sealed record (an amendment: the sealed row itself is unchanged).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import DataTable, Input

from console.app import DutyConsoleApp
from console.screens.gate_post import note_line
from console.store import AgentRole, CallOutcome
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]


def forwarded(store, clock: FakeClock, caller: str, minutes_ago: int) -> str:  # type: ignore[no-untyped-def]
    at = clock.now() - dt.timedelta(minutes=minutes_ago)
    key = store.open_call("hotline", at, caller_number=caller, sip_call_id=f"g{caller}")
    store.seal_call(key, CallOutcome.FORWARDED, ended_at=at + dt.timedelta(seconds=40),
                    forwarded_to="sip:200@127.0.0.1", forward_method="refer",
                    forward_result="success", answered_by="auto", notes="mode: night")
    return str(key)


async def test_gate_post_sees_the_forwarded_calls_and_notes_one(
    build: Build, store, clock: FakeClock
) -> None:
    store.create_agent("7001", "赵门岗", AgentRole.GATE_POST, "s3cret-7001")
    older = forwarded(store, clock, "13500000001", 90)
    newer = forwarded(store, clock, "13500000002", 30)
    plain = store.open_call("hotline", clock.now() - dt.timedelta(minutes=10),
                            caller_number="13500000003", sip_call_id="plain")
    store.seal_call(plain, CallOutcome.ANSWERED, ended_at=clock.now(), answered_by="1024")
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot, "7001", "s3cret-7001")
        await until(pilot, lambda: screen_name(app) == "GatePostScreen", "gate post screen")
        table = app.screen.query_one("#gate-calls", DataTable)
        await until(pilot, lambda: table.row_count == 2, "two forwarded calls listed")
        assert "13500000003" not in screen_text(app)  # an answered day call is not theirs
        # Newest first: the cursor is on 13500000002.
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "GateNoteScreen", "note dialog")
        await pilot.press("enter")  # empty: refused
        await until(pilot, lambda: "备注不能为空" in screen_text(app), "empty refused")
        await pilot.press("escape")
        await until(pilot, lambda: screen_name(app) == "GatePostScreen")
        assert store.amendments(newer) == []
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "GateNoteScreen")
        app.screen.query_one("#gate-note-text", Input).value = "已派保安到3号楼查看"
        await pilot.press("enter")
        await until(pilot, lambda: bool(store.amendments(newer)), "note stored")
        await until(pilot, lambda: "已派保安" in screen_text(app), "note shown in the list")
    amendment = store.amendments(newer)[0]
    assert amendment.field == "notes" and amendment.who == "7001"
    assert store.get_call(newer).notes.endswith("已派保安到3号楼查看")
    assert store.get_call(newer).notes.startswith("mode: night\n[门岗 7001 ")
    assert store.get_call(newer, amended=False).notes == "mode: night"  # sealed row unchanged
    assert store.amendments(older) == []


def test_note_line_keeps_the_old_notes_and_signs_the_new_one() -> None:
    at = dt.datetime(2026, 3, 2, 23, 15)
    assert note_line(None, "7001", at, " 已处理 ") == "[门岗 7001 03-02 23:15] 已处理"
    assert note_line("a\n", "7001", at, "b") == "a\n[门岗 7001 03-02 23:15] b"


async def test_the_note_is_an_intent_the_app_writes(build: Build, store, clock: FakeClock) -> None:
    """The gate post's screen posts GateNoteRequested; the app amends the record (the screen
    wrote to the record itself before, from its own worker). A note for a call the record
    does not have is one line on the screen in the seat's language, no traceback, nothing
    written (it said "No such record: no call with key 'no-such-call'" on a Chinese seat)."""
    from console.ui.intents import GateNoteRequested

    store.create_agent("7001", "赵门岗", AgentRole.GATE_POST, "s3cret-7001")
    key = forwarded(store, clock, "13500000009", 20)
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        await login(pilot, "7001", "s3cret-7001")
        await until(pilot, lambda: screen_name(app) == "GatePostScreen", "gate post screen")
        app.screen.post_message(GateNoteRequested(key, "门已锁好"))
        await until(pilot, lambda: bool(store.amendments(key)), "the app wrote the note")
        await until(pilot, lambda: "门已锁好" in screen_text(app), "the list reloaded")
        app.screen.post_message(GateNoteRequested("no-such-call", "x"))
        await until(pilot, lambda: len(app._notifications) >= 2, "the refusal")
        shown = [f"{n.title}: {n.message}" for n in app._notifications]
        assert not any("Traceback" in s or "\n" in s for s in shown), shown
        # The record's English stays in the log; the seat names the failure in Chinese.
        assert shown[-1] == "没有这条记录: 没有这条记录(详情见 console.log)", shown
    assert store.get_call(key).notes.endswith("门已锁好")
    assert [a.who for a in store.amendments(key)] == ["7001"]
