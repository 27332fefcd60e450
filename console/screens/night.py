"""Night mode switch: forward to the gate post early, or stay on after hours, with a reason."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label

from console.domain.night import OverrideKind
from console.screens.base import SeatModal
from console.ui.intents import NightSwitchRequested
from console.ui.night_words import decision_text


class NightSwitchScreen(SeatModal):
    """Shows the current decision; each switch is logged in the record's audit log."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def compose(self) -> ComposeResult:
        night = self.seat.night
        assert night is not None
        decision = night.decide(self.seat.now())
        with Vertical(classes="dialog", id="night"):
            yield Label(self.t("night.title"), classes="dialog-title")
            mode = self.t("mode.night") if decision.night else self.t("mode.day")
            # The reason may be an agent's typed override reason: never markup.
            yield Label(f"{mode}: {decision_text(decision, self.language)}", id="night-now",
                        markup=False)
            yield Label(self.t("night.reason"))
            yield Input(id="night-reason", max_length=200)
            with Horizontal(classes="buttons"):
                if decision.shift.staffed:
                    yield Button(self.t("night.early"), id="early", variant="warning")
                else:
                    yield Button(self.t("night.stay"), id="stay", variant="primary")
                if decision.override is not None:
                    yield Button(self.t("night.clear"), id="clear")
                yield Button(self.t("common.cancel"), id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#night-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter after the reason: the switch this dialog offers (early night by day, stay
        on at night), as if its button was pressed."""
        event.stop()
        for button in self.query(Button).results(Button):
            if button.id in ("early", "stay"):
                button.press()
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss()
            return
        reason = self.query_one("#night-reason", Input).value
        kind = {"early": OverrideKind.EARLY_NIGHT, "stay": OverrideKind.STAY_ON}.get(
            event.button.id or ""
        )
        self.post_message(NightSwitchRequested(kind, reason))  # the app closes this on success

    def action_cancel(self) -> None:
        self.dismiss()
