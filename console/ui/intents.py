"""What screens and the app say to each other about the seat, light enough to import at start.

Up: a screen posts an intent (what the agent asked for: `TransferRequested`, `HoldToggled`,
`AwayRequested`…); it bubbles to the app, which owns the seat's state and the collaborators
(flow, duty record) and handles it with `@on`. Down: the app posts one `SeatChanged` to every
screen on the stack; screens never call into the app and the app never reaches into screens
by name (issue 11, "the seat owns its state"). Nothing here imports the duty record, so the
app can use these classes at load time (cold start).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from console.callflow.events import FlowEvent
from console.domain.night import OverrideKind
from console.ui.model import LiveCall

if TYPE_CHECKING:
    from console.store import Handover
    from console.ui.notes import CallNotes


# ------------------------------------------------------------ down: the seat changed


@dataclass
class SeatChanged(Message, bubble=False):
    """Down, to every screen on the stack: the seat's state changed (a flow event, the line,
    the headset, the agent's state). One message instead of the app calling into screens;
    each screen redraws from what it is given and the seat model."""

    event: FlowEvent | None = None
    """The flow's event that changed it (None: line, headset, agent or night mode)."""
    call: LiveCall | None = None
    """The call `event` concerns, as the seat model now has it."""


# ------------------------------------------------------------ up: what the agent asked for


@dataclass
class AnswerRequested(Message):
    """The agent pressed the answer key on a ringing (or held, or waiting) call."""

    call_id: str


@dataclass
class SurveyRequested(Message):
    """F3: the agent is done talking; the console plays the survey."""

    call_id: str


@dataclass
class TransferRequested(Message):
    """F4: forward the agent's call to the gate post."""

    call_id: str


@dataclass
class HoldToggled(Message):
    """F6: put the caller on hold (`hold`) or take them back."""

    call_id: str
    hold: bool


@dataclass
class HangUpRequested(Message):
    """F8, confirmed: the console ends the call (survey first when configured)."""

    call_id: str


@dataclass
class NotesSaveRequested(Message):
    """The notes of a call, to keep as a draft and in the record (`version` grows)."""

    call_id: str
    notes: CallNotes
    version: int


@dataclass
class AfterCallDone(Message):
    """F10 in after-call work: the notes are final; open their follow-up, back to ready."""

    call_id: str
    notes: CallNotes


@dataclass
class EventReportFiled(Message):
    """F9: an urgent event for the supervisor (事件报告), about a call."""

    call_id: str
    summary: str


@dataclass
class AwayRequested(Message):
    """示忙 with `reason`; None toggles (back when away, else ask for a reason)."""

    reason: str | None = None


@dataclass
class WrapDoneRequested(Message):
    """After-call work finished from the seat (d)."""


@dataclass
class NightRequested(Message):
    """Open the night-mode switch."""


@dataclass
class HandoverRequested(Message):
    """Open the handover (交班) dialog."""


@dataclass
class LogoutRequested(Message):
    """The agent logs out."""


@dataclass
class GateNoteRequested(Message):
    """The gate post's note on a forwarded call (门岗备注): appended to the call's notes as
    an amendment, signed and timed by the app; the gate post's list reloads once it is in."""

    call_key: str
    note: str


@dataclass
class FollowUpCloseRequested(Message):
    """A follow-up closed by hand (`status`: the `FollowUpStatus` value, done or cancelled)
    with the closer's note; the app writes it and the list reloads once it is in."""

    key: str
    status: str
    note: str


class FollowUpsChanged(Message, bubble=False):
    """Down, from the app: a follow-up was closed; a screen that lists them reads again
    (only then: a reload on every seat change overwrote a callback's status line)."""


@dataclass
class NightSwitchRequested(Message):
    """Night mode early / stay on after hours (`kind`, with a reason), or back to the
    schedule (`kind` None); the dialog closes once the app has set it."""

    kind: OverrideKind | None
    reason: str


@dataclass
class HandoverWriteRequested(Message):
    """The outgoing agent's handover (交班记录); the agent logs out once it is saved."""

    notes: str
    open_items: str


@dataclass
class HandoverAcceptRequested(Message):
    """The incoming agent accepts the previous shift's handover (接班确认)."""

    handover: Handover
