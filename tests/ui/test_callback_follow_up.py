"""The follow-ups screen's callback (回访), under the Pilot: C calls the caller back through the
seat's line (a fake here: nothing in a UI test touches a PBX), the headset carries it, H hangs
it up, and the follow-up closes because the callback reached the caller.

Bad inputs tried: closing by hand a follow-up that has a number to call back (refused in one
line, still open), C on a follow-up filed by hand (no number: refused, nothing dialled),
H with no callback up, a callee that is busy (recorded, the follow-up stays open), C while
the line is not registered (refused in one line, nothing dialled).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.widgets import DataTable, Input

from console.app import DutyConsoleApp
from console.callflow.callback import CallbackDialer
from console.headset import FRAME_BYTES, Headset
from console.store import CallOutcome, DutyRecord, FollowUpStatus
from sip.api import CallState, DialResult, EndReason, LineStatus
from tests.ui.fake_streams import FakeStream
from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow
from tests.ui.helpers import login, ring, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]


@dataclass
class HeldCall:
    """An outgoing call the callee answers (or not) and keeps up until someone hangs up."""

    number: str
    result: DialResult
    call_id: str = "cb-1@127.0.0.1"
    state: CallState = CallState.RINGING
    ended_by: EndReason | None = None
    sent: list[bytes] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)

    def wait_final(self, timeout: float | None = None) -> DialResult | None:
        if self.result.answered:
            self.state = CallState.ANSWERED
        else:
            self.state, self.ended_by = CallState.ENDED, EndReason.REFUSED
            self.ended.set()
        return self.result

    def hangup(self) -> None:
        if self.state is not CallState.ENDED:
            self.state, self.ended_by = CallState.ENDED, EndReason.LOCAL_HANGUP
            self.ended.set()

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)

    def read_audio(self, max_frames: int) -> bytes:
        return b"\x03" * FRAME_BYTES if self.state is CallState.ANSWERED else b""

    def write_audio(self, pcm16: bytes) -> None:
        self.sent.append(bytes(pcm16))

    def tap_audio(self, tap: object) -> None:
        return None


@dataclass
class FakeDialler:
    answer: DialResult
    status: LineStatus = LineStatus.REGISTERED
    dialled: list[HeldCall] = field(default_factory=list)

    def dial(self, number: str, ring_seconds: float = 30.0) -> HeldCall:
        self.dialled.append(HeldCall(number, self.answer))
        return self.dialled[-1]


def _follow_ups(store: DutyRecord, clock: FakeClock) -> tuple[str, str]:
    now = clock.now()
    call = store.open_call("hotline", now - dt.timedelta(hours=1), caller_number="13800138000",
                           sip_call_id="in-1", seat="seat-1")
    store.seal_call(call, CallOutcome.ANSWERED, ended_at=now - dt.timedelta(minutes=50))
    callable_fu = store.add_follow_up("1024", "回电 3号楼 漏水", now + dt.timedelta(hours=1),
                                      call_key=call)
    by_hand = store.add_follow_up("1024", "整理工单", now + dt.timedelta(hours=5))
    return callable_fu.key, by_hand.key


def _seat(build: Build, store: DutyRecord, clock: FakeClock,
          dialler: FakeDialler) -> tuple[DutyConsoleApp, list[FakeStream]]:
    streams: list[FakeStream] = []

    def factory(device, callback):  # type: ignore[no-untyped-def]
        streams.append(FakeStream(callback))
        return streams[-1]

    app = build(headset=Headset(FakeAudio([HEADSET], 0), stream_factory=factory))
    app.callbacks = CallbackDialer(store, dialler, clock, seat="seat-1").for_seat()
    return app, streams


async def _open_follow_ups(pilot, app: DutyConsoleApp) -> DataTable:  # type: ignore[no-untyped-def]
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen")
    await pilot.press("f")
    await until(pilot, lambda: screen_name(app) == "FollowUpsScreen")
    table = app.screen.query_one("#fu-table", DataTable)
    await until(pilot, lambda: table.row_count == 2, "both follow-ups listed")
    return table


async def test_c_calls_the_caller_back_and_a_reached_callback_closes_the_follow_up(
    build: Build, store: DutyRecord, clock: FakeClock
) -> None:
    fu, by_hand = _follow_ups(store, clock)
    dialler = FakeDialler(DialResult(200, "OK"))
    app, streams = _seat(build, store, clock, dialler)
    async with app.run_test(size=(150, 45)) as pilot:
        table = await _open_follow_ups(pilot, app)
        # Closing it by hand: refused (it has a number: a callback closes it)
        await pilot.press("enter")
        await until(pilot, lambda: screen_name(app) == "CloseFollowUpScreen")
        app.screen.query_one("#fu-note", Input).value = "已处理"
        await pilot.press("enter")
        await until(pilot, lambda: "回访接通后自动办结" in screen_text(app),
                    "hand close refused")
        assert store.follow_ups(owner="1024")[0].status is FollowUpStatus.OPEN
        await until(pilot, lambda: screen_name(app) == "FollowUpsScreen")
        await pilot.press("h")  # nothing is up yet
        await until(pilot, lambda: "没有进行中的回访" in screen_text(app), "no callback up")
        await pilot.press("c")  # the first row: the callable one (due soonest)
        await until(pilot, lambda: "回访 13800138000 已接通" in screen_text(app), "connected")
        assert [c.number for c in dialler.dialled] == ["13800138000"]
        await until(pilot, lambda: bool(streams) and streams[0].started, "headset bridged")
        assert streams[0].tick(b"\x09" * FRAME_BYTES) == b"\x03" * FRAME_BYTES
        assert dialler.dialled[0].sent == [b"\x09" * FRAME_BYTES]  # the agent's voice goes out
        await pilot.press("h")
        await until(pilot, lambda: "跟进事项已办结" in screen_text(app), "reached: closed")
        await until(pilot, lambda: table.row_count == 1, "the closed follow-up leaves the list")
        assert streams[0].closed
    # The state log: on call for the callback, then after-call work (duty rules §4).
    states = [s.state.value for s in store.agent_states("1024")]
    assert states[-2:] == ["on_call", "after_call"], states
    [cb] = store.callbacks_of(fu)
    assert cb.outcome is CallOutcome.REACHED and cb.placed_by == "1024"
    assert cb.end_reason == "local_hangup" and cb.seat == "seat-1"
    closed = {f.key: f for f in store.follow_ups(status=None)}
    assert closed[fu].status is FollowUpStatus.DONE
    assert closed[by_hand].status is FollowUpStatus.OPEN
    assert store.verify().ok


async def test_a_busy_callee_leaves_it_open_and_a_hand_filed_one_has_nothing_to_dial(
    build: Build, store: DutyRecord, clock: FakeClock
) -> None:
    fu, by_hand = _follow_ups(store, clock)
    dialler = FakeDialler(DialResult(486, "Busy Here"))
    app, _ = _seat(build, store, clock, dialler)
    async with app.run_test(size=(150, 45)) as pilot:
        table = await _open_follow_ups(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: "仍未办结" in screen_text(app), "busy: still open")
        assert "回访占线" in screen_text(app) and "486 Busy Here" in screen_text(app)
        await until(pilot, lambda: table.row_count == 2, "reloaded, both still open")
        await until(pilot, lambda: "1× 回访占线" in screen_text(app), "the callbacks column")
        await pilot.press("down")
        await pilot.press("c")  # the hand-filed one: no call, no number
        await until(pilot, lambda: "there is no caller number to call" in screen_text(app),
                    "nothing to dial")
        dialler.status = LineStatus.FAILED  # the registrar went away
        await pilot.press("up")
        await pilot.press("c")
        await until(pilot, lambda: "the line is not registered (failed)" in screen_text(app),
                    "unregistered: refused in one line")
    assert len(dialler.dialled) == 1
    [cb] = store.callbacks_of(fu)
    assert cb.outcome is CallOutcome.BUSY
    assert store.callbacks_of(by_hand) == []
    assert all(f.status is FollowUpStatus.OPEN for f in store.follow_ups(owner="1024"))


async def test_a_call_ringing_during_a_callback_is_not_taken_onto_the_headset(
    build: Build, store: DutyRecord, clock: FakeClock, flow: FakeFlow
) -> None:
    """One conversation on the headset: Enter on a call that rings while the callback is up
    says to hang the callback up first; the call waits (the flow holds it) and is taken
    once the callback is over."""
    _follow_ups(store, clock)
    dialler = FakeDialler(DialResult(200, "OK"))
    app, _ = _seat(build, store, clock, dialler)
    async with app.run_test(size=(150, 45)) as pilot:
        try:
            await _open_follow_ups(pilot, app)
            await pilot.press("c")
            await until(pilot, lambda: "回访 13800138000 已接通" in screen_text(app), "connected")
            ring(flow, "in-2", "13900139000", clock.now())
            await until(pilot, lambda: screen_name(app) == "RingingScreen", "the banner")
            await pilot.press("enter")
            await until(pilot, lambda: "正在回访" in screen_text(app), "hang the callback up first")
            assert flow.taken == [] and dialler.dialled[0].state is CallState.ANSWERED
            app.callbacks.hang_up()  # type: ignore[union-attr]  # as H on the follow-ups does
            await until(pilot, lambda: app.callbacks.current is None, "the callback ended")  # type: ignore[union-attr]
            app.answer("in-2")
            await until(pilot, lambda: flow.taken == [("in-2", "1024")], "taken after the callback")
            await until(pilot, lambda: screen_name(app) == "CallScreen"
                        and "13900139000" in screen_text(app), "the call screen, with the caller")
        finally:  # a failure above must not leave the callback worker waiting for ever
            for held in dialler.dialled:
                held.hangup()
