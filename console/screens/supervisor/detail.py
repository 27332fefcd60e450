"""A call's detail for the supervisor: facts, ring timeline, the legs, amendments, amend.

The legs are every seat's row of the caller's call (a ring-all hotline rings several seats;
the call log lists one row per caller, `console.store.review`): which seats rang, which
leg was answered and by whom, and how each other leg ended (taken elsewhere, abandoned).

A correction is never an edit: the form adds an amendment (field, new value, reason) that
the duty record chains after the sealed call; the detail then shows the sealed value and
every amendment with who, when and why. The call's recording plays through the headset
(F5, stopped by F6 or by closing the detail); a missing or unreadable file, or no headset,
is a titled notification and nothing else happens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from console.domain.labels import Language, result_label
from console.domain.reasons import action_text, reason_text
from console.headset import HeadsetError, HeadsetState, Playback
from console.screens.keys import localize_bindings
from console.store import (
    AMENDABLE,
    Amendment,
    CallerCall,
    CallOutcome,
    CallRecord,
    FollowUp,
    FollowUpStatus,
    InvalidFact,
    StoreError,
)
from console.store.review import add_quality_review
from console.ui.errors import UiError
from console.ui.texts import text
from console.widgets.review.call_log import CallLogPane
from console.widgets.review.context import (
    Key,
    ReviewContext,
    ReviewInputError,
    describe,
    review_context,
)
from console.widgets.review.labels import (
    category_label,
    local,
    outcome_label,
    satisfaction_label,
    seconds,
)
from console.widgets.review.quality import QualityPane

STATUS_KEYS = {
    FollowUpStatus.OPEN: "rv.fu.open",
    FollowUpStatus.DONE: "rv.fu.done",
    FollowUpStatus.CANCELLED: "rv.fu.cancelled",
}
"""A follow-up's status → its text key (as the follow-ups tab says it)."""

if TYPE_CHECKING:
    from console.ui.view import ReviewView

FIELD_KEYS: dict[str, str] = {
    **{name: f"notes.{name}" for name in (
        "category", "caller_name", "contact", "address", "content", "action", "result",
    )},
    "satisfaction": "call.score",
    **{name: f"rv.field.{name}" for name in (
        "caller_number", "caller_display", "answered_at", "ended_at", "rings", "answered_by",
        "outcome", "forwarded_to", "forward_method", "forward_result", "forwarded_at",
        "follow_up", "recording", "notes",
    )},
}
"""Each amendable field's label (the notes form's own words where the agent typed it)."""


def field_label(name: str, language: Language) -> str:
    """The label of a record field; a field without one is a bug the tests catch."""
    return text(FIELD_KEYS[name], language)


def shown_value(name: str, value: str | None, language: Language) -> str:
    """A stored value as the detail shows it: labels for codes, — for none (never None)."""
    if value is None or value == "":
        return "—"
    if name == "category":
        return category_label(value, language)
    if name == "result":
        return result_label(value, language)
    if name == "satisfaction" and value.isdigit():
        return satisfaction_label(int(value), language)
    if name == "action":
        return action_text(value, language)  # the flow's sentences in the language
    if name == "outcome":
        return next(
            (outcome_label(o, language) for o in CallOutcome if o.value == value), value
        )
    return value


@dataclass(frozen=True)
class CallDetail:
    """Everything the detail shows, read in one worker."""

    sealed: CallRecord
    """As sealed (no amendments)."""
    current: CallRecord
    """With the amendments applied."""
    amendments: list[Amendment]
    follow_ups: list[FollowUp]
    caller: CallerCall | None = None
    """The caller's call this leg is part of: every seat's leg (issue 13)."""


def load_detail(ctx: ReviewContext, key: str) -> CallDetail:
    """Blocking: the call as sealed and as amended, its amendments, follow-ups and legs."""
    record = ctx.record
    follow_ups = [f for f in record.follow_ups(status=None) if f.call_key == key]
    return CallDetail(
        record.get_call(key, amended=False),
        record.get_call(key),
        record.amendments(key),
        follow_ups,
        record.caller_call(key),
    )


