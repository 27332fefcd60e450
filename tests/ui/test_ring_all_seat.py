"""A TUI seat of a ring-all hotline (issue 13): its agent's answer wins the claim, and when
another seat took the call first its banner closes at once and says who.

The seat runs over the real `CallFlow` (fake SIP calls) with real answer claims in a record
it shares with a second, headless seat: the PBX's forked INVITE reaches both (same Call-ID
and From tag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from console.app import DutyConsoleApp, make_app
from console.callflow import CallFlow, FlowSettings, ShiftedClock
from console.callflow.events import AnsweredElsewhere
from console.headset import Headset
from console.store import DutyRecord
from console.store.claims import AnswerClaims
from console.ui.settings import UiSettings
from sip.api import CallRinging
from tests.callflow.fakes import EventLog, FakeCall, FixedStaffing, MemoryRecords, TinyPrompts
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeAudio, FakeLine
from tests.ui.helpers import login, screen_name, screen_text, until

SETTINGS = FlowSettings(ring_limit_seconds=30, ring_cadence=5, handover_timeout=30,
                        survey=False)


class Team:
    """Seat 2 (the TUI, agent 1024) and seat 1 (headless) on one record's claims."""

    def __init__(self, tmp_path: Path, store: DutyRecord) -> None:
        self.other_store = DutyRecord(store.url, tz=TZ)
        clock = ShiftedClock(START)
        self.flow = CallFlow(MemoryRecords(), FixedStaffing(True), TinyPrompts(), SETTINGS,
                             clock=clock, claims=AnswerClaims(store, "seat-2", "hotline"))
        self.other = CallFlow(MemoryRecords(), FixedStaffing(True), TinyPrompts(),
                              replace(SETTINGS), claims=AnswerClaims(self.other_store,
                                                                     "seat-1", "hotline"))
        self.other_log = EventLog()
        self.other.bus.subscribe(self.other_log)
        ui = UiSettings(drafts_dir=tmp_path / "drafts", timezone=TZ, tick_seconds=0.1)
        self.app: DutyConsoleApp = make_app(FakeLine(), store, clock, ui, self.flow,
                                            headset=Headset(FakeAudio([])))

    def fork(self, call_id: str) -> tuple[FakeCall, FakeCall]:
        """The PBX rings both seats with the caller's one INVITE."""
        mine = FakeCall(self.flow.on_line_event, call_id, "13800138000", "caller-tag")
        theirs = FakeCall(self.other.on_line_event, call_id, "13800138000", "caller-tag")
        self.flow.on_line_event(CallRinging(mine))
        self.other.on_line_event(CallRinging(theirs))
        return mine, theirs

    def stop(self) -> None:
        self.flow.stop()
        self.other.stop()
        self.other_store.close()


@pytest.fixture
def team(tmp_path: Path, store: DutyRecord) -> Iterator[Callable[[], Team]]:
    made: list[Team] = []

    def make() -> Team:
        made.append(Team(tmp_path, store))
        return made[-1]

    yield make
    for t in made:
        t.stop()


async def test_the_agent_at_this_seat_answers_and_the_other_seat_stands_down(team) -> None:
    t = team()
    async with t.app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(t.app) == "SeatScreen")
        mine, theirs = t.fork("fork-1@pbx")
        await until(pilot, lambda: screen_name(t.app) == "RingingScreen", "banner")
        await pilot.press("enter")
        await until(pilot, lambda: "answer" in mine.actions, "answered here")
        await until(pilot, lambda: screen_name(t.app) == "CallScreen", "on call")
        # The agent at seat 1 presses answer a moment later: too late, and told who has it.
        assert not t.other.take_call(theirs.call_id, "2001")
        lost = t.other_log.wait_for(AnsweredElsewhere, call_id="fork-1@pbx")
        assert isinstance(lost, AnsweredElsewhere) and lost.holder == "1024 @ seat-2"
        theirs.completed_elsewhere()  # the PBX cancels seat 1's branch
        assert "answer" not in theirs.actions


async def test_a_call_another_seat_took_closes_the_banner_and_says_who(team) -> None:
    t = team()
    async with t.app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(t.app) == "SeatScreen")
        mine, theirs = t.fork("fork-2@pbx")
        await until(pilot, lambda: screen_name(t.app) == "RingingScreen", "banner")
        assert t.other.take_call(theirs.call_id, "2001")  # the agent at seat 1 was quicker
        await pilot.press("enter")  # ... than this seat's agent, by a hair
        await until(pilot, lambda: screen_name(t.app) == "SeatScreen", "banner closed")
        await until(pilot, lambda: "2001 @ seat-1" in screen_text(t.app), "who took it")
        assert "他席已接听" in screen_text(t.app)
        mine.completed_elsewhere()  # then the PBX cancels this seat's branch
        await pilot.pause(0.3)
        assert "answer" not in mine.actions and "answer" in theirs.actions
        assert screen_name(t.app) == "SeatScreen"


async def test_a_branch_the_pbx_cancelled_for_another_seat_is_no_hung_up_caller(
    team,
) -> None:
    t = team()
    async with t.app.run_test(size=(150, 45)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(t.app) == "SeatScreen")
        mine, _ = t.fork("fork-3@pbx")
        await until(pilot, lambda: screen_name(t.app) == "RingingScreen", "banner")
        mine.completed_elsewhere()  # another seat answered before this one claimed
        await until(pilot, lambda: screen_name(t.app) == "SeatScreen", "banner closed")
        await until(pilot, lambda: "他席已接听" in screen_text(t.app), "taken elsewhere")
        assert "来电已挂断" not in screen_text(t.app)  # not "the caller hung up"
