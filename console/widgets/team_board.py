"""The team board on screen: a supervisor's table of every seat, and the strip on each seat.

Both draw a `console.domain.board.Board` they are given (`show`, a method call down); the
app hears the boards from `console.store.board` and hands each down. Durations (away
minutes, seconds waiting) count on from the board's times with the seat's clock, redrawn
once a second from what the widget holds: the clock ticks here, the database is read only
when a seat publishes a change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label

from console.domain.board import (
    Board,
    BoardState,
    GateWord,
    LineWord,
    SeatPresence,
    away_minutes,
    away_overdue,
    seconds_since,
)
from console.domain.labels import Language
from console.widgets._static import QuietStatic
from console.widgets.plain_table import PlainTable

_WORDS: dict[str, tuple[str, str]] = {
    "board": ("团队看板", "Team board"),
    "team": ("团队", "Team"),
    "waiting": ("等待", "Waiting"),
    "longest": ("最长", "longest"),
    "rate": ("接通率", "Answer rate"),
    "within": ("限内接听", "Within limit"),
    "not_live": ("看板未连接", "board not live"),
    "no_board": ("团队看板: 未连接", "Team board: not connected"),
    "seat": ("坐席", "Seat"),
    "agent": ("工号", "Agent"),
    "state": ("状态", "State"),
    "for": ("时长", "For"),
    "line": ("线路", "Line"),
    "gate": ("门岗", "Gate post"),
    "calls": ("来电等待", "Calls waiting"),
    "min": ("分", " min"),
    "sec": ("秒", " s"),
    "overdue": ("超时", "overdue"),
    LineWord.REGISTERED.value: ("已注册", "registered"),
    LineWord.REGISTERING.value: ("注册中", "registering"),
    LineWord.FAILED.value: ("注册失败", "failed"),
    LineWord.STOPPED.value: ("未启动", "stopped"),
    GateWord.OK.value: ("正常", "ok"),
    GateWord.ALARM.value: ("不通", "unreachable"),
    GateWord.UNKNOWN.value: ("未检测", "not checked"),
}
_SHORT: dict[BoardState, tuple[str, str]] = {
    BoardState.READY: ("就绪", "ready"),
    BoardState.RINGING: ("振铃", "ringing"),
    BoardState.ON_CALL: ("通话", "on call"),
    BoardState.AFTER_CALL_WORK: ("话后", "wrap-up"),
    BoardState.AWAY: ("示忙", "away"),
}
_ALARM = "bold red"


def word(key: str, language: Language) -> str:
    zh, en = _WORDS[key]
    return zh if language is Language.ZH else en


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _duration(seconds: int, language: Language) -> str:
    if seconds >= 60:
        return f"{seconds // 60}{word('min', language)}"
    return f"{seconds}{word('sec', language)}"


def strip_text(board: Board | None, live: bool, now: dt.datetime, language: Language,
               away_limit: dt.timedelta = dt.timedelta(minutes=15)) -> Text:
    """One line: seats per state, callers waiting (the longest), today's two rates."""
    if board is None:
        return Text(word("no_board", language), style="dim")
    out = Text(f"{word('team', language)} ")
    for state, (zh, en) in _SHORT.items():
        n = board.count(state)
        name = zh if language is Language.ZH else en
        overdue = state is BoardState.AWAY and any(
            away_overdue(s, now, away_limit) for s in board.seats)
        out.append(f"{name} {n}  ", style=_ALARM if overdue else "bold" if n else "dim")
    waiting = board.waiting()
    out.append("│ ", style="dim")
    out.append(f"{word('waiting', language)} {len(waiting)}",
               style="bold yellow" if waiting else "")
    if waiting:
        longest = seconds_since(waiting[0].since, now)
        out.append(f" ({word('longest', language)} {_duration(longest, language)})",
                   style="bold yellow")
    figures = board.figures
    out.append(f"  │ {word('rate', language)} {_percent(figures.answer_rate)}"
               f"  {word('within', language)} {_percent(figures.within_share)}")
    if not live:
        out.append(f"  │ {word('not_live', language)}", style=_ALARM)
    return out


