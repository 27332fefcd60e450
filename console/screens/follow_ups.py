"""The agent's follow-ups (首问负责, duty rules §3.6): the first agent owns a promise until
it is closed. F on the seat lists the agent's open follow-ups, overdue ones marked; Enter on
one closes it with what was done (done), or Delete cancels it with a reason. Both need a note:
the record says how each promise ended. Closed follow-ups stay in the duty record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from console.domain.reasons import reason_text
from console.screens.base import SeatModal, SeatScreen_
from console.store import FollowUp, FollowUpStatus
from console.widgets.plain_table import PlainTable


class FollowUpsScreen(SeatScreen_):
    """The logged-in agent's open follow-ups, soonest due first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "close_done", "fu.done"),
        Binding("delete", "close_cancelled", "fu.cancel"),
        Binding("r", "reload", "rv.refresh"),
        Binding("escape", "back", "key.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[FollowUp] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(self.t("fu.title"), classes="section")
        yield Static("", id="fu-status")
        yield PlainTable(id="fu-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.query_one("#fu-table", DataTable).add_columns(*self.t("fu.columns").split("|"))
        self.action_reload()

    def action_reload(self) -> None:
        seat = self.seat
        owner = seat.agent.agent_id if seat.agent else ""

        def load() -> None:
            items = seat.store.follow_ups(owner=owner, status=FollowUpStatus.OPEN)
            seat.call_from_thread(self.show, items)

        seat.run_in_thread(load, "follow-ups")

    def show(self, items: list[FollowUp]) -> None:
        if not self.ready:
            return
        self.items = sorted(items, key=lambda f: f.due_at)
        table = self.query_one("#fu-table", DataTable)
        table.clear()
        now = self.seat.clock.now()
        tz = self.seat.settings.timezone
        overdue = 0
        for f in self.items:
            late = f.due_at < now
            overdue += late
            table.add_row(
                f.due_at.astimezone(tz).strftime("%m-%d %H:%M"),
                self.t("fu.overdue") if late else "",
                reason_text(f.description, self.language)[:70],
                f.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
                key=f.key,
            )
        self.query_one("#fu-status", Static).update(
            self.t("fu.count").format(n=len(self.items), overdue=overdue)
        )

    def selected(self) -> FollowUp | None:
        table = self.query_one("#fu-table", DataTable)
        row = table.cursor_row
        return self.items[row] if self.items and 0 <= row < len(self.items) else None

    def _close(self, status: FollowUpStatus) -> None:
        item = self.selected()
        if item is None:
            self.seat.notify(self.t("fu.none"), title=self.t("fu.title"), severity="warning")
            return
        self.app.push_screen(CloseFollowUpScreen(item, status, self._save))

    def action_close_done(self) -> None:
        self._close(FollowUpStatus.DONE)

    def action_close_cancelled(self) -> None:
        self._close(FollowUpStatus.CANCELLED)

    @on(DataTable.RowSelected, "#fu-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_close_done()

    def _save(self, item: FollowUp, status: FollowUpStatus, note: str) -> None:
        seat = self.seat
        who = seat.agent.agent_id if seat.agent else ""

        def close() -> None:
            seat.store.close_follow_up(item.key, who, note, status)
            seat.call_from_thread(
                seat.notify, self.t("fu.closed"), title=self.t("fu.title")
            )
            seat.call_from_thread(self.action_reload)

        seat.run_in_thread(close, "close follow-up")

    def action_back(self) -> None:
        self.dismiss()


class CloseFollowUpScreen(SeatModal):
    """What was done (or why it is cancelled): required."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def __init__(
        self,
        item: FollowUp,
        status: FollowUpStatus,
        on_close: Callable[[FollowUp, FollowUpStatus, str], None],
    ) -> None:
        super().__init__()
        self.item = item
        self.status = status
        self.on_close = on_close

    def compose(self) -> ComposeResult:
        title = self.t("fu.done" if self.status is FollowUpStatus.DONE else "fu.cancel")
        with Vertical(classes="dialog", id="fu-close"):
            yield Label(  # the description as typed: never markup
                f"{title}: {reason_text(self.item.description, self.language)[:60]}",
                classes="dialog-title", markup=False,
            )
            yield Label(self.t("fu.note"))
            yield Input(id="fu-note", max_length=500)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fu-note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if not note:
            self.seat.notify(self.t("fu.need_note"), title=self.t("fu.title"), severity="error")
            return
        self.dismiss()
        self.on_close(self.item, self.status, note)

    def action_cancel(self) -> None:
        self.dismiss()