def leg_lines(caller: CallerCall, tz: dt.tzinfo, language: Language = Language.ZH) -> list[str]:
    """Each seat's leg of the caller's call, oldest ring first: seat, ring time, outcome,
    who answered and why it ended; the leg that speaks for the caller is marked."""
    lines = []
    for leg in caller.legs:
        mark = "▶" if leg.key == caller.call.key else " "
        outcome = outcome_label(leg.outcome, language) if leg.outcome else text(
            "rv.d.leg_open", language)
        who = f" {leg.answered_by}" if leg.answered_at is not None and leg.answered_by else ""
        lines.append(
            f"{mark} {leg.seat or '—'}  {local(leg.ring_at, tz, '%H:%M:%S')}  {outcome}{who}"
            + (f"  ({leg.end_reason})" if leg.end_reason else "")
        )
    return lines


def timeline(call: CallRecord, tz: dt.tzinfo, language: Language = Language.ZH) -> list[str]:
    """The ring timeline: ring, answer, forward, end, seal, each with seconds from the ring."""
    unit = text("ring.seconds", language)

    def at(label: str, when: dt.datetime | None, extra: str = "") -> str | None:
        if when is None:
            return None
        offset = (when - call.ring_at).total_seconds()
        what = text(label, language)
        return f"{local(when, tz, '%H:%M:%S')}  +{offset:5.0f} {unit}  {what}{extra}"

    rings = text("rv.d.rings", language).format(n=call.rings) if call.rings is not None else ""
    forward = f" → {call.forwarded_to} {call.forward_result or ''}" if call.forwarded_to else ""
    steps = [
        at("rv.d.ring", call.ring_at),
        at("rv.d.answer", call.answered_at, f"{rings} {call.answered_by or ''}"),
        at("rv.d.forward", call.forwarded_at, forward),
        at("rv.d.end", call.ended_at, f" {call.end_reason or ''}"),
        at("rv.d.sealed", call.sealed_at),
    ]
    return [s for s in steps if s is not None]


