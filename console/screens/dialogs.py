"""Small dialogs: confirm (hang up before the caller), away with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label

from console.screens.base import SeatModal
from console.ui.intents import AwayRequested


class ConfirmScreen(SeatModal):
    """A yes/no question; `on_yes` runs only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "no", "common.cancel")]

    def __init__(self, question: str, on_yes: Callable[[], None]) -> None:
        super().__init__()
        self.question = question
        self.on_yes = on_yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm"):
            yield Label(self.question, id="confirm-question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.t("common.ok"), id="yes", variant="error")
                yield Button(self.t("common.cancel"), id="no", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()
        if event.button.id == "yes":
            self.on_yes()

    def action_no(self) -> None:
        self.dismiss()


class AwayScreen(SeatModal):
    """Away (示忙) needs a reason; the 15-minute limit is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def compose(self) -> ComposeResult:
        limit = int(self.seat.settings.away_limit.total_seconds() // 60)
        with Vertical(classes="dialog", id="away"):
            yield Label(
                f"{self.t('away.title')} ({self.t('away.limit')} {limit} min)",
                classes="dialog-title",
            )
            yield Label(self.t("away.reason"))
            yield Input(id="away-reason", max_length=200)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#away-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.seat.notify(
                self.t("away.need_reason"), title=self.t("away.title"), severity="error"
            )
            return
        self.post_message(AwayRequested(reason))  # the app closes this once away

    def action_cancel(self) -> None:
        self.dismiss()
