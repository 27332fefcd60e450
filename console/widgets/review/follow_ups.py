"""The follow-ups tab: everyone's follow-ups, overdue flagged (duty rules §3.6, 首问负责: a
follow-up stays with its first agent until closed; the supervisor may close it, e.g. when the
owner left). The only write is `close_follow_up`, which the record audits with the
supervisor's ID."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from console.domain.labels import Language
from console.domain.reasons import reason_text
from console.store import AuditEntry, DutyRecord, FollowUp, FollowUpStatus
from console.widgets.plain_table import PlainTable
from console.widgets.review.context import Key, ReviewContext, ReviewInputError
from console.widgets.review.labels import local
from console.widgets.review.pane import ReviewPane

FOLLOW_UP_FILTERS = [
    ("rv.fu.open", "open"),
    ("rv.fu.overdue_filter", "overdue"),
    ("rv.fu.all", "all"),
]
"""(text key, filter) of the list's choices."""

CLOSE_AS = [
    ("rv.fu.done", FollowUpStatus.DONE.value),
    ("rv.fu.cancel", FollowUpStatus.CANCELLED.value),
]

STATUS_LABELS = {
    FollowUpStatus.OPEN: "rv.fu.open",
    FollowUpStatus.DONE: "rv.fu.done",
    FollowUpStatus.CANCELLED: "rv.fu.cancelled",
}
"""Follow-up status → its text key."""


def select_follow_ups(record: DutyRecord, which: str, now: dt.datetime) -> list[FollowUp]:
    """open: every open one; overdue: open and past due at `now`; all: any status. By due."""
    if which == "all":
        return record.follow_ups(status=None)
    open_ones = record.follow_ups(status=FollowUpStatus.OPEN)
    if which == "overdue":
        return [f for f in open_ones if f.due_at < now]
    if which == "open":
        return open_ones
    raise ReviewInputError("rv.fu.bad_filter", value=which)


def is_overdue(f: FollowUp, now: dt.datetime) -> bool:
    return f.status is FollowUpStatus.OPEN and f.due_at < now


UNOWNED_DAYS = 7
UNOWNED_SHOWN = 5
"""The newest unowned follow-ups listed by text (the count says how many in all)."""


def unowned_reason(detail: str, language: Language) -> str:
    """The follow-up an `alarm:follow_up_unowned` entry names, in the seat's language.

    The adapter writes "call <key>: <reason> (no follow_ups.default_owner)"; the reason is
    the flow's stable text, translated by the domain's table."""
    _, _, rest = detail.partition(": ")
    reason = rest.removesuffix(" (no follow_ups.default_owner)") or detail
    return reason_text(reason, language)


