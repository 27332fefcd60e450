"""The answer press claims the call in a worker, not on the UI loop (issue 13/11: a ring-all
seat's claim waits for the shared record up to 0.4 s, and `answer()` ran it on the Textual
event loop: the banner, the keys and every other call's events stood still meanwhile)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from console.app import DutyConsoleApp
from console.callflow.events import AnsweredElsewhere
from console.widgets.ring_banner import RingBanner
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import login, ring, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]
HELD_FOR = 3.0
"""Longest the fake claim waits for the test to release it (the old code blocks this long)."""


@dataclass
class SlowClaimFlow(FakeFlow):
    """A flow whose answer claim waits until the test releases it (as a claim waits for the
    shared record), then answers `won`."""

    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    won: bool = True
    claims: int = 0
    on_loop: list[bool] = field(default_factory=list)

    def take_call(self, call_id: str, agent_id: str) -> bool:
        self.claims += 1
        self.on_loop.append(threading.current_thread() is threading.main_thread())
        self.started.set()
        self.release.wait(HELD_FOR)
        self.finished.set()
        return self.won and super().take_call(call_id, agent_id)


@pytest.fixture
def flow() -> SlowClaimFlow:
    return SlowClaimFlow()


def _banner(app: DutyConsoleApp) -> str:
    return str(app.screen.query_one(RingBanner).render())


async def _ringing(pilot, app: DutyConsoleApp, flow: SlowClaimFlow, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
    ring(flow, "c1", "13800138000", clock.now())
    await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")


async def test_the_loop_runs_while_the_claim_is_out(
    build: Build, flow: SlowClaimFlow, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(120, 36)) as pilot:
        await _ringing(pilot, app, flow, clock)
        await pilot.press("enter")
        await until(pilot, flow.started.is_set, "the claim started")
        assert not flow.finished.is_set(), "the press waited for the claim on the UI loop"
        assert flow.on_loop == [False]
        # Meanwhile the seat goes on: the banner says so and keeps counting.
        await until(pilot, lambda: "正在接听" in _banner(app), "answering shown")
        clock.advance(4)
        await until(pilot, lambda: "   4 秒" in _banner(app), "the banner still counts")
        await pilot.press("enter")  # a second press while the claim is out: no second claim
        await pilot.pause(0.1)
        assert not flow.finished.is_set() and flow.claims == 1
        flow.release.set()
        await until(pilot, lambda: screen_name(app) == "CallScreen", "the call is the agent's")
        await until(pilot, lambda: app.screen.ready, "the call screen up")  # type: ignore[attr-defined]
        assert flow.taken == [("c1", "1024")] and flow.claims == 1


async def test_a_lost_claim_says_who_took_the_call(
    build: Build, flow: SlowClaimFlow, clock: FakeClock
) -> None:
    flow.won = False
    app = build()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await _ringing(pilot, app, flow, clock)
        await pilot.press("enter")
        await until(pilot, flow.started.is_set, "the claim started")
        flow.emit(AnsweredElsewhere(clock.now(), "c1", "seat-1", "2001", "2001 @ seat-1"))
        flow.release.set()
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "banner closed")
        await until(pilot, lambda: "他席已接听" in screen_text(app), "who took it")
        assert "2001 @ seat-1" in screen_text(app)
        assert "来电已结束或已被接听" not in screen_text(app)
        assert flow.taken == []


async def test_a_key_still_queued_when_the_screens_are_gone_is_dropped(build: Build) -> None:
    """Closing, Textual removes the screens before the app's queue is empty; a key still in
    it (held, or forwarded back up by a screen) went to Textual's binding check, which raised
    ScreenStackError (ci12, this file's first test, at the end of its run_test)."""
    from textual import events

    app = build()
    assert app.screen_stack == []  # not started: no screen, as after the close
    for forwarded in (False, True):
        key = events.Key("enter", None)
        if forwarded:
            key._set_forwarded()
        await app.on_event(key)  # dropped, not raised
    assert not app._held_keys