class CallDetailScreen(ModalScreen[None]):
    """The detail over the call log; Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "rv.d.close"),
        Binding("f5", "play", "rv.d.play_key"),
        Binding("f6", "stop", "rv.d.stop_key"),
    ]
    """Descriptions are text keys (`localize_bindings`)."""

    class PlaybackEnded(Message):
        """The recording played to its end (posted from the audio thread)."""

        def __init__(self, playback: Playback) -> None:
            super().__init__()
            self.playback = playback

    DEFAULT_CSS = """
    CallDetailScreen { align: center middle; }
    CallDetailScreen > VerticalScroll {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    CallDetailScreen .amend-row { height: auto; }
    CallDetailScreen .detail-heading { color: $text-accent; text-style: bold; margin-top: 1; }
    CallDetailScreen .amend-row Input { width: 1fr; }
    CallDetailScreen .amend-row Select { width: 22; }
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        localize_bindings(self, self.seat.language)
        self.key = key
        self.detail: CallDetail | None = None
        self.playback: Playback | None = None
        """The recording playing now, if any."""

    @property
    def seat(self) -> ReviewView:
        return cast("ReviewView", self.app)

    def t(self, key: str) -> str:
        """The label `key` in the seat's language."""
        return text(key, self.seat.language)

    def compose(self) -> ComposeResult:
        lang = self.seat.language
        with VerticalScroll(id="detail-box"):
            yield Label(self.t("rv.d.title").format(key=self.key), id="detail-title",
                        markup=False)
            # Every fact below is the record's: numbers from INVITEs, what agents typed,
            # amendments' values and reasons. Shown as written, never read as markup.
            yield Static("", id="detail-facts", markup=False)
            with Horizontal(classes="amend-row"):
                yield Button(self.t("rv.d.play"), id="play-recording", disabled=True)
                yield Button(self.t("rv.d.stop"), id="stop-recording", disabled=True)
                yield Label("", id="play-status", markup=False)
            yield Label(self.t("rv.d.timeline"), classes="detail-heading")
            yield Static("", id="detail-timeline", markup=False)
            yield Label(self.t("rv.d.legs"), classes="detail-heading")
            yield Static("", id="detail-legs", markup=False)
            yield Label(self.t("rv.d.amendments"), classes="detail-heading")
            yield Static("", id="detail-amendments", markup=False)
            yield Label(self.t("rv.tab.follow_ups"), classes="detail-heading")
            yield Static("", id="detail-follow-ups", markup=False)
            yield Label(self.t("rv.d.amend"), classes="detail-heading")
            with Horizontal(classes="amend-row"):
                yield Select(
                    [(field_label(f, lang), f) for f in AMENDABLE],
                    prompt=self.t("rv.d.field"),
                    id="amend-field",
                )
                yield Input(placeholder=self.t("rv.d.new_value"), id="amend-value",
                            max_length=2000)
                yield Input(placeholder=self.t("rv.d.reason"), id="amend-why", max_length=500)
                yield Button(self.t("rv.d.amend_button"), id="amend-submit", variant="warning")
            yield Label("", id="amend-error", markup=False)
            yield Label(self.t("rv.d.quality"), classes="detail-heading")
            with Horizontal(classes="amend-row"):
                yield Input(placeholder=self.t("rv.d.score_hint"), id="score-value",
                            max_length=3)
                yield Input(placeholder=self.t("rv.d.score_notes"), id="score-notes",
                            max_length=2000)
                yield Button(self.t("rv.d.score_button"), id="score-submit", variant="primary")
            yield Label("", id="score-error", markup=False)
            yield Button(self.t("rv.d.close"), id="detail-close")
        yield Footer()  # this screen's keys (F5 plays here), not the review's under it

    def on_mount(self) -> None:
        self.reload()

    def context(self) -> ReviewContext | None:
        try:
            return review_context(self.seat)
        except UiError as exc:
            self.seat.report(exc)
            self.dismiss(None)
            return None

    def reload(self) -> None:
        ctx = self.context()
        if ctx is None:
            return

        def load() -> None:
            try:
                detail = load_detail(ctx, self.key)
            except StoreError as exc:
                self.seat.call_from_thread(self.seat.report, exc)
                return
            self.seat.call_from_thread(self.show, detail)

        self.seat.run_worker(load, name="call detail", thread=True, exit_on_error=False)

    def show(self, detail: CallDetail) -> None:
        ctx = self.context()
        if ctx is None:
            return
        lang = self.seat.language
        self.detail = detail
        c = detail.current
        sealed = detail.sealed

        def fact(name: str, value: Any, was: Any) -> str:
            mark = ""
            if name in c.amended_fields:
                mark = self.t("rv.d.was").format(was=was if was not in (None, "") else "—")
            shown = value if value not in (None, "") else "—"
            return f"{field_label(name, lang)}: {shown}{mark}"

        lines = [
            fact("caller_number", c.caller_number, sealed.caller_number),
            fact("caller_name", c.caller_name, sealed.caller_name),
            fact("contact", c.contact, sealed.contact),
            fact("address", c.address, sealed.address),
            fact("outcome", outcome_label(c.outcome, lang),
                 outcome_label(sealed.outcome, lang) if sealed.outcome else ""),
            fact("answered_by", c.answered_by, sealed.answered_by),
            self.t("rv.d.seconds").format(
                answer=seconds(c.seconds_to_answer) or "—", call=seconds(c.handling_seconds) or "—"
            ),
            fact("category", category_label(c.category, lang),
                 category_label(sealed.category, lang)),
            fact(
                "satisfaction",
                satisfaction_label(c.satisfaction, lang),
                satisfaction_label(sealed.satisfaction, lang),
            ),
            fact("content", c.content, sealed.content),
            fact("action", shown_value("action", c.action, lang),
                 shown_value("action", sealed.action, lang)),
            fact("result", result_label(c.result, lang), result_label(sealed.result, lang)),
            fact("notes", c.notes, sealed.notes),
            f"{field_label('recording', lang)}: {c.recording or self.t('rv.none')}",
            self.t("rv.d.chain").format(line=c.line, seq=c.seq if c.seq is not None else "—"),
        ]
        self.query_one("#detail-facts", Static).update("\n".join(lines))
        self.query_one("#play-recording", Button).disabled = not c.recording
        self.query_one("#detail-timeline", Static).update("\n".join(timeline(c, ctx.tz, lang)))
        legs = leg_lines(detail.caller, ctx.tz, lang) if detail.caller is not None else []
        self.query_one("#detail-legs", Static).update("\n".join(legs) or self.t("rv.none"))
        amendments = [
            f"{local(a.at, ctx.tz, '%Y-%m-%d %H:%M')} {a.who}: {field_label(a.field, lang)} "
            + self.t("rv.d.quoted").format(value=shown_value(a.field, a.old_value, lang))
            + " → "
            + self.t("rv.d.quoted").format(value=shown_value(a.field, a.new_value, lang))
            + f" — {reason_text(a.why, lang)}"
            for a in detail.amendments
        ]
        self.query_one("#detail-amendments", Static).update(
            "\n".join(amendments) or self.t("rv.none")
        )
        follow_ups = [
            self.t("rv.d.fu_line").format(
                owner=f.owner or self.t("rv.fu.unowned"),
                due=local(f.due_at, ctx.tz, "%m-%d %H:%M"),
                state=self.t(STATUS_KEYS[f.status]),
                what=reason_text(f.description, lang),
            )
            for f in detail.follow_ups
        ]
        self.query_one("#detail-follow-ups", Static).update(
            "\n".join(follow_ups) or self.t("rv.none")
        )

    @on(Button.Pressed, "#amend-submit")
    def amend(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        select: Select[str] = self.query_one("#amend-field", Select)
        field = select.value
        value = self.query_one("#amend-value", Input).value.strip()
        why = self.query_one("#amend-why", Input).value.strip()
        if select.is_blank():
            self.error(self.t("rv.d.need_field"))
            return
        if not why:
            self.error(self.t("rv.d.need_reason"))
            return
        self.error("")
        key = self.key

        def add() -> None:
            try:
                ctx.record.amend(key, str(field), value or None, who=ctx.reviewer, why=why)
                detail = load_detail(ctx, key)
            except InvalidFact as exc:  # the value: named, in the seat's language
                refused = ReviewInputError(
                    "rv.d.refused", field=Key(FIELD_KEYS[str(field)]), value=value,
                    detail=" ".join(str(exc).split()),
                )
                self.seat.call_from_thread(self.failed, refused)
                return
            except StoreError as exc:
                self.seat.call_from_thread(self.failed, exc)
                return
            self.seat.call_from_thread(self.amended, detail)

        self.seat.run_worker(add, name="amend", thread=True, exit_on_error=False)

    def failed(self, exc: BaseException) -> None:
        title, words = describe(exc, self.seat.language)
        self.error(f"{title}: {words}")
        self.seat.notify(words, title=title, severity="error", markup=False)

    def amended(self, detail: CallDetail) -> None:
        self.query_one("#amend-value", Input).value = ""
        self.query_one("#amend-why", Input).value = ""
        self.show(detail)
        self.seat.notify(self.t("rv.d.amended"), title=self.t("rv.d.amend_button"))
        for screen in self.seat.screen_stack:
            for pane in screen.query(CallLogPane).results(CallLogPane):
                pane.refresh_row(detail.current)

    @on(Button.Pressed, "#score-submit")
    def score(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        score_text = self.query_one("#score-value", Input).value.strip()
        notes = self.query_one("#score-notes", Input).value
        label = self.query_one("#score-error", Label)
        if not score_text.isdigit() or not 0 <= int(score_text) <= 100:
            label.update(self.t("rv.d.bad_score").format(value=score_text))
            label.scroll_visible()  # below the fold of a long detail: bring the reason up
            return
        label.update("")
        key = self.key
        detail = self.detail
        if detail is not None and detail.current.answered_by in (None, "auto", "gate_post"):
            label.update(self.t("rv.d.not_agent"))  # nobody's service to score
            return

        def add() -> None:
            try:
                add_quality_review(ctx.record, key, ctx.reviewer, int(score_text), notes)
            except StoreError as exc:
                self.seat.call_from_thread(self._score_failed, exc)
                return
            self.seat.call_from_thread(self._scored, int(score_text))

        self.seat.run_worker(add, name="quality", thread=True, exit_on_error=False)

    def _score_failed(self, exc: StoreError) -> None:
        title, words = describe(exc, self.seat.language)
        self.query_one("#score-error", Label).update(f"{title}: {words}")
        self.seat.notify(words, title=title, severity="error", markup=False)

    def _scored(self, score: int) -> None:
        self.query_one("#score-value", Input).value = ""
        self.query_one("#score-notes", Input).value = ""
        self.query_one("#score-error", Label).update(self.t("rv.d.scored").format(score=score))
        self.seat.notify(self.t("rv.d.points").format(score=score), title=self.t("rv.tab.quality"))
        for screen in self.seat.screen_stack:
            for pane in screen.query(QualityPane).results(QualityPane):
                pane.reload()

    def error(self, message: str) -> None:
        self.query_one("#amend-error", Label).update(message)

    @on(Button.Pressed, "#detail-close")
    def action_close(self) -> None:
        self.action_stop()
        self.dismiss(None)

    # ------------------------------------------------------------ recording playback

    def play_status(self, message: str) -> None:
        self.query_one("#play-status", Label).update(message)

    @on(Button.Pressed, "#play-recording")
    def action_play(self) -> None:
        """Play the call's recording through the headset (from the start)."""
        detail = self.detail
        if detail is None:
            return
        path = detail.current.recording
        if not path:
            self.seat.notify(self.t("rv.d.no_recording"), title=self.t("rv.d.recording"))
            return
        status = self.seat.headset_status
        if status.state is not HeadsetState.READY:
            message = self.t("rv.d.no_headset").format(detail=status.detail)
            self.play_status(message)
            self.seat.notify(
                message, title=self.t("headset.none"), severity="warning", markup=False
            )
            return
        self.action_stop()
        self.play_status(self.t("rv.d.opening").format(path=path))
        headset = self.seat.headset
        holder: list[Playback] = []

        def ended() -> None:  # audio thread
            if holder:
                self.post_message(self.PlaybackEnded(holder[0]))

        def start() -> None:
            try:
                playback = headset.play_file(path, on_done=ended)
            except HeadsetError as exc:
                self.seat.call_from_thread(self._play_failed, exc)
                return
            holder.append(playback)
            self.seat.call_from_thread(self._playing, playback)

        self.seat.run_worker(start, name="play recording", thread=True, exit_on_error=False)

    def _playing(self, playback: Playback) -> None:
        if not self.is_attached:  # closed while the file was opening
            self.seat.run_worker(playback.stop, name="stop playback", thread=True)
            return
        self.playback = playback
        self.query_one("#stop-recording", Button).disabled = False
        self.play_status(self.t("rv.d.playing").format(
            name=playback.path.name, seconds=playback.seconds
        ))
        if playback.finished:  # ended before this ran: its message may have come first
            self._stop_playback(self.t("rv.d.played"))

    def _play_failed(self, exc: HeadsetError) -> None:
        title, words = describe(exc, self.seat.language)
        self.play_status(f"{title}: {words}")
        self.seat.notify(words, title=title, severity="error", markup=False)

    @on(PlaybackEnded)
    def _ended(self, message: PlaybackEnded) -> None:
        if message.playback is self.playback:
            self._stop_playback(self.t("rv.d.played"))

    @on(Button.Pressed, "#stop-recording")
    def action_stop(self) -> None:
        """Stop the recording playing now (nothing if none)."""
        if self.playback is not None:
            self._stop_playback(self.t("rv.d.stopped").format(at=self.playback.position))

    def _stop_playback(self, message: str) -> None:
        playback, self.playback = self.playback, None
        if playback is None:
            return
        # PortAudio's stop waits for the buffer in flight: not on the UI thread.
        self.seat.run_worker(playback.stop, name="stop playback", thread=True, exit_on_error=False)
        if self.is_attached:
            self.query_one("#stop-recording", Button).disabled = True
            self.play_status(message)

    def on_unmount(self) -> None:
        playback, self.playback = self.playback, None
        if playback is not None:
            playback.stop()
