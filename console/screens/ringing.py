"""The ringing banner: caller, rings and seconds counting live, the limit; one key answers."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label

from console.callflow.events import AnsweredElsewhere, CallFinished, FlowEvent
from console.domain.outcome import CallEnd
from console.screens.base import SeatModal
from console.ui.intents import AnswerRequested
from console.ui.model import LiveCall
from console.widgets.ring_banner import RingBanner


class RingingScreen(SeatModal):
    """Over whatever screen is up; Enter, space or `a` answers (or takes over a held call)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "answer", "ring.answer", priority=True),
        Binding("space", "answer", "ring.answer", show=False),
        Binding("a", "answer", "ring.answer", show=False),
        Binding("escape", "hide", "key.hide"),
    ]

    def __init__(self, call_id: str) -> None:
        super().__init__()
        self.call_id = call_id

    def compose(self) -> ComposeResult:
        with Vertical(id="ringing", classes="dialog"):
            yield Label(self.t("ring.title"), classes="dialog-title", id="ringing-title")
            yield RingBanner(id="ring-banner")
            yield Label(f"Enter / Space: {self.t('ring.answer')}", id="ring-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.redraw()
        self.set_interval(self.seat.settings.tick_seconds, self.redraw)

    @property
    def call(self) -> LiveCall | None:
        return self.seat.model.calls.get(self.call_id)

    def elapsed(self) -> float:
        call = self.call
        if call is None:
            return 0.0
        return max(0.0, (self.seat.clock.now() - call.arrived_at).total_seconds())

    def redraw(self) -> None:
        call = self.call
        if call is None or not self.drawable:
            return
        title = "ring.held_title" if call.console_has_it else "ring.title"
        self.query_one("#ringing-title", Label).update(self.t(title))
        self.query_one(RingBanner).show(
            call, self.elapsed(), self.seat.settings.ring_limit, self.language,
            self.seat.clock.now(),
        )

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        if (isinstance(event, CallFinished | AnsweredElsewhere)
                and event.call_id == self.call_id):
            caller = call.caller if call else event.call_id
            # Another seat took it: this seat lost the claim, or the PBX cancelled its branch
            # saying so (RFC 3326 cause 200) before it claimed; the caller did not hang up.
            elsewhere = isinstance(event, AnsweredElsewhere) or (
                CallEnd.parse(event.reason) is CallEnd.COMPLETED_ELSEWHERE)
            self.notify(  # the caller from the INVITE, the holder from the record: no markup
                f"{caller}: {event.holder}" if isinstance(event, AnsweredElsewhere) else caller,
                title=self.t("ring.taken_elsewhere" if elsewhere else "ring.gone"),
                severity="information" if elsewhere else "warning",
                markup=False,
            )
            others = self.seat.model.ringing()
            if others:
                self.call_id = others[0].call_id
                self.redraw()
            else:
                self.dismiss()
                return
        self.redraw()

    def action_answer(self) -> None:
        self.post_message(AnswerRequested(self.call_id))

    def action_hide(self) -> None:
        self.dismiss()
