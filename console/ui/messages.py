"""Messages that carry news into the app: posted from flow and line threads, handled on the UI loop.

`post_message` is thread-safe in Textual; nothing else is. So flow and line threads only
ever build one of these and post it; the app's handlers update the seat model and call
down into the screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from console.callflow.events import FlowEvent
from console.store import Agent, Handover
from console.ui.notes import CallNotes
from sip.api import LineStatus


class FlowEventPosted(Message):
    """One `FlowEvent` from the call flow (posted on a flow thread)."""

    def __init__(self, event: FlowEvent) -> None:
        super().__init__()
        self.event = event
        """The flow's event, unchanged."""


class LineStatusPosted(Message):
    """The line's registration state changed (posted on a line thread or by the poller)."""

    def __init__(self, status: LineStatus, reason: str = "") -> None:
        super().__init__()
        self.status = status
        self.reason = reason


@dataclass
class LoggedIn(Message):
    """The login screen verified an agent; `handover` is one waiting for acceptance."""

    agent: Agent
    handover: Handover | None


@dataclass
class HandoverAccepted(Message):
    """The incoming agent accepted the previous shift's handover."""

    handover: Handover


@dataclass
class NotesEdited(Message):
    """The notes form changed (at every edit, not debounced): the seat keeps them, and
    saves them as a draft if it closes before the debounced save (`NotesSaveRequested`)."""

    call_id: str
    notes: CallNotes
    version: int
