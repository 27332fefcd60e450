"""The team board's rules, by table: a seat's board state, what counts as waiting, away."""

from __future__ import annotations

import datetime as dt

import pytest

from console.domain.agent import AgentState
from console.domain.board import (
    Board,
    BoardError,
    BoardState,
    GateWord,
    LineWord,
    SeatPresence,
    TeamFigures,
    WaitingCall,
    away_minutes,
    away_overdue,
    board_state,
    presence_of,
    waiting_calls,
)

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("agent", "ringing", "expected"), [
    (AgentState.READY, False, BoardState.READY),
    (AgentState.READY, True, BoardState.RINGING),
    (AgentState.AFTER_CALL_WORK, True, BoardState.RINGING),  # wrap-up never blocks a call
    (AgentState.AFTER_CALL_WORK, False, BoardState.AFTER_CALL_WORK),
    (AgentState.ON_CALL, True, BoardState.ON_CALL),  # busy: the second caller waits
    (AgentState.AWAY, True, BoardState.AWAY),
    (AgentState.LOGGED_OUT, True, BoardState.LOGGED_OUT),
    (None, True, BoardState.LOGGED_OUT),
])
def test_board_state(agent: AgentState | None, ringing: bool, expected: BoardState) -> None:
    assert board_state(agent, ringing) is expected


def seat(name: str, state: BoardState, *waits: tuple[str, int]) -> SeatPresence:
    return SeatPresence(name, state, T, waiting=tuple(
        WaitingCall(d, T - dt.timedelta(seconds=s)) for d, s in waits))


@pytest.mark.parametrize(("seats", "expected"), [
    ([], []),
    # A ring-all call at three seats is one caller, at the earliest arrival any saw.
    ([seat("a", BoardState.RINGING, ("d1", 10)), seat("b", BoardState.RINGING, ("d1", 12)),
      seat("c", BoardState.ON_CALL, ("d1", 11))], [("d1", 12)]),
    ([seat("a", BoardState.RINGING, ("d1", 5), ("d2", 30))], [("d2", 30), ("d1", 5)]),
    # A stopped seat's callers went with its line.
    ([seat("a", BoardState.OFFLINE, ("d1", 5))], []),
])
def test_waiting_calls(seats: list[SeatPresence], expected: list[tuple[str, int]]) -> None:
    got = [(w.dialog, int((T - w.since).total_seconds())) for w in waiting_calls(seats)]
    assert got == expected
    assert Board(tuple(seats)).waiting() == waiting_calls(seats)


@pytest.mark.parametrize(("minutes", "shown", "overdue"), [
    (0, 0, False), (14, 14, False), (15, 15, False), (16, 16, True)])
def test_away_minutes_and_overdue(minutes: int, shown: int, overdue: bool) -> None:
    away = SeatPresence("a", BoardState.AWAY, T)
    now = T + dt.timedelta(minutes=minutes, seconds=1 if minutes == 16 else 0)
    assert away_minutes(away, now) == shown
    assert away_overdue(away, now, dt.timedelta(minutes=15)) is overdue
    assert away_minutes(SeatPresence("a", BoardState.READY, T), now) is None
    approved = SeatPresence("a", BoardState.AWAY, T, away_approved=True)
    assert not away_overdue(approved, now, dt.timedelta(minutes=15))  # a supervisor's yes


@pytest.mark.parametrize(("figures", "rate", "within"), [
    (TeamFigures(), None, None), (TeamFigures(10, 8, 6), 0.8, 0.75), (TeamFigures(3, 0, 0), 0.0,
                                                                      None)])
def test_team_figures(figures: TeamFigures, rate: float | None, within: float | None) -> None:
    assert figures.answer_rate == rate and figures.within_share == within


def test_presence_round_trips_and_bad_ones_are_named() -> None:
    p = presence_of("seat-1", AgentState.READY, T, T, agent_id="1024", line="registered",
                    gate_ok=False, waiting=[WaitingCall("d", T)])
    assert p.state is BoardState.RINGING and p.gate_post is GateWord.ALARM
    assert p.line is LineWord.REGISTERED
    assert SeatPresence.from_json(p.to_json()) == p
    for bad in ("{", "[]", '{"v": 2}', '{"v": 1, "seat": "s"}',
                p.to_json().replace('"ringing"', '"dancing"')):
        with pytest.raises(BoardError):
            SeatPresence.from_json(bad)
    with pytest.raises(BoardError, match="line status 'sideways'"):
        presence_of("s", None, None, T, line="sideways")
    with pytest.raises(BoardError, match="no time zone"):
        SeatPresence("s", BoardState.READY, T.replace(tzinfo=None))
    assert p.same_as(SeatPresence.from_json(p.to_json()))