class FollowUpPane(ReviewPane):
    """All agents' follow-ups (首问负责), overdue flagged; the supervisor may close one."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[FollowUp] | None = None
        self.names: dict[str, str] = {}
        self.loaded_at: dt.datetime | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="review-filters"):
            yield Select(
                [(self.t(k), v) for k, v in FOLLOW_UP_FILTERS], value="open",
                allow_blank=False, id="fu-filter",
            )
            yield Button(self.t("rv.refresh"), id="fu-refresh")
        yield Label("", classes="pane-status", markup=False)
        # Follow-ups of calls no agent served, with no default owner configured: the flow
        # could only raise an alarm, so they are listed here or nobody sees them (issue 11).
        unowned = Static("", id="fu-unowned", markup=False)
        unowned.display = False  # shown once there is any
        yield unowned
        table: PlainTable = PlainTable(id="fu-table", cursor_type="row")
        yield table
        yield Static("", id="fu-detail", markup=False)  # description and closing note
        with Horizontal(classes="review-filters"):
            yield Input(placeholder=self.t("rv.fu.note"), id="fu-note", max_length=500)
            yield Select(
                [(self.t(k), v) for k, v in CLOSE_AS], value=FollowUpStatus.DONE.value,
                allow_blank=False, id="fu-close-as",
            )
            yield Button(self.t("rv.fu.close"), id="fu-close", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#fu-table", DataTable).add_columns(
            self.t("rv.fu.col.due"), self.t("rv.fu.col.owner"), self.t("rv.a.col.name"),
            self.t("rv.q.col.state"), self.t("rv.fu.col.what"), self.t("rv.fu.col.created"),
            self.t("rv.fu.col.closed"), self.t("rv.fu.col.note"),
        )
        self.reload()

    def on_show(self) -> None:
        """Shown again (tab chosen): what was closed or became overdue meanwhile."""
        if self.items is not None:
            self.reload()

    @on(Select.Changed, "#fu-filter")
    @on(Button.Pressed, "#fu-refresh")
    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        which = str(self.query_one("#fu-filter", Select).value)
        now = self.seat.clock.now()

        def load() -> tuple[list[FollowUp], dict[str, str], dt.datetime]:
            names = {a.agent_id: a.name for a in ctx.record.agents()}
            return select_follow_ups(ctx.record, which, now), names, now

        self.work("follow-ups", load, self.show)
        since = now - dt.timedelta(days=UNOWNED_DAYS)
        self.work("follow-ups-unowned",
                  lambda: ctx.record.audit_entries("alarm:follow_up_unowned", since),
                  self.show_unowned)

    def show_unowned(self, entries: list[AuditEntry]) -> None:
        ctx = self.context()
        static = self.query_one("#fu-unowned", Static)
        static.display = bool(entries)
        if ctx is None or not entries:
            return
        lines = [self.t("rv.fu.unowned_list").format(n=len(entries))]
        for entry in entries[-UNOWNED_SHOWN:]:
            lines.append(f"· {local(entry.at, ctx.tz, '%m-%d %H:%M')} "
                         f"{unowned_reason(entry.detail, self.seat.language)}")
        static.update("\n".join(lines))
        static.set_class(True, "-alarm")

    def show(self, loaded: tuple[list[FollowUp], dict[str, str], dt.datetime]) -> None:
        ctx = self.context()
        if ctx is None:
            return
        self.items, self.names, self.loaded_at = loaded
        now = self.loaded_at
        table = self.query_one("#fu-table", DataTable)
        table.clear()
        for f in self.items:
            state = self.t("rv.fu.overdue") if is_overdue(f, now) else self.t(
                STATUS_LABELS[f.status]
            )
            table.add_row(
                local(f.due_at, ctx.tz, "%m-%d %H:%M"),
                f.owner,
                self.names.get(f.owner, "?"),
                state,
                reason_text(f.description, self.seat.language).replace("\n", " ")[:40],
                local(f.created_at, ctx.tz, "%m-%d %H:%M"),
                local(f.closed_at, ctx.tz, "%m-%d %H:%M"),
                (f.closing_note or "").replace("\n", " ")[:30],
                key=f.key,
            )
        overdue = sum(1 for f in self.items if is_overdue(f, now))
        self.status(self.t("rv.fu.count").format(n=len(self.items), overdue=overdue))
        if not self.items:
            self.query_one("#fu-detail", Static).update("")

    def selected(self) -> FollowUp | None:
        table = self.query_one("#fu-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        found = [f for f in self.items or [] if f.key == key]
        return found[0] if found else None

    @on(DataTable.RowHighlighted, "#fu-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        ctx = self.context()
        found = [f for f in self.items or [] if f.key == event.row_key.value]
        if ctx is None or not found:
            return
        f = found[0]
        call = self.t("rv.fu.call").format(key=f.call_key) if f.call_key else ""
        self.query_one("#fu-detail", Static).update(
            self.t("rv.fu.detail").format(
                owner=f.owner, name=self.names.get(f.owner, "?"),
                due=local(f.due_at, ctx.tz, "%Y-%m-%d %H:%M"), call=call,
                what=reason_text(f.description, self.seat.language),
            )
            + (self.t("rv.fu.closing").format(note=f.closing_note) if f.closing_note else "")
        )

    @on(Button.Pressed, "#fu-close")
    @on(Input.Submitted, "#fu-note")
    def close_selected(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        try:
            key, note, status = self.closing(ctx)
        except ReviewInputError as exc:
            self.failed(exc)  # the typed note stays in its box
            return
        self.work(
            "follow-up-close",
            lambda: ctx.record.close_follow_up(key, ctx.reviewer, note, status),
            self.closed,
        )

    def closing(self, ctx: ReviewContext) -> tuple[str, str, FollowUpStatus]:
        """What to close and how; `ReviewInputError` when it cannot be closed from here."""
        chosen = self.selected()
        if chosen is None:
            raise ReviewInputError("rv.fu.none")
        if chosen.status is not FollowUpStatus.OPEN:
            raise ReviewInputError(
                "rv.fu.already", short=chosen.key[:8], state=Key(STATUS_LABELS[chosen.status])
            )
        note = self.query_one("#fu-note", Input).value.strip()
        if not note:
            raise ReviewInputError("rv.fu.need_note")
        status = FollowUpStatus(str(self.query_one("#fu-close-as", Select).value))
        return chosen.key, note, status

    def closed(self, f: FollowUp) -> None:
        self.query_one("#fu-note", Input).value = ""
        self.seat.notify(
            f"{f.owner} · {f.description[:30]} → {self.t(STATUS_LABELS[f.status])}",
            title=self.t("rv.fu.closed"),
            markup=False,
        )
        self.reload()