def seat_cells(member: SeatPresence, now: dt.datetime, language: Language,
               away_limit: dt.timedelta = dt.timedelta(minutes=15)) -> list[str | Text]:
    """One row of the supervisor's table: seat, agent, state, for how long, line, gate
    post, callers waiting there (the longest)."""
    state = Text(member.state.label(language))
    minutes = away_minutes(member, now)
    if minutes is not None:
        state.append(f" {minutes}{word('min', language)}")
        if member.away_reason:
            state.append(f" ({member.away_reason})")
        if away_overdue(member, now, away_limit):
            state.append(f" {word('overdue', language)}")
            state.stylize(_ALARM)
    running = member.state is not BoardState.OFFLINE
    line = Text(word(member.line.value, language) if running else "—",
                style=_ALARM if running and member.line is LineWord.FAILED else "")
    gate = Text(word(member.gate_post.value, language) if running else "—",
                style=_ALARM if running and member.gate_post is GateWord.ALARM else "")
    waits = [seconds_since(w.since, now) for w in member.waiting] if running else []
    calls = (f"{len(waits)} ({word('longest', language)} {_duration(max(waits), language)})"
             if waits else "0")
    return [member.seat, member.agent_id or "—", state,
            _duration(seconds_since(member.since, now), language), line, gate, calls]


class BoardStrip(QuietStatic):
    """The seat's one-line view of its team, drawn by the screen with `show`."""

    def show(self, board: Board | None, live: bool, now: dt.datetime, language: Language,
             away_limit: dt.timedelta = dt.timedelta(minutes=15)) -> None:
        self.show_text(strip_text(board, live, now, language, away_limit))


class TeamBoard(Vertical):
    """A supervisor's live board: the strip's summary over one row per seat."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, clock: Callable[[], dt.datetime], language: Language,
                 away_limit: dt.timedelta = dt.timedelta(minutes=15), *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._language = language
        self._away_limit = away_limit
        self._board: Board | None = None
        self._live = False

    def compose(self) -> ComposeResult:
        yield BoardStrip(id="board-summary")
        yield Label(word("calls", self._language) + ": —", id="board-waiting", markup=False)
        yield PlainTable(id="board-seats", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(PlainTable)
        for key in ("seat", "agent", "state", "for", "line", "gate", "calls"):
            table.add_column(word(key, self._language), key=key)
        self._draw()
        self.set_interval(1.0, self._draw)  # durations count on; nothing is read

    @property
    def board(self) -> Board | None:
        """The board shown (drawn once mounted)."""
        return self._board

    def show(self, board: Board | None, live: bool) -> None:
        """The newest board and whether it is live (the listener hears the database)."""
        self._board, self._live = board, live
        if self.is_mounted:
            self._draw()

    def _draw(self) -> None:
        now = self._clock()
        lang = self._language
        self.query_one(BoardStrip).show(self._board, self._live, now, lang, self._away_limit)
        waiting = self._board.waiting() if self._board is not None else []
        self.query_one("#board-waiting", Label).update(
            f"{word('calls', lang)}: " + (", ".join(
                _duration(seconds_since(w.since, now), lang) for w in waiting) or "—"))
        table = self.query_one(PlainTable)
        seats = self._board.seats if self._board is not None else ()
        keys = [s.seat for s in seats]
        if [str(k.value) for k in table.rows] != keys:
            table.clear()
            for member in seats:
                table.add_row(*seat_cells(member, now, lang, self._away_limit), key=member.seat)
            return
        columns = list(table.columns)
        for member in seats:
            for column, cell in zip(columns, seat_cells(member, now, lang, self._away_limit),
                                    strict=True):
                value = Text(cell) if isinstance(cell, str) else cell
                table.update_cell(member.seat, column, value)


class BoardHeard(Message):
    """The board's listener read a new board (posted from its thread to the app)."""

    def __init__(self, board: Board) -> None:
        super().__init__()
        self.board = board
        """Every seat and today's figures, as read after a seat's notice."""


class BoardAlarm(Message):
    """The board stopped being live (`board_down`) or is live again (`board_back`)."""

    def __init__(self, kind: str, words: str) -> None:
        super().__init__()
        self.kind = kind
        self.words = words
        """One line for the seat (no traceback)."""
