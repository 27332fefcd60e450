"""What a screen may read from the seat: the app as its screens see it, and nothing more.

Screens type their app against this protocol instead of importing `console.app` (which
imports them): that import made the app and the screens a circle (issue 11), and with the
whole app in view a screen could reach any of its members (`seat.flow_action(...)`).
Screens read state here and post intents (`console.ui.intents`) for everything they want
done; `console.app` checks that `DutyConsoleApp` satisfies this protocol (`seat_view`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from console.callflow.ports import Clock
from console.domain.agent import Agent
from console.domain.board import Board
from console.domain.labels import Language
from console.ui.model import SeatModel
from console.ui.settings import UiSettings
from sip.api import LineStatus

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.worker import Worker

    from console.callflow.callback import CallbackDialer
    from console.headset import Headset, HeadsetStatus
    from console.store import Agent as AgentRecord
    from console.store import FollowUp
    from console.ui.ports import NightSwitch, SeatStore


class SeatView(Protocol):
    """The seat's state and services as screens use them (read, or run in a worker)."""

    language: Language
    settings: UiSettings
    clock: Clock
    model: SeatModel
    """Calls, gate post and forward failures, as the flow's events left them."""
    agent: Agent | None
    night: NightSwitch | None
    line_status: LineStatus
    line_reason: str
    headset_status: HeadsetStatus
    ready: threading.Event
    store: SeatStore
    """Reads for lists (today's calls, follow-ups); run them in a worker. Still used for the
    one write the seat has no intent for yet (closing a follow-up); the gate post's note is
    `GateNoteRequested`."""
    callbacks: CallbackDialer | None
    """Places callbacks (回访) from a follow-up (blocking: in a worker); None without a line."""

    @property
    def team_board(self) -> Board | None:
        """The team board as last heard (`console.store.board`); None: none heard (no team)."""
        ...

    @property
    def board_live(self) -> bool:
        """The board's listener hears the database (False while it reconnects)."""
        ...

    @property
    def is_running(self) -> bool: ...

    @property
    def screen_stack(self) -> list[Screen[Any]]: ...

    def now(self) -> dt.datetime: ...

    def push_screen(self, screen: Screen[Any], callback: Callable[[Any], None] | None = None,
                    wait_for_dismiss: bool = False) -> Any:
        """Open a dialog over the screen (Textual's own; the app owns the stack)."""
        ...

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...

    def report(self, exc: BaseException) -> None: ...

    def run_in_thread(self, fn: Callable[[], Any], name: str) -> Worker[Any]: ...

    def call_from_thread(self, callback: Callable[..., Any], *args: Any,
                         **kwargs: Any) -> Any: ...

    def open_follow_ups(self) -> list[FollowUp]: ...

    def login_blocking(self, agent_id: str, secret: str) -> None: ...

    def callback_bridge(self, call: Any) -> Callable[[], None] | None:
        """Bridge an answered callback to the headset (None: no headset)."""
        ...

    def callback_changed(self, up: bool) -> None:
        """A callback went out (the agent is on call) or ended (after-call work)."""
        ...

    def login_queued_note(self) -> str: ...


class ReviewView(SeatView, Protocol):
    """What the supervisor's screens and panes read beyond the agents' view: who reviews,
    the headset (playing a recording), Textual's workers and key names. They typed their
    app as `DutyConsoleApp` (under TYPE_CHECKING), an import of `console.app` from a lower
    layer that the layers contract had to ignore; `console.app.review_view` checks that the
    app offers all of this."""

    agent_record: AgentRecord | None
    """The logged-in person's record (the review checks that it is a supervisor)."""
    headset: Headset

    @property
    def screen(self) -> Screen[Any]: ...

    def run_worker(self, work: Any, name: str | None = "", group: str = "default",
                   description: str = "", exit_on_error: bool = True, start: bool = True,
                   exclusive: bool = False, thread: bool = False) -> Worker[Any]: ...

    def get_key_display(self, binding: Binding) -> str: ...
