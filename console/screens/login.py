"""Login: agent ID (工号) and secret; failures counted and locked out as the duty record says.

The first screen of a cold start: it imports nothing of the duty record (SQLAlchemy) so it is
up while the start-up worker opens the record; a login waits for that worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Footer, Header, Input, Label

from console.screens.base import SeatScreen_
from console.ui.errors import UiError, title_of

if TYPE_CHECKING:
    from console.store import StoreError


class LoginScreen(SeatScreen_):
    """The first screen; on success the app shows the handover (if any) and the seat."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="login-box"):
            yield Label(self.t("login.title"), id="login-title")
            yield Label(self.t("login.agent_id"))
            yield Input(id="agent-id", max_length=64)
            yield Label(self.t("login.secret"))
            yield Input(id="secret", password=True, max_length=256)
            yield Button(self.t("login.submit"), id="login-submit", variant="primary")
            yield Label("", id="login-error", markup=False)  # may quote the typed ID
            yield Label(self.t("login.hint"), id="login-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#agent-id", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "agent-id":
            self.query_one("#secret", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "login-submit":
            self.submit()

    def submit(self) -> None:
        agent_id = self.query_one("#agent-id", Input).value.strip()
        secret_input = self.query_one("#secret", Input)
        secret = secret_input.value
        if not agent_id or not secret:
            self.show_error(self.t("login.empty"))
            return
        secret_input.value = ""
        seat = self.seat
        self.show_error("" if seat.ready.is_set() else seat.login_queued_note())

        def check() -> None:
            from console.store import StoreError  # the duty record: loaded by start-up

            try:
                seat.login_blocking(agent_id, secret)
            except (StoreError, UiError) as exc:  # refused, locked out, or still starting
                seat.call_from_thread(self.failed, exc)

        seat.run_in_thread(check, "login")

    def failed(self, exc: StoreError | UiError) -> None:
        self.show_error(f"{title_of(exc)}: {exc}")
        self.seat.notify(str(exc), title=title_of(exc), severity="error", markup=False)
        self.query_one("#secret", Input).focus()

    def show_error(self, message: str) -> None:
        self.query_one("#login-error", Label).update(message)
