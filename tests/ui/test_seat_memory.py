"""What the seat keeps per call is dropped when the call is done (issue 11: a seat runs for
a whole shift, and then the next).

Before, the app's `notes` and `_typed`, the record writer's keys and written facts and the
drafts' versions each grew by one entry per call and were never trimmed; the headset watch
(a 0.25 s timer) ran on after the last bridged call, for the seat's life.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from console.app import HEADSET_WATCH_SECONDS, DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.screens.call import CallScreen
from console.store import CallOutcome, DutyRecord
from console.ui.intents import AfterCallDone, NotesSaveRequested
from console.ui.messages import NotesEdited
from console.ui.notes import FINISHED_KEPT, CallNotes
from tests.ui.fakes import FakeClock, FakeFlow, FakeLine
from tests.ui.helpers import classify, login, ring, screen_name, until

Build = Callable[..., DutyConsoleApp]
CALLS = 50
ON_SCREEN = 3
"""Calls through the real call screen (each takes 1-5 s to open and close on the shared
machine); the fifty go through the same intents the screen posts."""


def _kept(app: DutyConsoleApp) -> dict[str, int]:
    return {
        "notes": len(app.notes), "typed": len(app._typed),
        "record keys": len(app.record_notes._keys),
        "record facts": len(app.record_notes._written),
        "draft versions": len(app.drafts._versions),
    }


async def test_calls_through_the_call_screen_leave_nothing_behind(
    build: Build, flow: FakeFlow, clock: FakeClock, store: DutyRecord
) -> None:
    app = build()
    keys: list[str] = []
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        for n in range(ON_SCREEN):
            call_id, caller = f"m{n}", f"1380000{n:04d}"
            keys.append(store.open_call("hotline", clock.now(), caller_number=caller,
                                        sip_call_id=call_id))
            ring(flow, call_id, caller, clock.now())
            await until(pilot, lambda: screen_name(app) == "RingingScreen", f"ringing {n}")
            # The keys' actions, not Pilot's key presses (each waits ~2 s for the screen to
            # settle on this shared machine; 50 calls through them took 4 minutes).
            app.screen.action_answer()  # type: ignore[attr-defined]
            await until(pilot, lambda: screen_name(app) == "CallScreen", f"call {n}")
            screen = app.screen
            assert isinstance(screen, CallScreen)
            await until(pilot, lambda screen=screen: bool(screen.query("#caller_name")),
                        f"call screen {n} composed")
            screen.query_one("#caller_name", Input).value = "w"
            await until(pilot, lambda cid=call_id: cid in app._typed, f"typed {n}")
            store.seal_call(keys[-1], CallOutcome.ANSWERED, ended_at=clock.now())
            flow.emit(CallFinished(clock.now(), call_id, CallStep.CONVERSATION,
                                   "caller_hangup", "1024"))
            await until(pilot, lambda screen=screen: not screen.live, f"after-call work {n}")
            classify(app)
            screen.action_done()  # F10
            await until(pilot, lambda: screen_name(app) == "SeatScreen", f"done {n}")
            clock.advance(60)
        await until(pilot, lambda: max(_kept(app).values()) == 0,
                    f"every call forgotten (kept: {_kept(app)})")
        # Forgetting came after the record had the notes: every call has its name and class.
        for key in keys:
            call = store.get_call(key)
            assert (call.caller_name, call.category) == ("w", "consultation"), key


async def test_fifty_calls_leave_the_seats_notes_bounded(
    build: Build, clock: FakeClock, store: DutyRecord
) -> None:
    """Fifty calls' notes, as the call screen posts them (edited, saved, F10 with a
    follow-up-less category): afterwards nothing is kept per call but the last
    `FINISHED_KEPT` Call-IDs, and a late save of a finished call writes nothing."""
    app = build()
    keys: list[str] = []
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        for n in range(CALLS):
            call_id = f"f{n}"
            keys.append(store.open_call("hotline", clock.now(), caller_number=f"139{n:08d}",
                                        sip_call_id=call_id))
            notes = CallNotes(category="repair", caller_name=f"caller {n}")
            app.post_message(NotesEdited(call_id, notes, 1))
            app.post_message(NotesSaveRequested(call_id, notes, 1))
            app.post_message(AfterCallDone(call_id, notes))
            await until(pilot, lambda cid=call_id: app.record_notes.finished(cid)
                        and cid not in app.notes, f"call {n} finished")
            assert max(_kept(app).values()) == 0, (n, _kept(app))
            clock.advance(60)
        assert len(app.record_notes._finished) == FINISHED_KEPT
        late = CallNotes(category="other", caller_name="late")
        app.post_message(NotesSaveRequested(f"f{CALLS - 1}", late, 2))  # after F10
        await pilot.pause()
        assert max(_kept(app).values()) == 0
        assert app.record_notes.write(f"f{CALLS - 1}", late, "1024") == "finished"
        # Each call's draft file went once its final notes were in the record (50 files
        # piled up before, one per call for the seat's life).
        assert not list(app.drafts.directory.glob("*.json"))
    for n, key in enumerate(keys):
        call = store.get_call(key)
        assert (call.caller_name, call.category) == (f"caller {n}", "repair"), key


async def test_the_headset_watch_runs_only_while_a_call_is_bridged(
    build: Build, flow: FakeFlow, clock: FakeClock, line: FakeLine
) -> None:
    from console.headset import Headset
    from tests.ui.fake_streams import FakeStream
    from tests.ui.fakes import HEADSET, FakeAudio
    from tests.ui.test_headset_bridge import AudioCall

    streams: list[FakeStream] = []

    def factory(device, callback):  # type: ignore[no-untyped-def]
        streams.append(FakeStream(callback))
        return streams[-1]

    line.sip_calls += [AudioCall("h1"), AudioCall("h2")]
    app = build(headset=Headset(FakeAudio([HEADSET], 0), stream_factory=factory))
    ticks: list[int] = []
    watch = app._watch_headsets
    app._watch_headsets = lambda: (ticks.append(1), watch())[-1]  # type: ignore[method-assign]
    async with app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        assert not app.headset_watched
        for call_id in ("h1", "h2"):
            ring(flow, call_id, "13800000001", clock.now())
            await until(pilot, lambda: screen_name(app) == "RingingScreen", f"ringing {call_id}")
            await pilot.press("enter")
            await until(pilot, lambda cid=call_id: cid in app.bridges
                        and app.bridges[cid].running, f"{call_id} bridged")
            bridge = app.bridges[call_id]
            assert app.headset_watched
            seen = len(ticks)
            await until(pilot, lambda seen=seen: len(ticks) > seen, f"watching {call_id}")
            flow.emit(CallFinished(clock.now(), call_id, CallStep.CONVERSATION,
                                   "caller_hangup", "1024"))
            await until(pilot, lambda bridge=bridge: not bridge.running, f"{call_id} unbridged")
            assert not app.headset_watched
            idle = len(ticks)
            await pilot.pause(4 * HEADSET_WATCH_SECONDS)  # four periods with no call up
            assert len(ticks) == idle, "the watch ticked with no bridge open"
            classify(app)
            await pilot.press("f10")
            await until(pilot, lambda: screen_name(app) == "SeatScreen", f"done {call_id}")


def test_an_older_save_that_lands_last_writes_nothing(store: DutyRecord, clock: FakeClock) -> None:
    """Two saves of one call run in two workers; the older could land last and put the
    older text back in the record. Each save carries the form's edit count: one no newer
    than the one written is stale."""
    from console.ui.notes import RecordNotes

    key = store.open_call("hotline", clock.now(), caller_number="13800000009",
                          sip_call_id="race-1")
    writer = RecordNotes(store, now=clock.now, who="1024")
    assert writer.write("race-1", CallNotes(caller_name="newer"), "1024", 3) == "open"
    assert writer.write("race-1", CallNotes(caller_name="older"), "1024", 2) == "stale"
    assert store.get_call(key).caller_name == "newer"
    assert writer.write("race-1", CallNotes(caller_name="newest"), "1024", 4) == "open"
    assert store.get_call(key).caller_name == "newest"
