"""The handovers tab: each shift's handover, accepted by whom and when, and the
supervisor's sign-off (a signature on the handover, never an edit)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Label, Static

from console.store import Handover
from console.widgets.plain_table import PlainTable
from console.widgets.review.context import ReviewInputError
from console.widgets.review.labels import local
from console.widgets.review.pane import ReviewPane


class HandoverPane(ReviewPane):
    """Each shift's handover, accepted by whom and when; the supervisor's sign-off."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.handovers: list[Handover] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Button(self.t("rv.refresh"), id="h-refresh")
            yield Button(self.t("rv.h.sign"), id="h-sign", variant="success")
        yield Label("", classes="pane-status", markup=False)
        table: PlainTable = PlainTable(id="h-table", cursor_type="row")
        yield table
        yield Static("", id="h-notes", markup=False)  # the agents' handover notes as typed

    def on_mount(self) -> None:
        self.query_one("#h-table", DataTable).add_columns(
            *(self.t(f"rv.col.{c}") for c in (
                "written", "outgoing", "incoming", "accepted", "signed_by", "signed_at",
                "open_items",
            ))
        )
        self.reload()

    @on(Button.Pressed, "#h-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        since = self.seat.clock.now() - dt.timedelta(days=14)
        self.work("handovers", lambda: ctx.record.handovers(since), self.show)

    def show(self, handovers: list[Handover]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.handovers = handovers
        table = self.query_one("#h-table", DataTable)
        table.clear()
        for h in reversed(handovers):
            table.add_row(
                local(h.written_at, ctx.tz, "%m-%d %H:%M"),
                h.outgoing,
                h.accepted_by or self.t("rv.h.not_accepted"),
                local(h.accepted_at, ctx.tz, "%m-%d %H:%M"),
                h.signed_by or self.t("rv.h.unsigned"),
                local(h.signed_at, ctx.tz, "%m-%d %H:%M"),
                h.open_items.replace("\n", " ")[:30],
                key=h.key,
            )
        unsigned = sum(1 for h in handovers if h.signed_by is None)
        self.status(self.t("rv.h.count").format(n=len(handovers), unsigned=unsigned))

    @on(DataTable.RowHighlighted, "#h-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        found = [h for h in self.handovers or [] if h.key == key]
        if found:
            h = found[0]
            self.query_one("#h-notes", Static).update(
                self.t("rv.h.notes").format(notes=h.notes, open=h.open_items)
            )

    @on(Button.Pressed, "#h-sign")
    def sign(self) -> None:
        ctx = self.context()
        table = self.query_one("#h-table", DataTable)
        if ctx is None:
            return
        if table.row_count == 0:
            self.failed(ReviewInputError("rv.h.none"))
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        chosen = [h for h in self.handovers or [] if h.key == key]
        if chosen and chosen[0].signed_by is not None:
            self.failed(ReviewInputError("rv.h.already", who=chosen[0].signed_by))
            return
        self.work("handover-sign", lambda: ctx.record.sign_handover(key, ctx.reviewer), self.signed)

    def signed(self, handover: Handover) -> None:
        self.seat.notify(
            f"{handover.outgoing} → {handover.accepted_by or '—'}",
            title=self.t("rv.h.signed"),
            markup=False,
        )
        self.reload()


