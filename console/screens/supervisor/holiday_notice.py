"""The supervisor loads a year's holiday notice from the Integrity tab (载入假日通知).

The same steps as `duty-console holidays add FILE`, from `console.holidays.load`: "预览
Preview" reads and checks the file and shows the changes day by day (`--dry-run`), "写入
Write" writes the office's calendar with the same audit entry, by the logged-in supervisor. A
bad file is the command's one line in the dialog, and nothing is written. Reading and writing
run in a thread worker, never on the UI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from console.holidays.load import ADD_ACTION, AddFailed, AddPlan, plan_add, titled, write_add
from console.screens.base import SeatModal
from console.screens.keys import localize_bindings
from console.store import StoreError
from console.widgets.review.context import describe

if TYPE_CHECKING:
    from console.config import HolidaySettings
    from console.widgets.review.context import ReviewContext


log = logging.getLogger("console.ui.review")


class HolidayNoticeScreen(SeatModal):
    """A notice file's path (and a year, for an .ics feed), its preview, then the write."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "common.cancel")]

    def __init__(self, ctx: ReviewContext) -> None:
        super().__init__()
        localize_bindings(self, self.seat.language)
        self.ctx = ctx
        """The supervisor (who the audit entry names) and the duty record it goes into."""
        self.plan: AddPlan | None = None
        """The last preview, while the inputs still say what it was made from."""
        self.written: str | None = None
        """The audit entry's detail once the notice is written."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="holiday-notice"):
            yield Label(self.t("notice.title"), classes="dialog-title")
            yield Label(self.t("notice.file"))
            yield Input(id="hn-file", max_length=500, placeholder="holidays-2027.toml")
            yield Label(self.t("notice.year"))
            yield Input(id="hn-year", max_length=4, placeholder="2027")
            with VerticalScroll(id="hn-scroll"):
                yield Static("", id="hn-result", markup=False)  # quotes the file as typed
            with Horizontal(classes="buttons"):
                yield Button(self.t("notice.preview"), id="hn-preview", variant="primary")
                yield Button(self.t("notice.write"), id="hn-write", variant="success",
                             disabled=True)
                yield Button(self.t("common.cancel"), id="hn-cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hn-file", Input).focus()

    @property
    def showing(self) -> bool:
        """Still on the app's screen stack (a worker may finish after the dialog closed)."""
        return self in self.seat.screen_stack

    # ------------------------------------------------------------ inputs

    def show(self, message: str, error: bool = False) -> None:
        result = self.query_one("#hn-result", Static)
        result.update(message)
        result.set_class(error, "-error")

    def inputs(self) -> tuple[Path, int | None] | None:
        """The path and year typed; None (and the reason shown) if they cannot be used."""
        path = self.query_one("#hn-file", Input).value.strip()
        year = self.query_one("#hn-year", Input).value.strip()
        if not path:
            self.show(self.t("notice.need_file"), error=True)
            return None
        if year and not (len(year) == 4 and year.isdigit()):
            self.show(self.t("notice.bad_year"), error=True)
            return None
        return Path(path).expanduser(), int(year) if year else None

    def settings(self) -> HolidaySettings | None:
        holidays = self.seat.settings.holidays
        if holidays is None:
            self.show(self.t("notice.no_config"), error=True)
        return holidays

    @on(Input.Changed)
    def _changed(self) -> None:
        """What was previewed is no longer what the inputs say: preview again to write."""
        self.plan = None
        self.query_one("#hn-write", Button).disabled = True

    def busy(self, on: bool) -> None:
        self.query_one("#hn-preview", Button).disabled = on
        if on:
            self.query_one("#hn-write", Button).disabled = True

    # ------------------------------------------------------------ preview

    @on(Input.Submitted)
    @on(Button.Pressed, "#hn-preview")
    def preview(self) -> None:
        typed = self.inputs()
        holidays = self.settings()
        if typed is None or holidays is None:
            return
        self.busy(True)
        self.show(self.t("notice.checking"))
        self.run_preview(holidays, *typed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="holiday-notice",
          name="holiday-preview")
    def run_preview(self, holidays: HolidaySettings, path: Path, year: int | None) -> None:
        try:
            plan = plan_add(holidays, path, year, self.seat.settings.config_source)
        except AddFailed as exc:
            self.seat.call_from_thread(self.failed, exc)
            return
        self.seat.call_from_thread(self.previewed, plan)

    def previewed(self, plan: AddPlan) -> None:
        if not self.showing:
            return
        self.busy(False)
        self.plan = plan
        lines = [
            str(plan.file),
            self.t("notice.summary").format(
                year=plan.year, holidays=len(plan.notice.holidays),
                makeup=len(plan.notice.makeup_days),
            ),
            self.t("notice.changes").format(n=len(plan.changes)),
        ]
        lines += [f"  {change.describe(self.language)}" for change in plan.changes]
        if not plan.changes:
            lines.append("  " + self.t("notice.no_change"))
        lines.append(self.t("notice.write_to").format(target=plan.target))
        self.show("\n".join(lines))
        self.query_one("#hn-write", Button).disabled = False

    def failed(self, exc: Exception) -> None:
        """The command's one line, in the seat's language (the English detail of a part
        that speaks only English, the duty record's say, goes to the log)."""
        log.warning("holiday notice: %s", titled(exc))
        if not self.showing:
            return
        self.busy(False)
        self.plan = None
        if isinstance(exc, AddFailed):
            line = exc.words(self.language)
        else:
            title, line = describe(exc, self.language)
            line = f"{title}: {line}"
        self.show(line, error=True)

    # ------------------------------------------------------------ write

    @on(Button.Pressed, "#hn-write")
    def write(self) -> None:
        plan, holidays = self.plan, self.settings()
        if plan is None or holidays is None:
            return
        self.busy(True)
        self.show(self.t("notice.writing"))
        self.run_write(holidays, plan, self.query_one("#hn-year", Input).value.strip())

    @work(thread=True, exclusive=True, exit_on_error=False, group="holiday-notice",
          name="holiday-write")
    def run_write(self, holidays: HolidaySettings, previewed: AddPlan, year: str) -> None:
        ctx = self.ctx
        try:
            # Read again: what is written is what was previewed, or nothing.
            plan = plan_add(holidays, previewed.file, int(year) if year else None,
                            self.seat.settings.config_source)
            if plan.text != previewed.text:
                raise AddFailed("notice.stale")
            detail = write_add(plan, ctx.record, ctx.reviewer)
        except AddFailed as exc:
            self.seat.call_from_thread(self.failed, exc)
            return
        except StoreError as exc:  # the audit's own failure is an AddFailed; this is not
            self.seat.call_from_thread(self.failed, exc)
            return
        self.seat.call_from_thread(self.done, plan, detail)

    def done(self, plan: AddPlan, detail: str) -> None:
        self.written = detail
        message = self.t("notice.written").format(
            target=plan.target, action=ADD_ACTION, who=self.ctx.reviewer
        )
        self.seat.notify(message, title=self.t("notice.load"), markup=False)  # a typed path
        if not self.showing:
            return
        self.busy(False)
        self.plan = None
        self.show(message)

    # ------------------------------------------------------------ leave

    @on(Button.Pressed, "#hn-cancel")
    def action_cancel(self) -> None:
        self.dismiss()
