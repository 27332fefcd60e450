"""The headless line's part in the team board: a seat nobody sits at still rings, holds
callers and has a line and a gate post, and the supervisors' board shows it.

A TUI seat publishes its presence from the app (`DutyConsoleApp._publish_presence`); a
headless line (`duty-console run --headless`) has no app, so this follows its flow's
events and its line's status with the same plain model the seat keeps (`SeatModel`) and
publishes after each change. No agent is logged in, so the seat shows as logged out, with
its line, its gate-post check and the callers waiting on it (ringing, or held by the
console). Flow subscribers run on the flow's threads: they only fold the event in under a
lock and hand the presence to the board's publisher, which returns at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from console.callflow.events import CallFinished, FlowEvent
from console.domain.board import BoardError, SeatPresence
from console.ui.model import SeatModel
from sip.api import LineEvent, LineStatus, LineStatusChanged

log = logging.getLogger("console.line_presence")


class Publisher(Protocol):
    """What this needs of `console.store.board.BoardFeed`."""

    seat: str

    def publish(self, presence: SeatPresence) -> bool: ...


class LinePresence:
    """Publishes a headless line's presence whenever its calls, line or gate post change."""

    def __init__(self, feed: Publisher, now: Callable[[], datetime],
                 line_status: Callable[[], Any] | None = None) -> None:
        self.feed = feed
        self._now = now
        self._line_status = line_status
        self._model = SeatModel()
        self._since: datetime | None = None
        """When the line started: the seat is logged out (nobody at it) since then."""
        self._lock = threading.Lock()

    def start(self) -> None:
        """After the line has started: its status as it is now, then every change."""
        self._since = self._now()
        if self._line_status is not None:
            try:
                self._model.line_status = LineStatus(self._line_status())
            except Exception as exc:  # a line that cannot say: shown as stopped
                log.warning("line status unreadable: %s", exc)
        self.publish()

    def on_flow_event(self, event: FlowEvent) -> None:
        with self._lock:
            call = self._model.apply(event)
            if call is not None and isinstance(event, CallFinished):
                self._model.forget(call.call_id)
        self.publish()

    def on_line_event(self, event: LineEvent) -> None:
        if isinstance(event, LineStatusChanged):
            with self._lock:
                self._model.line_status = event.status
            self.publish()

    def publish(self) -> None:
        with self._lock:
            try:
                presence = self._model.presence(self.feed.seat, self._now(), self._since)
            except BoardError as exc:
                log.warning("presence not published: %s", exc)
                return
        self.feed.publish(presence)
