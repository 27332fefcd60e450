"""A call's detail for the supervisor: facts, ring timeline, amendments, follow-ups, amend.

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
from textual.widgets import Button, Input, Label, Select, Static

from console.domain.labels import SATISFACTION_LABELS, result_label
from console.headset import HeadsetError, HeadsetState, Playback
from console.screens.supervisor.base import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    ReviewContext,
    local,
    review_context,
    seconds,
)
from console.store import AMENDABLE, Amendment, CallRecord, FollowUp, FollowUpStatus, StoreError
from console.store.review import add_quality_review
from console.ui.errors import UiError, title_of

if TYPE_CHECKING:
    from console.app import DutyConsoleApp

FIELD_LABELS: dict[str, str] = {
    "caller_number": "来电号码",
    "caller_name": "姓名",
    "contact": "联系方式",
    "address": "地址",
    "category": "类别",
    "content": "内容",
    "action": "处理",
    "result": "处理结果",
    "satisfaction": "满意度",
    "outcome": "结果",
    "answered_by": "接听人",
    "notes": "备注",
    "follow_up": "回访",
}


@dataclass(frozen=True)
class CallDetail:
    """Everything the detail shows, read in one worker."""

    sealed: CallRecord
    """As sealed (no amendments)."""
    current: CallRecord
    """With the amendments applied."""
    amendments: list[Amendment]
    follow_ups: list[FollowUp]


def load_detail(ctx: ReviewContext, key: str) -> CallDetail:
    """Blocking: the call as sealed and as amended, its amendments and follow-ups."""
    record = ctx.record
    follow_ups = [f for f in record.follow_ups(status=None) if f.call_key == key]
    return CallDetail(
        record.get_call(key, amended=False),
        record.get_call(key),
        record.amendments(key),
        follow_ups,
    )


def timeline(call: CallRecord, tz: dt.tzinfo) -> list[str]:
    """The ring timeline: ring, answer, forward, end, seal, each with seconds from the ring."""

    def at(label: str, when: dt.datetime | None, extra: str = "") -> str | None:
        if when is None:
            return None
        offset = (when - call.ring_at).total_seconds()
        return f"{local(when, tz, '%H:%M:%S')}  +{offset:5.0f} s  {label}{extra}"

    rings = f" ({call.rings} 声)" if call.rings is not None else ""
    forward = f" → {call.forwarded_to} {call.forward_result or ''}" if call.forwarded_to else ""
    steps = [
        at("振铃 ring", call.ring_at),
        at("接听 answer", call.answered_at, f"{rings} {call.answered_by or ''}"),
        at("转接 forward", call.forwarded_at, forward),
        at("结束 end", call.ended_at, f" {call.end_reason or ''}"),
        at("封存 sealed", call.sealed_at),
    ]
    return [s for s in steps if s is not None]


class CallDetailScreen(ModalScreen[None]):
    """The detail over the call log; Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "关闭 Close"),
        Binding("f5", "play", "播放录音 Play"),
        Binding("f6", "stop", "停止 Stop"),
    ]

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
    CallDetailScreen .amend-row Input { width: 1fr; }
    CallDetailScreen .amend-row Select { width: 22; }
    """

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.detail: CallDetail | None = None
        self.playback: Playback | None = None
        """The recording playing now, if any."""

    @property
    def seat(self) -> DutyConsoleApp:
        return cast("DutyConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-box"):
            yield Label(f"通话详情 Call {self.key}", id="detail-title", markup=False)
            # Every fact below is the record's: numbers from INVITEs, what agents typed,
            # amendments' values and reasons. Shown as written, never read as markup.
            yield Static("", id="detail-facts", markup=False)
            with Horizontal(classes="amend-row"):
                yield Button("播放录音 Play (F5)", id="play-recording", disabled=True)
                yield Button("停止 Stop (F6)", id="stop-recording", disabled=True)
                yield Label("", id="play-status", markup=False)
            yield Label("振铃时间线 Ring timeline", classes="detail-heading")
            yield Static("", id="detail-timeline", markup=False)
            yield Label("更正记录 Amendments", classes="detail-heading")
            yield Static("", id="detail-amendments", markup=False)
            yield Label("回访 Follow-ups", classes="detail-heading")
            yield Static("", id="detail-follow-ups", markup=False)
            yield Label("更正 Amend (新增更正,原记录不变)", classes="detail-heading")
            with Horizontal(classes="amend-row"):
                yield Select(
                    [(f"{FIELD_LABELS.get(f, f)} {f}", f) for f in AMENDABLE],
                    prompt="字段",
                    id="amend-field",
                )
                yield Input(placeholder="新值 new value", id="amend-value", max_length=2000)
                yield Input(placeholder="原因 reason (必填)", id="amend-why", max_length=500)
                yield Button("更正", id="amend-submit", variant="warning")
            yield Label("", id="amend-error", markup=False)
            yield Label("质检评分 Quality score (监听后评分)", classes="detail-heading")
            with Horizontal(classes="amend-row"):
                yield Input(placeholder="得分 0–100", id="score-value", max_length=3)
                yield Input(placeholder="评语 notes", id="score-notes", max_length=2000)
                yield Button("评分", id="score-submit", variant="primary")
            yield Label("", id="score-error", markup=False)
            yield Button("关闭", id="detail-close")

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
        self.detail = detail
        c = detail.current
        sealed = detail.sealed

        def fact(name: str, label: str, value: Any, was: Any) -> str:
            mark = f"  [原 sealed: {was}]" if name in c.amended_fields else ""
            return f"{label}: {value if value not in (None, '') else '—'}{mark}"

        outcome = OUTCOME_LABELS.get(c.outcome, "") if c.outcome else "进行中"
        sealed_outcome = OUTCOME_LABELS.get(sealed.outcome, "") if sealed.outcome else ""
        lines = [
            fact("caller_number", "来电号码", c.caller_number, sealed.caller_number),
            fact("caller_name", "姓名", c.caller_name, sealed.caller_name),
            fact("contact", "联系方式", c.contact, sealed.contact),
            fact("address", "地址", c.address, sealed.address),
            fact("outcome", "结果", outcome, sealed_outcome),
            fact("answered_by", "接听人", c.answered_by, sealed.answered_by),
            f"应答秒数: {seconds(c.seconds_to_answer) or '—'} · 通话秒数: "
            f"{seconds(c.handling_seconds) or '—'}",
            fact(
                "category",
                "类别",
                CATEGORY_LABELS.get(c.category or "", c.category),
                CATEGORY_LABELS.get(sealed.category or "", sealed.category),
            ),
            fact(
                "satisfaction",
                "满意度",
                SATISFACTION_LABELS.get(c.satisfaction),
                SATISFACTION_LABELS.get(sealed.satisfaction),
            ),
            fact("content", "内容", c.content, sealed.content),
            fact("action", "处理", c.action, sealed.action),
            fact("result", "处理结果", result_label(c.result), result_label(sealed.result)),
            fact("notes", "备注", c.notes, sealed.notes),
            f"录音 recording: {c.recording or '无 none'}",
            f"链 chain: {c.line} #{c.seq if c.seq is not None else '—'}",
        ]
        self.query_one("#detail-facts", Static).update("\n".join(lines))
        self.query_one("#play-recording", Button).disabled = not c.recording
        self.query_one("#detail-timeline", Static).update("\n".join(timeline(c, ctx.tz)))
        amendments = [
            f"{local(a.at, ctx.tz, '%Y-%m-%d %H:%M')} {a.who}: {a.field} "
            f"{a.old_value!r} → {a.new_value!r} — {a.why}"
            for a in detail.amendments
        ]
        self.query_one("#detail-amendments", Static).update("\n".join(amendments) or "无 none")
        follow_ups = [
            f"{f.owner} 到期 {local(f.due_at, ctx.tz, '%m-%d %H:%M')} "
            f"{'已办结' if f.status is FollowUpStatus.DONE else f.status.value}: {f.description}"
            for f in detail.follow_ups
        ]
        self.query_one("#detail-follow-ups", Static).update("\n".join(follow_ups) or "无 none")

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
            self.error("请选择字段 choose the field to correct")
            return
        if not why:
            self.error("请填写原因 a correction needs a reason")
            return
        self.error("")
        key = self.key

        def add() -> None:
            try:
                ctx.record.amend(key, str(field), value or None, who=ctx.reviewer, why=why)
                detail = load_detail(ctx, key)
            except StoreError as exc:
                self.seat.call_from_thread(self.failed, exc)
                return
            self.seat.call_from_thread(self.amended, detail)

        self.seat.run_worker(add, name="amend", thread=True, exit_on_error=False)

    def failed(self, exc: StoreError) -> None:
        self.error(f"{title_of(exc)}: {exc}")
        self.seat.notify(str(exc), title=title_of(exc), severity="error", markup=False)

    def amended(self, detail: CallDetail) -> None:
        from console.screens.supervisor.call_log import CallLogPane

        self.query_one("#amend-value", Input).value = ""
        self.query_one("#amend-why", Input).value = ""
        self.show(detail)
        self.seat.notify("已新增更正 amendment added", title="更正 Amend")
        for screen in self.seat.screen_stack:
            for pane in screen.query(CallLogPane).results(CallLogPane):
                pane.refresh_row(detail.current)

    @on(Button.Pressed, "#score-submit")
    def score(self) -> None:
        ctx = self.context()
        if ctx is None:
            return
        text = self.query_one("#score-value", Input).value.strip()
        notes = self.query_one("#score-notes", Input).value
        label = self.query_one("#score-error", Label)
        if not text.isdigit() or not 0 <= int(text) <= 100:
            label.update(f"得分 {text!r}: 请填 0–100 的整数 a whole number 0..100")
            return
        label.update("")
        key = self.key

        def add() -> None:
            try:
                add_quality_review(ctx.record, key, ctx.reviewer, int(text), notes)
            except StoreError as exc:
                self.seat.call_from_thread(self._score_failed, exc)
                return
            self.seat.call_from_thread(self._scored, int(text))

        self.seat.run_worker(add, name="quality", thread=True, exit_on_error=False)

    def _score_failed(self, exc: StoreError) -> None:
        self.query_one("#score-error", Label).update(f"{title_of(exc)}: {exc}")
        self.seat.notify(str(exc), title=title_of(exc), severity="error", markup=False)

    def _scored(self, score: int) -> None:
        from console.screens.supervisor.panes import QualityPane

        self.query_one("#score-value", Input).value = ""
        self.query_one("#score-notes", Input).value = ""
        self.query_one("#score-error", Label).update(f"已评分 scored {score}")
        self.seat.notify(f"{score} 分", title="质检 Quality")
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
            self.seat.notify("这通电话没有录音 this call has no recording", title="录音 Recording")
            return
        status = self.seat.headset_status
        if status.state is not HeadsetState.READY:
            message = f"无耳机,无法播放 no headset to play on: {status.detail}"
            self.play_status(message)
            self.seat.notify(message, title="无耳机 No headset", severity="warning", markup=False)
            return
        self.action_stop()
        self.play_status(f"打开 opening {path} …")
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
        self.play_status(
            f"播放中 playing {playback.path.name} ({playback.seconds:.0f} s) · F6 停止 stop"
        )
        if playback.finished:  # ended before this ran: its message may have come first
            self._stop_playback("播放完毕 played to the end")

    def _play_failed(self, exc: HeadsetError) -> None:
        self.play_status(f"{title_of(exc)}: {exc}")
        self.seat.notify(str(exc), title=title_of(exc), severity="error", markup=False)

    @on(PlaybackEnded)
    def _ended(self, message: PlaybackEnded) -> None:
        if message.playback is self.playback:
            self._stop_playback("播放完毕 played to the end")

    @on(Button.Pressed, "#stop-recording")
    def action_stop(self) -> None:
        """Stop the recording playing now (nothing if none)."""
        if self.playback is not None:
            self._stop_playback(f"已停止 stopped at {self.playback.position:.0f} s")

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
