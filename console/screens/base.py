"""What every seat screen shares: typed access to the app and its language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import ModalScreen, Screen

from console.callflow.events import FlowEvent
from console.domain.labels import Language
from console.screens.keys import localize_bindings
from console.ui.intents import SeatChanged
from console.ui.model import LiveCall
from console.ui.texts import text

if TYPE_CHECKING:
    from console.ui.view import SeatView


class SeatScreenMixin:
    """`seat` is the app with its real type; `t(key)` is a label in the seat's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        localize_bindings(cast(Any, self), self.seat.language)  # the footer's words

    ready: bool = False
    """Set first thing in `on_mount`: the children exist, so `redraw` may query them
    (`is_mounted` only turns true after `on_mount` returns)."""

    @property
    def drawable(self) -> bool:
        """`redraw` may query the children: mounted, and the app not shutting down (its
        screens lose their widgets before their last timers and messages are handled)."""
        return self.ready and self.seat.is_running

    @property
    def seat(self) -> SeatView:
        """The app as screens see it (`console.ui.view.SeatView`): state to read, services
        to run work in; everything else is an intent posted up."""
        return cast("SeatView", cast(Any, self).app)

    @property
    def language(self) -> Language:
        return self.seat.language

    def t(self, key: str) -> str:
        return text(key, self.seat.language)

    def on_seat_changed(self, message: SeatChanged) -> None:
        """The app says the seat changed (down, as a message): react, then redraw."""
        self.seat_changed(message.event, message.call)

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        """A screen that follows calls overrides this; the default redraws."""
        self.redraw()

    def redraw(self) -> None:
        """Draw from the seat model; screens that show live state override it."""


class SeatScreen_(SeatScreenMixin, Screen[None]):
    """Base of full screens."""


class SeatModal(SeatScreenMixin, ModalScreen[None]):
    """Base of modal screens (dialogs over the seat).

    Each composes a `Footer` of its own at the screen's bottom: a modal's background lets
    the screen under it show through, and with it that screen's footer, whose keys do not
    work here (F5 交接班 under the call detail, where F5 plays the recording; issue 11)."""
