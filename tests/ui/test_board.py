"""The team board in the TUI (issue 13): the strip on the seat, the supervisor's board tab.

Two kinds of test: a fake feed (what the seat publishes, boards handed in as the
listener's thread would), and one over the real `console.store.board` on the seat's
SQLite record, where a second seat's state change shows on this seat's strip.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from console.app import DutyConsoleApp, make_app
from console.domain.board import (
    Board,
    BoardState,
    GateWord,
    LineWord,
    SeatPresence,
    TeamFigures,
    WaitingCall,
)
from console.domain.night import NightMode
from console.headset import Headset
from console.store import AgentRole, DutyRecord
from console.store.board import BoardFeed
from console.ui.settings import UiSettings
from console.widgets.team_board import BoardHeard, BoardStrip, TeamBoard
from tests.ui.conftest import TZ
from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine
from tests.ui.helpers import login, ring, screen_name, screen_text, until


@pytest.fixture(autouse=True)
def _notice_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLite's notice sockets in a directory of this test's own (short enough for a
    socket path), removed afterwards."""
    import shutil
    import tempfile

    where = tempfile.mkdtemp(prefix="board-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", where)
    yield
    shutil.rmtree(where, ignore_errors=True)


class FakeFeed:
    """A board feed that records what the seat publishes; boards go in through `hear`,
    from a thread of its own as the real listener's."""

    def __init__(self, seat: str = "seat-2") -> None:
        self.seat = seat
        self.published: list[SeatPresence] = []
        self.on_board: Callable[[Board], object] | None = None
        self.on_alarm: Callable[[str, str], object] | None = None
        self.stopped = False

    def start(self, on_board: Callable[[Board], object],
              on_alarm: Callable[[str, str], object] | None = None) -> None:
        self.on_board, self.on_alarm = on_board, on_alarm

    def publish(self, presence: SeatPresence) -> bool:
        if self.published and presence.same_as(self.published[-1]):
            return False
        self.published.append(presence)
        return True

    def stop(self, at: dt.datetime | None = None) -> None:
        self.stopped = True

    def hear(self, board: Board) -> None:
        assert self.on_board is not None
        on_board = self.on_board
        thread = threading.Thread(target=lambda: on_board(board))
        thread.start()
        thread.join()

    def alarm(self, kind: str, words: str) -> None:
        assert self.on_alarm is not None
        self.on_alarm(kind, words)


def team(now: dt.datetime) -> Board:
    """Seat 1 away for 17 minutes (overdue), seat 2 ready, seat 3 on a call with one
    caller waiting 42 s (the same dialog ringing at seat 2: counted once)."""
    waiting = WaitingCall("dlg-7", now - dt.timedelta(seconds=42))
    return Board((
        SeatPresence("seat-1", BoardState.AWAY, now - dt.timedelta(minutes=17), "2048",
                     away_reason="会议", line=LineWord.REGISTERED, gate_post=GateWord.OK),
        SeatPresence("seat-2", BoardState.RINGING, waiting.since, "1024",
                     line=LineWord.REGISTERED, gate_post=GateWord.OK, waiting=(waiting,)),
        SeatPresence("seat-3", BoardState.ON_CALL, now - dt.timedelta(minutes=3), "3001",
                     line=LineWord.FAILED, gate_post=GateWord.ALARM, waiting=(waiting,)),
    ), TeamFigures(total=10, answered=9, within_limit=6), now)


