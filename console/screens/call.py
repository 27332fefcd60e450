"""On call, then after-call work: the script panel walks duty rules §3, notes save as typed.

Keys are function keys because the notes form has the focus while the agent types:
F2 next step, F3 survey, F4 gate post, F6 hold / take back, F8 hang up (asks first: the
caller should hang up first), F9 escalate. When the call ends the same screen becomes
after-call work (notes still editable, the next call still rings); F10 finishes it.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Label, Static

from console.callflow.events import (
    CallFinished,
    CallStep,
    FlowEvent,
    StepChanged,
    SurveyScored,
)
from console.domain import wrap_up
from console.domain.errors import TransitionError, WrapUpError
from console.domain.labels import Satisfaction
from console.domain.script import CallScript, ScriptEvent, ScriptStep
from console.screens.base import SeatScreen_
from console.screens.dialogs import ConfirmScreen
from console.screens.event_report import EventReportScreen
from console.ui.intents import (
    AfterCallDone,
    EventReportFiled,
    HangUpRequested,
    HoldToggled,
    NotesSaveRequested,
    SurveyRequested,
    TransferRequested,
)
from console.ui.messages import NotesEdited
from console.ui.model import LiveCall
from console.ui.notes import CallNotes
from console.widgets.notes_form import NotesForm
from console.widgets.script_panel import ScriptPanel

_TALKING = (
    ScriptStep.GREET,
    ScriptStep.ASK_NAME,
    ScriptStep.LISTEN,
    ScriptStep.CLASSIFY,
    ScriptStep.RECORD,
    ScriptStep.RESOLVE,
    ScriptStep.ESCALATE,
)


FACT_FIELD_IDS = {"category": "category", "follow_up": "follow_up_due"}
"""A fact the after-call rule names (the record's name) → the notes form's field for it."""


class CallPhase(enum.Enum):
    ON_CALL = "on_call"
    AFTER_CALL = "after_call"


class CallScreen(SeatScreen_):
    """One call from the agent's answer to the end of after-call work."""

    # Priority: the notes form has the focus, and its widgets bind function keys of their
    # own (TextArea: F6 selects the line, hidden), which hid F6 from the footer and took it
    # from the agent as soon as they typed the call's content (issue 11, point 11).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "next_step", "call.next", priority=True),
        Binding("f3", "survey", "call.survey", priority=True),
        Binding("f4", "transfer", "call.transfer", priority=True),
        Binding("f6", "hold", "call.hold", priority=True),
        Binding("f8", "hang_up", "call.hangup", priority=True),
        Binding("f9", "escalate", "call.escalate", priority=True),
        Binding("f10", "done", "acw.done", priority=True),
    ]

    def __init__(self, call_id: str, notes: CallNotes | None = None) -> None:
        super().__init__()
        self.call_id = call_id
        self.phase = CallPhase.ON_CALL
        self.script = CallScript()
        self._initial_notes = notes
        self.on_hold = False
        """The flow says the caller hears the hold prompt (StepChanged HOLD after we took it)."""

    @property
    def live(self) -> bool:
        """True while the call is up (a second call then waits instead of ringing over us)."""
        return self.phase is CallPhase.ON_CALL

    def compose(self) -> ComposeResult:
        yield Header()
        # The caller's number and SIP display name are the caller's to choose: never markup.
        yield Label("", id="call-head", markup=False)
        with Horizontal(id="call-body"):
            with Vertical(id="call-left"):
                yield Label(self.t("call.script"), classes="section")
                yield ScriptPanel(id="script")
                yield Static("", id="call-waiting", markup=False)
            with Vertical(id="call-right"):
                yield Label(self.t("call.notes"), classes="section")
                yield NotesForm(self.language, self._initial_notes, id="notes")
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        # The script asks the caller's name first: the agent types it without a click.
        self.query_one("#caller_name").focus()
        self.redraw()
        self.set_interval(self.seat.settings.tick_seconds, self._tick)

    def _tick(self) -> None:
        self.script.tick(self.seat.clock.monotonic())
        self.redraw()

    # ------------------------------------------------------------ drawing

    def greeting(self) -> str:
        agent = self.seat.agent
        return (
            ScriptStep.GREET.hint.format(
                centre=self.seat.settings.centre, agent_id=agent.agent_id if agent else ""
            )
            + ",请问有什么可以帮您?"
        )

    def redraw(self) -> None:
        if not self.drawable:
            return
        call = self.seat.model.calls.get(self.call_id)
        title = self.t("call.title") if self.live else self.t("acw.title")
        head = f"{title}  {call.caller if call else self.call_id}"
        if call is not None and call.caller_name:
            head += f" ({call.caller_name})"
        if call is not None and call.talking_since is not None:
            until = call.ended_at if call.ended_at is not None else self.seat.clock.now()
            seconds = max(0, int((until - call.talking_since).total_seconds()))
            head += f"   {self.t('call.timer')} {seconds // 60:02d}:{seconds % 60:02d}"
        if self.on_hold and self.live:
            head += f"   [{self.t('call.on_hold')}]"
        if call is not None and call.scored:
            labels = {s.value: s.label(self.language) for s in Satisfaction}
            score = labels.get(str(call.score), self.t("call.no_rating"))
            head += f"   {self.t('call.score')}: {score}"
        self.query_one("#call-head", Label).update(head)
        self.query_one(ScriptPanel).show(
            self.script, self.language, self.greeting(), self.seat.settings.greeting_by_tts
        )
        others = [c for c in self.seat.model.ringing() if c.call_id != self.call_id]
        waiting = ""
        if others:
            waiting = f"{self.t('seat.waiting')}: " + ", ".join(c.caller for c in others)
        self.query_one("#call-waiting", Static).update(waiting)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "done":
            return not self.live
        if action in ("transfer", "hold"):
            # The flow serves these only in some steps of the agent's call; the footer shows
            # the key wherever it does, dimmed where it does not (the survey, say).
            call = self.seat.model.calls.get(self.call_id)
            if not self.live:
                return False
            return True if call is None or call.agent_may_act else None
        if action in ("next_step", "survey", "hang_up", "escalate"):
            return self.live
        return True

    # ------------------------------------------------------------ the script

    def _fire(self, event: ScriptEvent) -> bool:
        try:
            self.script.fire(event, self.seat.clock.monotonic())
        except TransitionError:
            return False
        return True

    def _to_survey(self) -> None:
        if self.script.step is ScriptStep.GREET:
            self._fire(ScriptEvent.NEXT)
        if self.script.step in _TALKING:
            self._fire(ScriptEvent.WRAP_UP)

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        if event is None or call is None or call.call_id != self.call_id:
            self.redraw()
            return
        if isinstance(event, StepChanged):
            self.on_hold = event.step is CallStep.HOLD
            self.refresh_bindings()  # what the flow allows follows its step
            if event.step is CallStep.SURVEY:
                self._to_survey()
            elif event.step is CallStep.WAIT_HANGUP:
                self._to_survey()
                self._fire(ScriptEvent.SURVEY_DONE)
        elif isinstance(event, SurveyScored):
            self._to_survey()
            self._fire(ScriptEvent.SURVEY_DONE)
        elif isinstance(event, CallFinished):
            self._ended(event)
        self.redraw()

    def _ended(self, event: CallFinished) -> None:
        if self.script.step is ScriptStep.WAIT_HANGUP and event.reason == "local_hangup":
            self._fire(ScriptEvent.TIMEOUT)
        elif event.reason == "transferred" and self.script.step in _TALKING:
            self._fire(ScriptEvent.TRANSFER)
        else:
            self._fire(ScriptEvent.CALLER_HUNG_UP)
        self.phase = CallPhase.AFTER_CALL
        self.take_notes()
        self.refresh_bindings()
        self.seat.notify(self.t("call.ended"), title=self.t("acw.title"))

    # ------------------------------------------------------------ notes

    def on_notes_form_typed(self, message: NotesForm.Typed) -> None:
        message.stop()
        self.post_message(NotesEdited(self.call_id, message.notes, message.version))

    def on_notes_form_edited(self, message: NotesForm.Edited) -> None:
        message.stop()
        self.post_message(NotesSaveRequested(self.call_id, message.notes, message.version))
        message.form.mark_saved(message.version)

    def take_notes(self) -> tuple[CallNotes, str]:
        """The notes as typed now, asked to be saved (hang-up, done, close); returns them
        with the Call-ID."""
        form = self.query_one(NotesForm)
        notes = form.take()
        self.post_message(NotesSaveRequested(self.call_id, notes, form.version))
        return notes, self.call_id

    # ------------------------------------------------------------ keys

    def action_next_step(self) -> None:
        if self.script.step in _TALKING and self.script.step is not ScriptStep.ESCALATE:
            if self.script.step is ScriptStep.RESOLVE:
                self.action_survey()
                return
            self._fire(ScriptEvent.NEXT)
        elif self.script.step is ScriptStep.ESCALATE:
            self._fire(ScriptEvent.NEXT)
        self.redraw()

    def action_survey(self) -> None:
        self._to_survey()
        self.post_message(SurveyRequested(self.call_id))
        self.redraw()

    def action_escalate(self) -> None:
        """An urgent event: the script marks it, and an event report goes to the supervisor."""
        self._fire(ScriptEvent.ESCALATE)
        self.redraw()
        notes, call_id = self.take_notes()
        call = self.seat.model.calls.get(call_id)
        draft = " ".join(x for x in (notes.caller_name, notes.address, notes.content) if x)
        self.app.push_screen(
            EventReportScreen(call.caller if call else call_id, draft, self._file_event)
        )

    def _file_event(self, summary: str) -> None:
        self.post_message(EventReportFiled(self.call_id, summary))

    def action_transfer(self) -> None:
        self.post_message(TransferRequested(self.call_id))

    def action_hold(self) -> None:
        """F6 toggles: hold when talking, take back when on hold."""
        self.post_message(HoldToggled(self.call_id, hold=not self.on_hold))

    def action_hang_up(self) -> None:
        self.app.push_screen(
            ConfirmScreen(
                self.t("call.hangup_confirm"),
                self._hang_up_confirmed,
            )
        )

    def _hang_up_confirmed(self) -> None:
        self.post_message(HangUpRequested(self.call_id))

    def action_done(self) -> None:
        """F10: finish after-call work, once the notes can close the call. Refused (one line
        in the seat's language, the focus on the field to fix, nothing saved or posted)
        without a category or with a due time that does not read."""
        notes = self.query_one(NotesForm).notes
        try:
            wrap_up.check_finished(notes.category, notes.follow_up_due,
                                   self.seat.settings.timezone)
        except WrapUpError as exc:
            self.seat.report(exc)
            self.query_one(f"#{FACT_FIELD_IDS.get(str(exc.values.get('fact')), 'category')}"
                           ).focus()
            return
        notes, call_id = self.take_notes()
        self.post_message(AfterCallDone(call_id, notes))
