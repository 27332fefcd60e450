"""The supervisor's home: one tab per review task over the duty record, and above them the
holiday calendar's end when it is near or past (the Integrity tab loads a year's notice).

Shown instead of the seat when a supervisor logs in. If anyone else reaches it (a bug
elsewhere), it composes nothing but the refusal: the data is confidential (duty rules §6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.widgets import Footer, Header, Input, Label, TabbedContent, TabPane, Tabs

from console.domain.assessment import is_report_day
from console.screens.base import SeatScreen_
from console.screens.help import HELP_BINDINGS, HelpScreen
from console.screens.keys import localize_bindings
from console.screens.supervisor.commands import ScreenKeyCommands
from console.screens.supervisor.detail import CallDetailScreen
from console.screens.supervisor.holiday_notice import HolidayNoticeScreen
from console.ui.calendar import coverage_text
from console.ui.errors import UiError
from console.ui.intents import LogoutRequested
from console.widgets.review.attendance import AttendancePane
from console.widgets.review.call_log import CallLogPane
from console.widgets.review.context import describe, review_context
from console.widgets.review.events import EventReportPane
from console.widgets.review.export import ExportPane
from console.widgets.review.follow_ups import FollowUpPane
from console.widgets.review.handovers import HandoverPane
from console.widgets.review.integrity import IntegrityPane
from console.widgets.review.kpis import KpiPane
from console.widgets.review.morning import MorningPane
from console.widgets.review.quality import QualityPane
from console.widgets.team_board import TeamBoard, word

if TYPE_CHECKING:
    from console.ui.view import ReviewView


class SupervisorScreen(SeatScreen_):
    """Call log, KPIs, morning review, handovers, quality, integrity, export: a supervisor's."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "logout", "common.logout"),
        Binding("f2", "tab('tab-log')", "rv.tab.log"),
        Binding("f3", "tab('tab-kpis')", "rv.tab.kpis"),
        Binding("f4", "tab('tab-morning')", "rv.tab.morning"),
        Binding("f5", "tab('tab-handovers')", "rv.tab.handovers"),
        Binding("f6", "tab('tab-quality')", "rv.tab.quality"),
        Binding("f7", "tab('tab-integrity')", "rv.tab.integrity"),
        Binding("f8", "tab('tab-export')", "rv.tab.export"),
        Binding("f9", "search", "rv.search"),
        Binding("f10", "load_notice", "key.notice"),  # shown on the Integrity tab
        *HELP_BINDINGS,
    ]
    """Descriptions are text keys, put into the seat's language when the screen is built."""

    CSS_PATH = "review.tcss"

    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {
        ScreenKeyCommands
    }
    """The palette offers every key action above (and nothing of an agent's seat)."""

    DEFAULT_CSS = """
    SupervisorScreen .review-filters { height: auto; }
    SupervisorScreen .review-filters Input { width: 1fr; }
    SupervisorScreen .review-filters Select { width: 1fr; }
    SupervisorScreen .review-filters Button { min-width: 8; }
    SupervisorScreen #calendar-notice { padding: 0 1; width: 1fr; }
    SupervisorScreen #calendar-notice.-warning { color: $warning; text-style: bold; }
    SupervisorScreen #calendar-notice.-alarm { color: $error; text-style: bold; }
    """
    """The filter rows every tab shares, and the calendar notice above the tabs; each tab's
    own layout is in the `.tcss` beside its widget (console.widgets.review)."""

    NARROW = 100
    """Below this many columns the tab keys share one footer entry (else the footer is cut
    at 80×24 and F9, F1 and ^q, at its end, are not shown)."""

    def __init__(self) -> None:
        super().__init__()
        localize_bindings(self, self.language)
        self._wide_keys = self._bindings.key_to_bindings
        tabs = Binding.Group(self.t("rv.tabs"))
        self._narrow_keys = {
            key: [replace(b, group=tabs) if b.action.startswith("tab(") else b for b in found]
            for key, found in self._wide_keys.items()
        }
        self._narrow: bool | None = None
        self._team: TeamBoard | None = None
        """The board's tab, once the first board was heard."""

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < self.NARROW
        if narrow is not self._narrow:
            self._narrow = narrow
            self._bindings.key_to_bindings = self._narrow_keys if narrow else self._wide_keys
            self.refresh_bindings()

    def compose(self) -> ComposeResult:
        yield Header()
        try:
            ctx = review_context(cast("ReviewView", self.app))  # the review's own view
        except UiError as exc:
            title, words = describe(exc, self.language)
            yield Label(f"{title}: {words}", id="review-refused", markup=False)
            yield Footer()
            return
        self.sub_title = self.t("rv.sub_title").format(who=ctx.reviewer)  # in the header
        yield Label("", id="calendar-notice", markup=False)
        with TabbedContent(id="review-tabs"):
            with TabPane(self.t("rv.tab.log"), id="tab-log"):
                yield CallLogPane(id="call-log")
            with TabPane(self.t("rv.tab.kpis"), id="tab-kpis"):
                yield KpiPane(id="kpis")
            with TabPane(self.t("rv.tab.morning"), id="tab-morning"):
                yield MorningPane(id="morning")
            with TabPane(self.t("rv.tab.handovers"), id="tab-handovers"):
                yield HandoverPane(id="handovers")
            with TabPane(self.t("rv.tab.quality"), id="tab-quality"):
                yield QualityPane(id="quality")
            with TabPane(self.t("rv.tab.integrity"), id="tab-integrity"):
                yield IntegrityPane(id="integrity")
            with TabPane(self.t("rv.tab.export"), id="tab-export"):
                yield ExportPane(id="export")
            with TabPane(self.t("rv.tab.attendance"), id="tab-attendance"):
                yield AttendancePane(id="attendance")
            with TabPane(self.t("rv.tab.events"), id="tab-events"):
                yield EventReportPane(id="events")
            with TabPane(self.t("rv.tab.follow_ups"), id="tab-follow-ups"):
                yield FollowUpPane(id="follow-ups")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.show_calendar()
        self.set_interval(60.0, self.show_calendar)
        today = self.seat.clock.now().astimezone(self.seat.settings.timezone).date()
        if is_report_day(today):  # duty rules §6: the weekly report is written on Friday
            self.seat.notify(self.t("rv.as.due_today"), title=self.t("rv.tab.kpis"),
                             timeout=20)

    def redraw(self) -> None:
        """The team board (issue 13): its tab is added when the first board is heard (a
        supervisor of a seat without a team has none), then handed each new board."""
        board = self.seat.team_board
        if board is None or not self.query("#review-tabs"):
            return
        if self._team is None:
            # Kept from here on: the pane mounts later (`add_pane` is not done when it
            # returns), and a redraw before that must not add a second tab (the seat died
            # on DuplicateIds when a call rang with a supervisor at it).
            self._team = TeamBoard(self.seat.clock.now, self.language,
                                   self.seat.settings.away_limit, id="team-board")
            self.query_one("#review-tabs", TabbedContent).add_pane(
                TabPane(word("board", self.language), self._team, id="tab-board"))
        self._team.show(board, self.seat.board_live)  # drawn now, or once it is mounted

    def show_calendar(self) -> None:
        """The holiday calendar's end, from `warn_days` before it; red once it is past."""
        notices = self.query("#calendar-notice")
        if not notices:
            return
        notice = notices.first(Label)
        cover = self.seat.settings.calendar_coverage(self.seat.clock.now())
        words = coverage_text(cover, self.language)
        notice.update(words)
        notice.display = bool(words)
        notice.set_class(cover.alarm, "-alarm")
        notice.set_class(cover.warning, "-warning")

    def action_tab(self, tab: str) -> None:
        """Show `tab`, wherever the focus is.

        `TabbedContent` follows the focus: a focused widget left in the pane going away
        is hidden, the focus moves to its pane's next widget, and that pulls the old tab
        back (F2 from inside 晨检 stayed on 晨检). The focus goes to the tab bar first.
        """
        tabs = self.query_one("#review-tabs", TabbedContent)
        focused = self.focused
        if focused is not None and tabs in focused.ancestors:
            self.set_focus(tabs.query_one(Tabs), scroll_visible=False)
        tabs.active = tab

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """载入假日通知 belongs to the Integrity tab: its key is there only while that tab is."""
        if action != "load_notice":
            return True
        tabs = self.query("#review-tabs")
        return bool(tabs) and tabs.first(TabbedContent).active == "tab-integrity"

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def action_load_notice(self) -> None:
        self.query_one("#integrity", IntegrityPane).load_notice()

    @on(CallLogPane.CallChosen)
    def _open_call(self, event: CallLogPane.CallChosen) -> None:
        """Enter on the call log: the call's detail (the pane asks; the screen opens it)."""
        event.stop()
        self.seat.push_screen(CallDetailScreen(event.key))

    @on(IntegrityPane.NoticeAsked)
    def _open_notice(self, event: IntegrityPane.NoticeAsked) -> None:
        """载入假日通知 (the Integrity tab's button or F10): the holiday-notice dialog."""
        event.stop()
        self.seat.push_screen(HolidayNoticeScreen(event.context))

    def action_search(self) -> None:
        """Jump to the call log's search box (keyboard users, and the tmux smoke test)."""
        self.action_tab("tab-log")
        self.query_one("#f-text", Input).focus()

    def action_help(self) -> None:
        """F1 / ?: what every status word means (the agents' help screen too)."""
        self.seat.push_screen(HelpScreen())

    def action_logout(self) -> None:
        self.post_message(LogoutRequested())  # an intent, as the agents' screens post it