async def test_the_seat_publishes_its_state_and_shows_the_team_strip(
    build: Callable[..., DutyConsoleApp], flow: FakeFlow, clock: FakeClock,
) -> None:
    app = build()
    feed = FakeFeed()
    app.board = feed  # type: ignore[assignment]
    async with app.run_test(size=(120, 30)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen")
        await until(pilot, lambda: feed.published[-1].state is BoardState.READY, "ready")
        assert feed.published[-1].agent_id == "1024"
        strip = app.screen.query_one(BoardStrip)
        assert not strip.display  # no board heard yet: nothing to show
        feed.hear(team(clock.now()))
        await until(pilot, lambda: strip.display and "接通率 90%" in screen_text(app))
        seen = screen_text(app)
        # One waiting caller (rung at two seats), its 42 s; 6 of 9 within the limit.
        assert "等待 1 (最长 42秒)" in seen and "限内接听 67%" in seen
        assert "示忙 1" in seen and "通话 1" in seen and "振铃 1" in seen
        ring(flow, "c1", "13800138000", clock.now())
        await until(pilot, lambda: feed.published[-1].state is BoardState.RINGING, "ringing")
        assert [w.dialog for w in feed.published[-1].waiting] == ["c1"]
        await pilot.press("escape")
        clock.advance(5)
        await until(pilot, lambda: "最长 47秒" in screen_text(app), "seconds counting on")
        feed.alarm("board_down", "the team board is not live: the database does not answer")
        await until(pilot, lambda: "看板未连接" in screen_text(app), "the strip's alarm")
        assert "Traceback" not in screen_text(app)
    assert feed.stopped


@asynccontextmanager
async def _supervisor_seat(
    build: Callable[..., DutyConsoleApp],
) -> AsyncIterator[tuple[DutyConsoleApp, FakeFeed, Pilot[int]]]:
    """Supervisor 9001 logged in at a seat whose board feed is a `FakeFeed`."""
    app = build()
    feed = FakeFeed("seat-9")
    app.board = feed  # type: ignore[assignment]
    async with app.run_test(size=(160, 40)) as pilot:
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen")
        yield app, feed, pilot


async def test_the_supervisor_gets_a_board_tab_when_a_board_is_heard(
    build: Callable[..., DutyConsoleApp], clock: FakeClock,
) -> None:
    async with _supervisor_seat(build) as (app, feed, pilot):
        assert not app.screen.query("#team-board")  # no team heard: no tab
        feed.hear(team(clock.now()))
        await until(pilot, lambda: bool(app.screen.query("#team-board")), "the board tab")
        app.screen.query_one("#review-tabs", TabbedContent).active = "tab-board"
        await until(pilot, lambda: "seat-3" in screen_text(app), "the seats' rows")
        seen = screen_text(app)
        assert "示忙 17分 (会议) 超时" in seen  # away minutes, the reason, overdue
        assert "注册失败" in seen and "不通" in seen  # seat 3's line and gate post
        assert "来电等待: 42秒" in seen
        board = app.screen.query_one(TeamBoard)
        later = team(clock.now())
        later = Board((later.seats[0], later.seats[1],
                       SeatPresence("seat-3", BoardState.AFTER_CALL_WORK, clock.now(), "3001",
                                    line=LineWord.REGISTERED, gate_post=GateWord.OK)),
                      later.figures, clock.now())
        feed.hear(later)
        await until(pilot, lambda: "话后处理" in screen_text(app), "seat 3 after its call")
        assert board is app.screen.query_one(TeamBoard)  # the same widget, redrawn


async def test_two_boards_heard_at_once_make_one_board_tab(
    build: Callable[..., DutyConsoleApp], clock: FakeClock,
) -> None:
    """The seat died with DuplicateIds ('--content-tab-tab-board') when a call rang at a
    supervisor's seat: the board came with the ring's seat changes, and a second redraw
    before the new tab was mounted added it again (the tmux review test's 480, ci18)."""
    async with _supervisor_seat(build) as (app, _, pilot):
        first, second = team(clock.now()), team(clock.now() + dt.timedelta(seconds=1))
        app.post_message(BoardHeard(first))  # both queued before either is handled
        app.post_message(BoardHeard(second))
        app.refresh_screens()
        await until(pilot, lambda: bool(app.screen.query("#team-board")), "the board tab")
        await pilot.pause()
        assert len(app.screen.query("#tab-board")) == 1
        assert app.screen.query_one(TeamBoard).board is second  # the newest board is shown
        assert app.is_running
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_another_seats_change_reaches_this_seats_strip_over_the_record(
    build: Callable[..., DutyConsoleApp], store: DutyRecord, clock: FakeClock,
) -> None:
    """The real feed on the seat's SQLite record: seat 1 (another process's record on the
    same file) goes away, and seat 2's strip says so without anything polling."""
    store.claim_seat("seat-2")
    other = DutyRecord(store.url, tz=TZ)
    other.claim_seat("seat-1")
    feed_1 = BoardFeed(other, "seat-1")
    feed_1.start(lambda _b: None)
    app = build()
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            await login(pilot)
            await until(pilot, lambda: screen_name(app) == "SeatScreen")
            await until(pilot, lambda: app.team_board is not None and any(
                s.seat == "seat-2" and s.state is BoardState.READY
                for s in app.team_board.seats), "this seat ready on its own board")
            feed_1.publish(SeatPresence("seat-1", BoardState.AWAY, clock.now(), "2048",
                                        away_reason="break", line=LineWord.REGISTERED))
            await until(pilot, lambda: "示忙 1" in screen_text(app), "seat 1 away on the strip")
            assert app.board_live
    finally:
        feed_1.stop()
        other.close()
    states = {s.seat: s.state for s in app.board.publisher._last.values()} if app.board else {}
    assert states.get("seat-2") is BoardState.OFFLINE  # the seat went offline at its exit



async def test_postgresql_stopped_under_the_seat_the_strip_says_so_and_comes_back(
    tmp_path: Path, clock: FakeClock, flow: FakeFlow, line: FakeLine, night: NightMode,
) -> None:
    """The real feed on a real PostgreSQL that is killed under the logged-in seat: one
    warning in words (no traceback anywhere on screen), the strip says the board is not
    live; with the server back the strip is live again and another seat's change shows."""
    from tests.store.pg import pg_bindir, pg_server, restart

    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs the Debian package)")
    with pg_server() as server:
        url = server.create_database()
        record = DutyRecord(url, tz=TZ, clock=clock.now)
        record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
        record.claim_seat("seat-2")
        other = DutyRecord(url, tz=TZ)
        other.claim_seat("seat-1")
        feed_1 = BoardFeed(other, "seat-1")
        feed_1.start(lambda _b: None)
        settings = UiSettings(drafts_dir=tmp_path / "drafts", timezone=TZ, tick_seconds=0.1)
        app = make_app(line, record, clock, settings, flow, night=night,
                       headset=Headset(FakeAudio([HEADSET], 0)))
        try:
            async with app.run_test(size=(140, 30)) as pilot:
                await login(pilot)
                await until(pilot, lambda: screen_name(app) == "SeatScreen")
                await until(pilot, lambda: app.board_live and "接通率" in screen_text(app),
                            "the strip, live")
                server.kill()
                await until(pilot, lambda: "看板未连接" in screen_text(app), "not live")
                seen = screen_text(app)
                assert "Traceback" not in seen
                told = [n.message for n in app._notifications if n.title == "团队看板: 未连接"]
                assert len(told) == 1 and "\n" not in told[0] and "not live" in told[0]
                assert "Error" not in told[0]  # the database's words, not a class name
                server.pid = restart(server).pid
                await until(pilot, lambda: app.board_live, "live again")
                feed_1.publish(SeatPresence("seat-1", BoardState.AWAY, clock.now(), "2048",
                                            away_reason="break", line=LineWord.REGISTERED))
                await until(pilot, lambda: "示忙 1" in screen_text(app), "seat 1 away")
                assert "看板未连接" not in screen_text(app).splitlines()[2]
        finally:
            feed_1.stop()
            other.close()
            record.close()


