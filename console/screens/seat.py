"""The seat (main screen): line, day/night and roster, gate post, agent state and timer,
today's calls, open follow-ups and calls waiting."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Label, Static

from console.callflow.events import CallFinished, FlowEvent
from console.domain.agent import AgentState as SeatState
from console.domain.labels import Language
from console.headset import HeadsetState
from console.screens.base import SeatScreen_
from console.screens.handover import describe_follow_ups
from console.store import CallFilter, CallRecord, FollowUp
from console.ui.calendar import coverage_text
from console.ui.intents import (
    AnswerRequested,
    AwayRequested,
    HandoverRequested,
    LogoutRequested,
    NightRequested,
    WrapDoneRequested,
)
from console.ui.model import LiveCall, Phase, SeatModel
from console.ui.texts import text
from console.widgets.calls_table import CallsTable
from console.widgets.status_bar import StatusBar, StatusView
from console.widgets.team_board import BoardStrip
from sip.api import LineStatus

if TYPE_CHECKING:
    from console.ui.view import SeatView


def _mmss(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def record_words(model: SeatModel, lang: Language) -> str:
    """The record's trouble in words for the status bar; "" while it keeps up (the alarm
    clears at `db_back` / `outbox_safe`)."""
    if model.record_at_risk is not None:
        return text("record.at_risk", lang).format(unsaved=model.record_at_risk.unsaved)
    if model.record_down is not None:
        return text("record.down", lang).format(pending=model.record_down.pending)
    if model.record_refused:
        return text("record.refused", lang).format(n=model.record_refused)
    return ""


def status_view(app: SeatView) -> StatusView:
    """The status bar's content from the app's state at the app clock's now."""
    lang = app.language
    now = app.clock.now()
    line_word = {
        LineStatus.REGISTERED: "line.registered",
        LineStatus.REGISTERING: "line.registering",
        LineStatus.FAILED: "line.failed",
        LineStatus.STOPPED: "line.stopped",
    }[app.line_status]
    line = f"{text('line.label', lang)}: {text(line_word, lang)}"
    if app.line_status is LineStatus.FAILED and app.line_reason:
        line += f" ({app.line_reason})"
    notice = ""
    if app.night is not None:
        decision = app.night.decide(now)
        if decision.night:
            mode = text("mode.night", lang)
        else:
            names = [
                r.label if lang is Language.ZH and r.label else r.name
                for r in decision.shift.rosters
            ]
            mode = f"{text('mode.day', lang)} {'/'.join(names)}"
        if decision.override is not None:
            mode += f" ({text('mode.override', lang)})"
        until = decision.until
        if (
            decision.override is None
            and until is not None
            and dt.timedelta(0) < until - now <= app.settings.night_warning
            and app.night.decide(until).night != decision.night
        ):
            target = text("mode.night" if not decision.night else "mode.day", lang)
            notice = f"⚠ {text('mode.switch_soon', lang)} {until:%H:%M} → {target}"
    else:
        mode = "—"
    gate_word = {None: "gate.unknown", True: "gate.ok", False: "gate.alarm"}[app.model.gate_ok]
    gate = f"{text('gate.label', lang)}: {text(gate_word, lang)}"
    if app.model.forward_failures:
        gate += " " + text("gate.failures", lang).format(n=app.model.forward_failures)
    agent = app.agent
    overdue = False
    if agent is None:
        who = f"{text('agent.label', lang)}: {text('agent.none', lang)}"
    else:
        since = agent.since or now
        who = f"{agent.agent_id} {agent.state.label(lang)} {_mmss(now - since)}"
        if agent.state is SeatState.AWAY:
            limit = _mmss(agent.policy.away_limit)
            who = (
                f"{agent.agent_id} {agent.state.label(lang)}({agent.away_reason}) "
                f"{_mmss(now - since)}/{limit}"
            )
            overdue = agent.is_overdue(now)
            if overdue:
                who += f" {text('agent.overdue', lang)}!"
    hs = app.headset_status
    hs_word = {
        HeadsetState.READY: "headset.ready",
        HeadsetState.NO_HEADSET: "headset.none",
        HeadsetState.ERROR: "headset.error",
    }[hs.state]
    headset = f"{text('headset.label', lang)}: {text(hs_word, lang)}"
    held = sorted((c for c in app.model.calls.values() if c.console_has_it),
                  key=lambda c: c.arrived_at)
    calls = ""
    if held:
        first = held[0]
        held_for = _mmss(now - first.step_at) if first.step_at is not None else ""
        calls = (f"{text('seat.console_has', lang)}: {first.caller} "
                 f"{text(f'step.{first.step.value}', lang)} {held_for}").rstrip()
        if len(held) > 1:
            calls += f" +{len(held) - 1}"
    cover = app.settings.calendar_coverage(now)
    return StatusView(
        record=record_words(app.model, lang),
        calls=calls,
        line=line,
        mode=mode,
        gate=gate,
        agent=who,
        headset=headset,
        alarm_line=app.line_status is LineStatus.FAILED,
        alarm_gate=app.model.gate_ok is False,
        alarm_agent=overdue,
        notice=notice,
        calendar=coverage_text(cover, lang),
        alarm_calendar=cover.alarm,
    )


