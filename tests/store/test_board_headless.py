"""A headless line on the team board (issue 13): its calls, line and gate post, published.

Over the real `console.store.board` on SQLite: the headless seat's presence (logged out,
nobody at it) carries the callers waiting on it, its registration and its gate-post check,
and a TUI seat's listener on the same file reads it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.callflow.events import (
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    GatePostChecked,
    Mode,
    SeatRinging,
)
from console.domain.board import Board, BoardState, GateWord, LineWord, SeatPresence
from console.line_presence import LinePresence
from console.store import DutyRecord
from console.store.board import BoardFeed
from sip.api import LineStatus, LineStatusChanged

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


class Recording:
    """A feed that keeps what is published (the real publisher drops repeats the same way)."""

    seat = "line-1"

    def __init__(self) -> None:
        self.published: list[SeatPresence] = []

    def publish(self, presence: SeatPresence) -> bool:
        if self.published and presence.same_as(self.published[-1]):
            return False
        self.published.append(presence)
        return True


def test_the_headless_line_publishes_its_callers_line_and_gate_post() -> None:
    feed = Recording()
    now = [T]
    presence = LinePresence(feed, lambda: now[0], lambda: LineStatus.REGISTERING)
    presence.start()
    assert feed.published[-1].state is BoardState.LOGGED_OUT
    assert feed.published[-1].line is LineWord.REGISTERING
    presence.on_line_event(LineStatusChanged(LineStatus.REGISTERED))
    presence.on_flow_event(GatePostChecked(T, "sip:gate@127.0.0.1", False))
    last = feed.published[-1]
    assert last.line is LineWord.REGISTERED and last.gate_post is GateWord.ALARM
    presence.on_flow_event(CallArrived(T, "c1", "13800138000", Mode.STAFFED))
    presence.on_flow_event(SeatRinging(T, "c1", 15.0))
    assert [w.dialog for w in feed.published[-1].waiting] == ["c1"]
    now[0] = T + timedelta(seconds=15)
    # Answered by the console at the ring limit: the caller is held, still waiting.
    presence.on_flow_event(CallAnswered(now[0], "c1", "auto", 3, 15.0))
    assert [w.dialog for w in feed.published[-1].waiting] == ["c1"]
    presence.on_flow_event(CallFinished(now[0], "c1", CallStep.HOLD, "caller_hangup", "auto"))
    assert feed.published[-1].waiting == ()
    # Nothing new (the same presence at a later moment) is not published again.
    count = len(feed.published)
    now[0] += timedelta(seconds=5)
    presence.publish()
    assert len(feed.published) == count
    assert {p.since for p in feed.published} == {T}  # logged out since the line started


def test_a_headless_seats_caller_reaches_a_tui_seats_board(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'duty.db'}"
    line, seat = DutyRecord(url, tz=UTC), DutyRecord(url, tz=UTC)
    line.claim_seat("line-1")
    seat.claim_seat("seat-2")
    boards: list[Board] = []
    heard = threading.Event()

    def sink(board: Board) -> None:
        boards.append(board)
        if board.waiting():
            heard.set()

    feed_line, feed_seat = BoardFeed(line, "line-1"), BoardFeed(seat, "seat-2")
    feed_line.start_publishing()
    feed_seat.start(sink)
    presence = LinePresence(feed_line, lambda: datetime.now(UTC), lambda: LineStatus.REGISTERED)
    try:
        presence.start()
        presence.on_flow_event(CallArrived(datetime.now(UTC), "c9", "139", Mode.STAFFED))
        assert heard.wait(10), "the TUI seat never heard the headless line's caller"
        assert [w.dialog for w in boards[-1].waiting()] == ["c9"]
        states = {s.seat: (s.state, s.line) for s in boards[-1].seats}
        assert states["line-1"] == (BoardState.LOGGED_OUT, LineWord.REGISTERED)
    finally:
        feed_line.stop()
        feed_seat.stop()
        line.close()
        seat.close()