def test_the_seat_models_presence_is_what_the_team_sees() -> None:
    """The seat's model says its presence without an App: the agent's state (ringing while
    a caller waits for it), its line and gate post, and only the callers it could take (a
    call another seat took is nobody's here)."""
    from console.callflow.events import AnsweredElsewhere, CallArrived, GatePostChecked, Mode
    from console.domain.agent import Agent
    from console.ui.model import SeatModel
    from sip.api import LineStatus

    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
    model = SeatModel()
    assert model.presence("seat-2", at, since=at).state is BoardState.LOGGED_OUT
    model.agent = Agent("1024")
    model.agent.login(at)
    model.line_status = LineStatus.REGISTERED
    model.apply(GatePostChecked(at, "sip:gate@127.0.0.1", True))
    model.apply(CallArrived(at, "c1", "138", Mode.STAFFED))
    model.apply(CallArrived(at, "c2", "139", Mode.STAFFED))
    model.apply(AnsweredElsewhere(at, "c2", "seat-1", "2048", "2048 @ seat-1"))
    p = model.presence("seat-2", at + dt.timedelta(seconds=3))
    assert (p.state, p.agent_id, p.line, p.gate_post) == (
        BoardState.RINGING, "1024", LineWord.REGISTERED, GateWord.OK)
    assert [w.dialog for w in p.waiting] == ["c1"]