def waiting_lines(calls: list[LiveCall], app: SeatView) -> str:
    lang = app.language
    now = app.clock.now()
    rows = []
    for c in calls:
        state = text("ring.title", lang) if c.phase is Phase.RINGING else text("seat.waiting", lang)
        rows.append(f"· {c.caller} {state} {_mmss(now - c.arrived_at)}")
    return "\n".join(rows)


class SeatScreen(SeatScreen_):
    """The agent's home; redrawn on every tick and every flow event."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer", "ring.answer"),
        Binding("b", "away", "key.away"),
        Binding("d", "wrap_done", "key.wrap_done", show=False),
        Binding("n", "night", "key.night"),
        Binding("o", "handover", "key.handover"),
        Binding("f", "follow_ups", "key.follow_ups"),
        Binding("r", "reload", "key.reload"),
        Binding("l", "logout", "common.logout"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBar(id="status")
        yield BoardStrip(id="board-strip")  # the team (issue 13); shown once a board is heard
        with Horizontal(id="seat-body"):
            with Vertical(id="seat-left"):
                yield Label(self.t("seat.today"), classes="section")
                yield CallsTable(id="today")
            with Vertical(id="seat-right"):
                yield Label(self.t("seat.waiting"), classes="section")
                # Callers' numbers and follow-up descriptions: shown as written, not markup.
                yield Static(self.t("seat.none"), id="waiting", markup=False)
                yield Label(self.t("seat.followups"), classes="section")
                yield Static("…", id="followups", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.redraw()
        self.set_interval(self.seat.settings.tick_seconds, self.redraw)
        self.action_reload()

    def redraw(self) -> None:
        if not self.drawable:
            return
        self.query_one(StatusBar).show(status_view(self.seat))
        strip = self.query_one(BoardStrip)
        strip.display = self.seat.team_board is not None
        strip.show(self.seat.team_board, self.seat.board_live, self.seat.clock.now(),
                   self.language, self.seat.settings.away_limit)
        waiting = waiting_lines(self.seat.model.ringing(), self.seat)
        self.query_one("#waiting", Static).update(waiting or self.t("seat.none"))

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        if isinstance(event, CallFinished):
            self.action_reload()
        self.redraw()

    def action_reload(self) -> None:
        seat = self.seat

        def load() -> None:
            since, until = seat.store.day_bounds(seat.clock.now().date())
            calls = seat.store.calls(CallFilter(since=since, until=until))
            follow_ups = seat.open_follow_ups()
            seat.call_from_thread(self._show_data, calls, follow_ups)

        seat.run_in_thread(load, "seat data")

    def _show_data(self, calls: list[CallRecord], follow_ups: list[FollowUp]) -> None:
        if not self.ready:
            return
        self.query_one(CallsTable).show(calls, self.language, self.seat.settings.timezone)
        self.query_one("#followups", Static).update(
            describe_follow_ups(follow_ups, self.seat.settings.timezone, self.language)
            or self.t("seat.none")
        )

    def action_answer(self) -> None:
        calls = self.seat.model.ringing()
        if calls:
            self.post_message(AnswerRequested(calls[0].call_id))

    def action_away(self) -> None:
        self.post_message(AwayRequested())

    def action_wrap_done(self) -> None:
        self.post_message(WrapDoneRequested())

    def action_night(self) -> None:
        self.post_message(NightRequested())

    def action_handover(self) -> None:
        self.post_message(HandoverRequested())

    def action_follow_ups(self) -> None:
        from console.screens.follow_ups import FollowUpsScreen

        self.app.push_screen(FollowUpsScreen(), lambda _: self.action_reload())

    def action_logout(self) -> None:
        self.post_message(LogoutRequested())
