"""The agent's follow-ups (首问负责, duty rules §3.6): the first agent owns a promise until
it is closed. F on the seat lists the agent's open follow-ups, overdue ones marked; Enter on
one closes it with what was done (done), or Delete cancels it with a reason. Both need a note:
the record says how each promise ended. Closed follow-ups stay in the duty record.

C calls the caller back (回访, duty rules §2: the only outgoing call the hotline allows): to
the number of the call the follow-up was filed from, never a typed one; H hangs it up. The
callback is a call record of its own, linked to the follow-up; a callback that reached the
caller closes the follow-up, one that did not (no answer, busy, failed) leaves it open. A
follow-up with a number to call back is not closed by hand except by a supervisor
(`console.domain.callback`); every refusal is one line on the seat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from console.callflow.callback import CallbackError, CallbackProgress, CallbackResult
from console.domain.callback import CallbackRefused
from console.domain.labels import CALL_OUTCOME_LABELS, Language
from console.domain.reasons import reason_text
from console.screens.base import SeatModal, SeatScreen_
from console.store import CallOutcome, FollowUp, FollowUpStatus
from console.ui.intents import FollowUpCloseRequested, FollowUpsChanged
from console.widgets.plain_table import PlainTable


class FollowUpsScreen(SeatScreen_):
    """The logged-in agent's open follow-ups, soonest due first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "close_done", "fu.done"),
        Binding("delete", "close_cancelled", "fu.cancel"),
        Binding("c", "callback", "fu.callback"),
        Binding("h", "hang_up_callback", "fu.hangup"),
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
            tally = seat.store.callback_tally([f.key for f in items])
            seat.call_from_thread(self.show, items, tally)

        seat.run_in_thread(load, "follow-ups")

    def show(
        self, items: list[FollowUp], tally: dict[str, tuple[int, CallOutcome | None]] | None = None
    ) -> None:
        if not self.ready:
            return
        tally = tally or {}
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
                self._tally_text(tally.get(f.key)),
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
        self.post_message(FollowUpCloseRequested(item.key, status.value, note))  # the app writes

    def on_follow_ups_changed(self, message: FollowUpsChanged) -> None:
        self.action_reload()  # a follow-up was closed: read the list again

    # ------------------------------------------------------------ callbacks (回访)

    def action_callback(self) -> None:
        """Call back the selected follow-up's caller, in a worker (it blocks until it ends)."""
        item = self.selected()
        seat = self.seat
        title = self.t("fu.cb_title")
        if item is None:
            seat.notify(self.t("fu.none"), title=title, severity="warning")
            return
        dialler = seat.callbacks
        if dialler is None:
            seat.notify("this seat has no line: no callback can be placed", title=title,
                        severity="error", markup=False)
            return
        agent_id = seat.agent.agent_id if seat.agent else None

        def place() -> None:
            try:
                result = dialler.place(
                    item.key, agent_id, bridge=seat.callback_bridge,
                    progress=lambda p: seat.call_from_thread(self._callback_progress, p),
                )
            except (CallbackRefused, CallbackError) as exc:
                seat.call_from_thread(seat.callback_changed, False)  # if it had gone out
                seat.call_from_thread(seat.notify, str(exc), title=title, severity="error",
                                      markup=False)
                return
            seat.call_from_thread(self._callback_done, result)

        seat.run_in_thread(place, "callback")

    def action_hang_up_callback(self) -> None:
        dialler = self.seat.callbacks
        if dialler is None or dialler.current is None:
            self.seat.notify(self.t("fu.cb_none"), title=self.t("fu.cb_title"),
                             severity="warning")
            return
        self.seat.run_in_thread(dialler.hang_up, "callback hang-up")

    def _outcome_text(self, progress: CallbackProgress | CallbackResult) -> str:
        return self._outcome_label(progress.outcome)

    def _outcome_label(self, outcome: CallOutcome | None) -> str:
        if outcome is None:
            return ""
        zh, en = CALL_OUTCOME_LABELS[outcome]
        return zh if self.language is Language.ZH else en

    def _tally_text(self, tally: tuple[int, CallOutcome | None] | None) -> str:
        """`2× 回访占线`: the callbacks so far and how the latest ended ("" if none yet)."""
        if tally is None:
            return ""
        count, last = tally
        return f"{count}× {self._outcome_label(last)}".strip()

    def _callback_progress(self, progress: CallbackProgress) -> None:
        if progress.stage == "dialling":
            self.seat.callback_changed(True)  # on call from the INVITE on
        if not self.ready or progress.stage == "ended":
            return
        key = "fu.cb_dialling" if progress.stage == "dialling" else "fu.cb_connected"
        self._status(self.t(key).format(number=progress.number))

    def _status(self, message: str) -> None:
        """The status line, if the screen is still up (the callback may outlive it)."""
        try:
            self.query_one("#fu-status", Static).update(message)
        except NoMatches:
            pass

    def _callback_done(self, result: CallbackResult) -> None:
        self.seat.callback_changed(False)  # after-call work, as after a call
        if result.closed:
            message = self.t("fu.cb_reached").format(number=result.number)
        else:
            message = self.t("fu.cb_open").format(
                number=result.number, outcome=self._outcome_text(result), detail=result.detail)
        self.seat.notify(message, title=self.t("fu.cb_title"),
                         severity="information" if result.closed else "warning", markup=False)
        if self.ready and self.is_attached:
            self._status(message)
            self.action_reload()

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

