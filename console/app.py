"""The agent console (Textual): the seat where an agent answers the duty line.

`make_app(line, store, clock, config, flow)` builds it with its collaborators, so Pilot
tests inject a fake line, a fake or temporary duty record, a frozen clock and a fake flow.
`make_starting_app(clock, settings, starting)` is the cold-start path of `duty-console`: the
login screen is up at once while `starting` (the composition root) builds the duty record,
prompts, line and flow in a worker; a login waits for them, and a start-up failure ends the
app with its titled error. So this module imports nothing heavy at load time: the duty
record (SQLAlchemy) and what depends on it are imported where they are used, after start-up.
Flow and line threads reach the UI only through `post_message`; blocking calls (the duty
record, the line's start and stop, the headset lookup) run in thread workers whose errors
become titled notifications.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from console.callflow.events import (
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    FlowEvent,
    ForwardAttempted,
    Mode,
)
from console.callflow.ports import Clock
from console.domain import wrap_up
from console.domain.agent import Agent as SeatAgent
from console.domain.agent import AgentState as SeatState
from console.domain.errors import DomainError, WrapUpError
from console.domain.night import OverrideKind
from console.headset import Headset, HeadsetBridge, HeadsetState, HeadsetStatus
from console.ui.errors import NotLoggedIn, NotWired, UiError, title_of, worded
from console.ui.intents import (
    AfterCallDone,
    AnswerRequested,
    AwayRequested,
    EventReportFiled,
    FollowUpCloseRequested,
    FollowUpsChanged,
    GateNoteRequested,
    HandoverAcceptRequested,
    HandoverRequested,
    HandoverWriteRequested,
    HangUpRequested,
    HoldToggled,
    LogoutRequested,
    NightRequested,
    NightSwitchRequested,
    NotesSaveRequested,
    SeatChanged,
    SurveyRequested,
    TransferRequested,
    WrapDoneRequested,
)
from console.ui.model import LiveCall, Phase, SeatModel, forward_failed
from console.ui.settings import UiSettings
from console.ui.texts import text
from console.widgets.team_board import BoardAlarm, BoardHeard, word
from sip.api import Line, LineEvent, LineStatus, LineStatusChanged

IN_THE_RECORD = frozenset({"open", "amended", "unchanged"})
"""`RecordNotes.write`'s outcomes after which the record holds the notes."""

_FINAL_NOTES = 1 << 62
"""The version F10's final notes carry: newer than any edit, so no save still under way
puts an older text over them."""

if TYPE_CHECKING:  # these import the duty record (SQLAlchemy): at run time only when used
    from console.callflow.callback import CallbackDialer
    from console.domain.board import Board
    from console.store import Agent, Handover
    from console.store.board import BoardFeed
    from console.ui.messages import (
        FlowEventPosted,
        HandoverAccepted,
        LineStatusPosted,
        LoggedIn,
        NotesEdited,
    )
    from console.ui.notes import CallNotes, DraftBook, RecordNotes
    from console.ui.ports import NightSwitch, SeatFlow, SeatStore
    from console.ui.view import ReviewView, SeatView

log = logging.getLogger("console.ui")

WARM_UP = (
    "console.ui.messages", "console.ui.notes", "console.ui.ports", "console.screens.seat",
    "console.screens.ringing", "console.screens.call", "console.screens.handover",
)
"""Imported by the start-up worker, so the first login and ring don't import on the UI thread."""

_STILL_STARTING = ("仍在启动(首次运行要合成提示音),请稍后再登录",
                   "still starting (the first run renders the prompts); log in again shortly")
_LOGIN_QUEUED = ("正在打开值班记录,就绪后即登录……",
                 "opening the duty record; logging in when ready…")

KEY_SETTLE_SECONDS = 0.5
"""Longest a typed key waits for the one before it to be handled (a stuck widget)."""
KEY_SETTLE_PASSES = 2
"""Walks up a key's path before the next key: the key itself, then what its binding posted."""

HEADSET_WATCH_SECONDS = 0.25
"""How often the talking calls' headset streams are checked for a stall."""
CRASH_HANDOVER_SECONDS = 40.0
"""How long a seat ending on an error waits for its callers' hand-over to the gate post
(each transfer is bounded by the flow's own transfer timeout)."""
STARTUP_WAIT_SECONDS = 120.0
"""How long a login waits for the start-up worker (the first run renders every prompt)."""


@dataclass
class Started:
    """What the start-up worker hands the app: the parts `make_app` takes up front."""

    line: Line
    store: SeatStore
    flow: Any
    """A `SeatFlow`, or a `console.callflow.CallFlow` (adapted by `FlowPort`)."""
    night: NightSwitch | None = None
    line_sinks: list[Callable[[LineEvent], None]] | None = None
    """The line's event fan-out; the app adds itself to hear the line's status."""
    callbacks: CallbackDialer | None = None
    """The line's callback dialler (the headless one: the app takes it `for_seat`)."""


class StillStarting(UiError):
    """A login before the duty record is open (start-up still running or failed)."""

    title = "Start-up"


class _NotStarted:
    """Stands in for the duty record and the flow until start-up is done."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise StillStarting(f"{self._what} is not open yet (the console is starting)")


class _PendingLine:
    """The line before start-up is done: stopped, no calls; start and stop do nothing."""

    status = LineStatus.STOPPED

    def start(self, timeout: float = 10.0) -> None:
        return None

    def stop(self) -> None:
        return None

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return False

    def calls(self) -> list[Any]:
        return []

    def prepare(self, prompts: Iterable[Any]) -> None:
        return None


def _flow_port(flow: Any) -> SeatFlow:
    from console.ui.ports import FlowPort

    return cast("SeatFlow", flow if hasattr(flow, "subscribe") else FlowPort(flow))


class DutyConsoleApp(App[int]):
    """The seat. Screens call its methods (down); it hears messages from them (up)."""

    CSS_PATH = "app.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (Textual's)
    """Screens narrower than 100 columns (80×24, a tmux split) get `-narrow` (app.tcss)."""
    TITLE = "值班热线坐席"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "common.quit", priority=True),
        Binding("f12", "toggle_theme", "common.theme", show=False),
    ]

    def __init__(
        self,
        line: Line,
        store: SeatStore,
        clock: Clock,
        settings: UiSettings,
        flow: SeatFlow,
        *,
        night: NightSwitch | None = None,
        headset: Headset | None = None,
        manage_line: bool = True,
        starting: Callable[[], Started] | None = None,
    ) -> None:
        super().__init__()
        self.line = line
        self.store = store
        self.clock = clock
        self.settings = settings
        self.flow = flow
        self.night = night
        self.headset = headset or Headset(wanted=settings.headset_device)
        self.manage_line = manage_line
        self.language = settings.language
        self.model = SeatModel()
        self.starting = starting
        """Builds the parts in a worker (cold start); None: they were given, ready now."""
        self.ready = threading.Event()
        """Set once line, store and flow are the real ones (at once without `starting`)."""
        self.start_error: BaseException | None = None
        """Why start-up failed; the app exits 1 and `run_tui` prints it, titled."""
        self.drafts: DraftBook
        self.record_notes: RecordNotes
        if starting is None:
            self._open_notes()
            self.ready.set()
        self.agent_record: Agent | None = None
        self.bridges: dict[str, HeadsetBridge] = {}
        """Headset bridges of calls the agent is talking on."""
        self.callbacks: CallbackDialer | None = None
        """Places the agent's callbacks (回访) from the follow-ups screen; None: no line."""
        self._headset_watch: Timer | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._shut_down = False
        self._quitting = False
        """Ctrl+Q confirmed: the calls go to the gate post, then the seat exits."""
        self._crashed = False
        """An error nothing handled is ending the seat (`_fatal_error`)."""
        self._quit_waiting_told = False
        self._held_keys: deque[events.Key] = deque()
        """Typed keys waiting for the key before them to be handled (`on_event`)."""
        self._key_in_flight: object | None = None
        self.board: BoardFeed | None = None
        """This seat's part in the team board (`console.store.board`): publishes the seat's
        presence, hears the team's. Opened at `_go_live` for a record that claimed its seat;
        a test may set its own before the app runs."""
        self.title = text("app.title", self.language)
        from console.screens.keys import localize_bindings

        localize_bindings(self, self.language)  # the footer's ^q in the seat's language

    # ------------------------------------------------------------ the seat's state

    # The seat's state lives in its plain-Python model (`console.ui.model.SeatModel`, no
    # Textual): these read and set it there, for the app's own code and its screens' view.

    @property
    def agent(self) -> SeatAgent | None:
        """The logged-in agent's state machine (`SeatModel.agent`)."""
        return self.model.agent

    @agent.setter
    def agent(self, value: SeatAgent | None) -> None:
        self.model.agent = value

    @property
    def team_board(self) -> Board | None:
        """The team board as last heard (`SeatModel.team_board`)."""
        return self.model.team_board

    @property
    def board_live(self) -> bool:
        """The board's listener hears the database (`SeatModel.board_live`)."""
        return self.model.board_live

    @property
    def line_status(self) -> LineStatus:
        return self.model.line_status

    @line_status.setter
    def line_status(self, value: LineStatus) -> None:
        self.model.line_status = value

    @property
    def line_reason(self) -> str:
        return self.model.line_reason

    @line_reason.setter
    def line_reason(self, value: str) -> None:
        self.model.line_reason = value

    @property
    def headset_status(self) -> HeadsetStatus:
        return self.model.headset_status

    @headset_status.setter
    def headset_status(self, value: HeadsetStatus) -> None:
        self.model.headset_status = value

    @property
    def notes(self) -> dict[str, CallNotes]:
        """Latest notes per call while its screen is open (`SeatModel.notes`)."""
        return self.model.notes

    @property
    def _typed(self) -> dict[str, int]:
        return self.model.typed

    # ------------------------------------------------------------ keys in order

    async def on_event(self, event: events.Event) -> None:
        """Route each typed key only once the key before it has been handled.

        Textual routes a key to the widget focused *when the app reads it* and resolves
        non-priority bindings (Tab's focus_next, a screen's F-keys, Enter moving to the next
        field) only after the key has gone through that widget's queue and back up to the
        app. A burst (a paste of keys, a password manager, a fast typist) is all read before
        the first Tab comes back: `1024⇥secret` landed whole in 工号, a call's notes in
        来电人 (issue 11, point 10). So the app holds each key until the one before it has
        made that round trip, and the next key goes to wherever the focus is then.
        """
        if isinstance(event, events.Key) and not self.screen_stack:
            # Closing (the screens are gone before the queue is): Textual's own key handling
            # would raise ScreenStackError on a key still queued, held or forwarded.
            log.debug("key %s dropped: no screen", event.key)
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._held_keys.append(event)
            if self._key_in_flight is None:
                await self._route_held_keys()
            return
        await super().on_event(event)

    async def _route_held_keys(self) -> None:
        if any(c.answering for c in self.model.calls.values()):
            return  # keys typed after an answer go to the screen it opens (`_answered`)
        while self._held_keys and self._key_in_flight is None:
            key = self._held_keys.popleft()
            try:
                screen = self.screen
            except Exception:  # no screen yet (starting) or none left (closing): Textual's
                log.debug("key %s dropped: no screen", key.key)  # own routing would raise
                continue
            if not screen.is_mounted:  # a screen pushed by the key before: let it focus
                self._held_keys.appendleft(key)
                token = self._key_in_flight = object()
                screen.call_after_refresh(self._key_settled, token)
                self.set_timer(KEY_SETTLE_SECONDS, lambda t=token: self._key_settled(t))
                return
            target = self.focused or screen
            token = self._key_in_flight = object()
            await super().on_event(key)
            self._settle_key(list(target.ancestors_with_self), 0, token, again=True)
            self.set_timer(KEY_SETTLE_SECONDS, lambda t=token: self._key_settled(t))

    def _settle_key(self, chain: list[Any], index: int, token: object, again: bool,
                    passes: int = KEY_SETTLE_PASSES) -> None:
        """Follow the key up its bubbling path (target … screen, app): at each node wait for
        what the key queued there, twice (a handler's posts come after it). Then again from
        the target: a binding the app ran for the widget (Enter's submit) posts a message
        that travels the same path (the login's Submitted moves the focus to the secret)."""
        if self._key_in_flight is not token:
            return
        if index >= len(chain):
            if passes > 1:
                self._settle_key(chain, 0, token, True, passes - 1)
            else:
                self._key_settled(token)
            return
        step = (lambda: self._settle_key(chain, index, token, False, passes)) if again else (
            lambda: self._settle_key(chain, index + 1, token, True, passes))
        if not chain[index].call_later(step):  # that node is gone (its screen closed)
            self._settle_key(chain, index + 1, token, True, passes)

    def _key_settled(self, token: object) -> None:
        if self._key_in_flight is not token:
            return
        self._key_in_flight = None
        if self._held_keys:
            self.call_later(self._route_held_keys)

    # ------------------------------------------------------------ life cycle

    def on_mount(self) -> None:
        from console.screens.login import LoginScreen

        self.theme = "textual-dark"
        self._previous_excepthook = threading.excepthook
        threading.excepthook = self._thread_failed
        self.push_screen(LoginScreen())
        if self.starting is None:
            self._go_live()
            self.run_in_thread(self._probe_headset, "headset")
            self.call_after_refresh(self._freeze_heap)  # parts given: start-up is done
        else:  # after the login screen's first paint: the worker competes for the GIL
            self.call_after_refresh(self._begin_start_up)
        self.set_interval(1.0, self._poll_line)

    def _begin_start_up(self) -> None:
        self.run_worker(self._start_parts, name="start-up", group="io", thread=True,
                        exit_on_error=False)
        self.run_in_thread(self._probe_headset, "headset")

    def _open_notes(self) -> None:
        from console.ui.notes import DraftBook, RecordNotes

        self.drafts = DraftBook(self.settings.drafts_dir)
        self.record_notes = RecordNotes(self.store, self.clock.now)

    def _go_live(self) -> None:
        """Hear the flow, then start the line, then the flow's watchers (on the UI thread,
        once the parts are real).

        The order is fixed: the gate-post watch probes over the line (before it is started
        the probe failed and the watch died, issue 11 point 2), and its first result must
        reach a seat that already listens (else `门岗: 未检测` until the next probe)."""
        self._unsubscribe = self.flow.subscribe(self._from_flow)
        self._start_board()
        if self.manage_line:
            self.run_in_thread(self._start_line_then_watchers, "line start")

    def _start_board(self) -> None:
        """Publish this seat's presence and hear the team's, once the record is live (its
        listener reads the board at once, in its own thread; nothing here waits)."""
        if self.board is None:
            from console.store.board import open_board

            self.board = open_board(self.store)
        if self.board is None:
            return
        self.board.start(lambda board: self.post_message(BoardHeard(board)),
                         lambda kind, words: self.post_message(BoardAlarm(kind, words)))
        self._publish_presence()

    def on_board_heard(self, message: BoardHeard) -> None:
        self.model.team_board = message.board
        self.model.board_live = True
        self._tell_screens(SeatChanged())

    def on_board_alarm(self, message: BoardAlarm) -> None:
        self.model.board_live = message.kind == "board_back"
        if not self.board_live:
            self.notify(message.words, title=word("no_board", self.language),
                        severity="warning", markup=False)
        self._tell_screens(SeatChanged())

    def _publish_presence(self) -> None:
        """Tell the team this seat's state (returns at once; nothing new: nothing sent)."""
        if self.board is None or self._shut_down:
            return
        try:
            self.board.publish(self.model.presence(self.board.seat, self.clock.now()))
        except DomainError as exc:
            log.warning("presence not published: %s", exc)

    def _start_line_then_watchers(self) -> None:
        """In a worker: the line's start blocks (REGISTER); a failure is reported and the
        watchers stay off, so the seat says `未检测`, not a false alarm about the gate post."""
        self.line.start()
        if not self._shut_down:
            self.flow.start()

    def _start_parts(self) -> None:
        """The start-up worker: build the parts, warm the imports, hand them to the UI."""
        import importlib

        assert self.starting is not None
        try:
            parts = self.starting()
            for name in WARM_UP:
                importlib.import_module(name)
        except BaseException as exc:
            log.error("start-up failed", exc_info=exc)
            self.call_from_thread(self._start_failed, exc)
            return
        self.call_from_thread(self._started, parts)

    def _started(self, parts: Started) -> None:
        if self._shut_down:  # closed while starting: run_tui stops what was built
            return
        self.line = parts.line
        self.store = parts.store
        self.flow = _flow_port(parts.flow)
        self.night = parts.night
        if parts.callbacks is not None:
            self.callbacks = parts.callbacks.for_seat(busy=lambda: bool(self._calls_on_line()))
        self._open_notes()
        if parts.line_sinks is not None:
            parts.line_sinks.append(self.on_line_event)
        self._go_live()
        self.ready.set()
        self.refresh_screens()
        self.call_after_refresh(self._freeze_heap)

    def _freeze_heap(self, milestone: str = "started") -> None:
        """Keep what is alive now out of full collections (once a process per milestone)."""
        from console.ui.heap import freeze_heap

        freeze_heap(milestone)

    def _start_failed(self, exc: BaseException) -> None:
        self.start_error = exc
        self.exit(1)

    def _thread_failed(self, args: threading.ExceptHookArgs) -> None:
        """A SIP/flow thread died: log the traceback and show a titled notification.

        Python's default hook prints to stderr, which is the terminal the TUI draws on:
        the traceback would land on the agent's screen (and garble it).
        """
        name = args.thread.name if args.thread is not None else "a thread"
        exc = args.exc_value
        log.error("thread %s failed", name,
                  exc_info=(args.exc_type, exc, args.exc_traceback))  # type: ignore[arg-type]
        if exc is None or isinstance(exc, SystemExit):
            return
        try:
            self.call_from_thread(
                self.notify, f"{name}: {exc}", title=title_of(exc), severity="error"
            )
        except RuntimeError:  # the app's loop is gone (shutting down) or this is its thread
            pass

    def _from_flow(self, event: FlowEvent) -> None:
        """Flow threads call this: it only posts (thread-safe)."""
        from console.ui.messages import FlowEventPosted

        self.post_message(FlowEventPosted(event))

    def on_line_event(self, event: LineEvent) -> None:
        """For the line's event sink (any thread): line status news into the app."""
        if isinstance(event, LineStatusChanged):
            from console.ui.messages import LineStatusPosted

            self.post_message(LineStatusPosted(event.status, event.reason))

    def _poll_line(self) -> None:
        try:
            status = self.line.status
        except Exception as exc:
            log.warning("line status unreadable: %s", exc)
            return
        if status is not self.line_status:
            from console.ui.messages import LineStatusPosted

            self.post_message(LineStatusPosted(status, self.line_reason))

    def on_line_status_posted(self, message: LineStatusPosted) -> None:
        changed = message.status is not self.line_status
        self.line_status = message.status
        self.line_reason = message.reason
        if changed and message.status is LineStatus.FAILED:
            self.notify(message.reason or message.status.value,  # the registrar's words
                        title=text("line.failed", self.language), severity="error",
                        markup=False)
        self.refresh_screens()

    def _probe_headset(self) -> None:
        status = self.headset.probe()
        self.call_from_thread(self._headset_found, status)

    def _headset_found(self, status: HeadsetStatus) -> None:
        self.headset_status = status
        if status.state is not HeadsetState.READY:
            self.notify(  # the detail names sound devices: their names, never markup
                status.detail, title=text("headset.none", self.language), severity="warning",
                markup=False,
            )
        self.refresh_screens()

    async def action_quit(self) -> None:
        """Quit, but never drop a caller (issue 11, point 7; duty rules §1-2).

        With calls up or ringing the seat asks first; confirmed, each call goes to the gate
        post, the after-hours answerer, by the flow's own transfer (recorded as forwarded):
        a ringing or held call is taken for that, the agent's call is transferred. Calls the
        console is finishing (a message, the survey, a night forward) are waited for. The
        seat exits only when no call is left; a transfer the gate post refused keeps it open
        with the call (the line could serve on headless, but then a caller would only hear
        the hold prompt and the message box, with nobody to take over)."""
        from console.screens.dialogs import ConfirmScreen

        live = self._calls_on_line()
        if not live or not self.manage_line:
            self.shutdown()
            self.exit(0)
            return
        if self._quitting:
            self.notify(text("quit.waiting", self.language).format(n=len(live)),
                        title=text("quit.title", self.language))
            return
        if isinstance(self.screen, ConfirmScreen):
            return
        self.push_screen(ConfirmScreen(
            text("quit.confirm", self.language).format(n=len(live)), self._hand_over_and_quit
        ))

    def _calls_on_line(self) -> list[LiveCall]:
        return [c for c in self.model.calls.values() if c.phase is not Phase.ENDED]

    def _hand_over_and_quit(self) -> None:
        """Confirmed: hand each call to the gate post (in a worker), then exit once none is
        left on the line."""
        calls = self._calls_on_line()
        self._quitting = True
        who = self.agent.agent_id if self.agent is not None else "console"
        self.notify(text("quit.handing", self.language).format(n=len(calls)),
                    title=text("quit.title", self.language))

        def hand_over() -> None:
            self.call_from_thread(self._handed_over, self._hand_over_calls(calls, who))

        self.run_in_thread(hand_over, "quit: hand over")

    def _hand_over_calls(self, calls: list[LiveCall], who: str) -> list[tuple[str, bool]]:
        """Hand each call to the gate post by the flow's own transfer (blocking: a worker,
        or a seat ending on an error); returns (Call-ID, taken for the hand-over) of each
        call the gate post did not take. A ringing or held call is taken for it, the agent's
        call transferred; one the console is finishing (message, survey, night forward) is
        left to finish."""
        failed: list[tuple[str, bool]] = []
        for call in calls:
            if call.takeable:
                taken = self.flow.take_call(call.call_id, who)
                if not (taken and self.flow.transfer_to_gate_post(call.call_id)):
                    failed.append((call.call_id, taken))
            elif call.phase is Phase.AGENT and call.step in (CallStep.CONVERSATION,
                                                               CallStep.HOLD,
                                                               CallStep.GREETING):
                if not self.flow.transfer_to_gate_post(call.call_id):
                    failed.append((call.call_id, False))
        return failed

    def _hand_over_at_crash(self) -> None:
        """The seat is ending on an error with callers on the line: they go to the gate post
        as a confirmed Ctrl+Q would send them, not to the line's stop (480 to a ringing
        caller, BYE to a talking one). Bounded; the flow's events are no longer heard."""
        calls = self._calls_on_line()
        if not calls:
            return
        who = self.agent.agent_id if self.agent is not None else "console"
        outcome: list[list[tuple[str, bool]]] = []
        worker = threading.Thread(target=lambda: outcome.append(self._hand_over_calls(calls, who)),
                                  name="crash hand-over", daemon=True)
        worker.start()
        worker.join(CRASH_HANDOVER_SECONDS)
        failed = outcome[0] if outcome else [(c.call_id, False) for c in calls]
        log.error("the seat ended on an error with %d call(s) on the line: %d handed to the "
                  "gate post, %d not (%s)", len(calls), len(calls) - len(failed), len(failed),
                  ", ".join(call_id for call_id, _ in failed) or "none")

    def _handed_over(self, failed: list[tuple[str, bool]]) -> None:
        if failed:
            self._quitting = False
            self.notify(text("quit.failed", self.language).format(n=len(failed)),
                        title=text("quit.title", self.language), severity="error",
                        timeout=30)
            agent = self.agent
            for call_id, taken in failed:  # taken for the hand-over: now the agent's call
                call = self.model.calls.get(call_id)
                if taken and agent is not None and call is not None:
                    self._took(call, agent)
            return
        self._quit_when_clear()

    def _quit_when_clear(self) -> None:
        if not self._quitting:
            return
        left = self._calls_on_line()
        if left:
            if not self._quit_waiting_told:
                self._quit_waiting_told = True
                self.notify(text("quit.waiting", self.language).format(n=len(left)),
                            title=text("quit.title", self.language))
            self.set_timer(0.2, self._quit_when_clear)
            return
        self.shutdown()
        self.exit(0)

    def on_unmount(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Save every note now, stop hearing the flow, stop the line (before the loop ends)."""
        if self._shut_down:
            return
        self._shut_down = True
        previous = getattr(self, "_previous_excepthook", None)
        if previous is not None and threading.excepthook == self._thread_failed:
            threading.excepthook = previous
        from console.screens.call import CallScreen

        for screen in self.screen_stack:
            if isinstance(screen, CallScreen):  # what was typed since the last debounce
                notes, call_id = screen.take_notes()
                self._save_draft(call_id, notes, 1 << 62)
        # Closed any other way (exit(), SIGTERM, the terminal gone), the screens are closed
        # before the app's unmount: what the seat was told at each edit is saved instead.
        for call_id, version in list(self._typed.items()):
            try:
                self._save_draft(call_id, self.notes[call_id], version)
            except Exception as exc:  # NotesError: a full disk must not stop the shutdown
                log.warning("draft of %s not saved at exit: %s", call_id, exc)
        for bridge in list(self.bridges.values()):
            try:
                bridge.stop()
            except Exception as exc:
                log.warning("headset stop: %s", exc)
        self.bridges.clear()
        if self.board is not None:  # the seat offline on every board (bounded), then stop
            try:
                self.board.stop()
            except Exception as exc:
                log.warning("team board stop: %s", exc)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.manage_line and self.ready.is_set():
            if self._crashed:
                try:
                    self._hand_over_at_crash()
                except Exception:
                    log.exception("crash hand-over failed")
            try:
                self.flow.stop()
            except Exception as exc:
                log.warning("flow stop: %s", exc)
            try:
                self.line.stop()
            except Exception as exc:
                log.warning("line stop: %s", exc)

    def _fatal_error(self) -> None:
        """An error nothing handled (Textual ends the app): the traceback goes to the log,
        the terminal gets one line, the exit code is 1 (Textual's own ending prints a
        screenful of traceback with locals to whoever sits at the seat)."""
        error = sys.exc_info()[1] or self._exception
        log.error("the seat stopped on an internal error", exc_info=error)
        self._crashed = True  # the shutdown hands the callers on the line to the gate post
        files = [getattr(h, "baseFilename", "") for h in logging.getLogger().handlers]
        where = next((f for f in files if f), "the console log")
        words = f"{type(error).__name__}: {error}".splitlines()[0] if error else "unknown"
        self.bell()
        self._exit_renderables.append(
            Text(text("app.crashed", self.language).format(error=words, log=where)))
        self._close_messages_no_wait()

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        lang = self.language
        from console.store import AgentRole

        who = self.agent_record
        if who is not None and who.role is AgentRole.AGENT:  # the seat's actions: agents only
            yield SystemCommand(text("night.title", lang), "Night mode", self.open_night_switch)
            yield SystemCommand(text("away.title", lang), "Away / back", self.toggle_away)
            yield SystemCommand(
                text("handover.write", lang), "Write the handover", self.open_handover
            )
        yield SystemCommand(text("common.theme", lang), "Dark / light", self.action_toggle_theme)

    # ------------------------------------------------------------ workers and errors

    def run_in_thread(self, fn: Callable[[], Any], name: str) -> Worker[Any]:
        """Run blocking `fn` in a thread worker; a failure becomes a titled notification."""
        return self.run_worker(fn, name=name, group="io", thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report(event.worker.error)

    def report(self, exc: BaseException) -> None:
        """Show a failure as a notification with a title; log it in full."""
        log.warning("%s: %s", title_of(exc), exc, exc_info=exc)
        title, message = worded(exc, self.language)  # the text table's words when it has them
        # A message may quote what was typed or read (a note, a path, a SIP header): the
        # toast shows it as written; parsed as markup, "[/]" would stop the console.
        self.notify(message, title=title, severity="error", markup=False)

    # ------------------------------------------------------------ login and handover

    def login_blocking(self, agent_id: str, secret: str) -> None:
        """Check a login (blocking: from a worker); posts `LoggedIn` or raises `StoreError`.

        During a cold start it first waits for the start-up worker (the duty record).
        """
        from console.ui.messages import LoggedIn

        if not self.ready.wait(STARTUP_WAIT_SECONDS):
            raise StillStarting(_STILL_STARTING[self.language.value == "en"])
        if self.start_error is not None:
            raise StillStarting(f"{title_of(self.start_error)}: {self.start_error}")
        agent = self.store.verify_secret(agent_id, secret)
        waiting = [
            h
            for h in self.store.handovers()
            if h.accepted_by is None and h.outgoing != agent.agent_id
        ]
        self.post_message(LoggedIn(agent, waiting[-1] if waiting else None))

    def login_queued_note(self) -> str:
        """What the login screen says while a login waits for the start-up worker."""
        return _LOGIN_QUEUED[self.language.value == "en"]

    def on_logged_in(self, message: LoggedIn) -> None:
        from console.screens.handover import HandoverAcceptScreen
        from console.screens.seat import SeatScreen
        from console.store import AgentRole

        self.call_after_refresh(self._freeze_heap, "logged in")  # the role's screen is up
        policy = self.settings.attendance()  # the config's late / early / away thresholds
        self.agent = SeatAgent(message.agent.agent_id, policy)
        self.agent_record = message.agent
        self.record_notes.who = message.agent.agent_id
        change = self.agent.login(self.clock.now())
        self._log_login(message.agent.agent_id, change.at, change.note or None, change.target)
        if message.agent.role is AgentRole.SUPERVISOR:
            from console.screens.supervisor import SupervisorScreen

            self.switch_screen(SupervisorScreen())  # review, not the seat (issue 6)
            return
        if message.agent.role is AgentRole.GATE_POST:
            from console.screens.gate_post import GatePostScreen

            self.switch_screen(GatePostScreen())  # the night's forwarded calls and notes
            return
        self.switch_screen(SeatScreen())
        if message.handover is not None:
            self.push_screen(HandoverAcceptScreen(message.handover))

    def _log_login(
        self, agent_id: str, at: dt.datetime, reason: str | None, first: SeatState
    ) -> None:
        """Log the login as a `logged_in` line ("late login" when late), then the seat's
        first state (ready) at the same moment: one worker, so the login is always first."""
        def log() -> None:
            self.store.set_agent_state(agent_id, SeatState.LOGGED_IN, reason, at)
            self.store.set_agent_state(agent_id, first, None, at)

        self.run_in_thread(log, "agent state")
        self._publish_presence()  # logged in: the team's board hears it at once

    def accept_handover(self, handover: Handover) -> None:
        agent = self.require_agent()

        def accept() -> None:
            from console.ui.messages import HandoverAccepted

            done = self.store.accept_handover(handover.key, agent.agent_id)
            self.post_message(HandoverAccepted(done))

        self.run_in_thread(accept, "accept handover")

    def on_handover_accepted(self, message: HandoverAccepted) -> None:
        self.notify(
            f"{message.handover.outgoing} → {message.handover.accepted_by}",
            title=text("handover.accepted", self.language),
            markup=False,
        )
        self.refresh_screens()

    def write_handover(self, notes: str, open_items: str, then_logout: bool = True) -> None:
        agent = self.require_agent()

        def write() -> None:
            self.store.write_handover(agent.agent_id, notes, open_items)
            self.call_from_thread(self._handover_written, then_logout)

        self.run_in_thread(write, "handover")

    def _handover_written(self, then_logout: bool) -> None:
        self.notify(
            text("handover.written", self.language), title=text("handover.write", self.language)
        )
        if then_logout:
            self.logout()

    def logout(self) -> None:
        from console.screens.login import LoginScreen

        agent = self.agent
        if agent is None:
            return
        try:
            change = agent.logout(self.clock.now())
        except DomainError as exc:
            self.report(exc)
            return
        self._store_state(change.target, change.note or None)
        self.agent = None
        self.agent_record = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(LoginScreen())

    def require_agent(self) -> SeatAgent:
        if self.agent is None:
            raise NotLoggedIn(text("agent.none", self.language))
        return self.agent

    def _store_state(self, state: SeatState, reason: str | None = None) -> None:
        agent = self.agent
        agent_id = agent.agent_id if agent else ""
        at = self.clock.now()
        if not agent_id:
            return
        self.run_in_thread(
            lambda: self.store.set_agent_state(agent_id, state, reason, at),
            "agent state",
        )
        self._publish_presence()  # the team's board hears each change the record logs

    # ------------------------------------------------------------ agent state

    def go_away(self, reason: str) -> None:
        agent = self.require_agent()
        change = agent.go_away(reason, self.clock.now())
        self._store_state(change.target, agent.away_reason)
        self.refresh_screens()

    def come_back(self) -> None:
        agent = self.require_agent()
        change = agent.back(self.clock.now())
        self._store_state(change.target, change.note or None)
        self.refresh_screens()

    def toggle_away(self) -> None:
        from console.screens.dialogs import AwayScreen

        try:
            agent = self.require_agent()
        except UiError as exc:
            self.report(exc)
            return
        if agent.state is SeatState.AWAY:
            self.come_back()
        else:
            self.push_screen(AwayScreen())

    def wrap_done(self) -> None:
        agent = self.require_agent()
        if agent.state is SeatState.AFTER_CALL_WORK:
            change = agent.wrap_done(self.clock.now())
            self._store_state(change.target)
        self.refresh_screens()

    def open_night_switch(self) -> None:
        from console.screens.night import NightSwitchScreen

        if self.night is None:
            self.notify(
                text("night.none_switch", self.language), title=text("night.title", self.language)
            )
            return
        self.push_screen(NightSwitchScreen())

    def switch_night(self, kind: OverrideKind | None, reason: str) -> None:
        """Set (or with `kind` None clear) the night-mode override; logged in the audit log."""
        agent = self.require_agent()
        if self.night is None:
            raise NotWired(text("night.none_switch", self.language))
        from console.ui.night_words import decision_text

        now = self.clock.now()
        if kind is None:
            self.night.clear_override()
            detail = "back to the schedule"  # the audit log's words (English, stable)
            shown = text("night.back", self.language)
        else:
            decision = self.night.set_override(kind, reason, agent.agent_id, now)
            detail = decision.reason
            shown = decision_text(decision, self.language)  # in the seat's language
        self.run_in_thread(
            lambda: self.store.audit("night_mode", agent.agent_id, detail), "night mode"
        )
        self.notify(shown, title=text("night.done", self.language), markup=False)  # typed reason
        self.refresh_screens()

    def open_handover(self) -> None:
        from console.screens.handover import HandoverWriteScreen

        if self.agent is None:
            self.report(NotLoggedIn(text("agent.none", self.language)))
            return
        self.push_screen(HandoverWriteScreen())

    # ------------------------------------------------------------ calls

    def on_flow_event_posted(self, message: FlowEventPosted) -> None:
        event = message.event
        call = self.model.apply(event)
        if call is not None and isinstance(event, CallArrived):
            self._caller_name(call)
            self._arrived(call)
        elif call is not None and isinstance(event, CallAnswered):
            if event.answered_by != "auto" and self.agent is not None:
                pass  # our own take_call; the screen was pushed by answer()
        elif call is not None and isinstance(event, CallFinished):
            self._finished(call)
        elif isinstance(event, ForwardAttempted) and forward_failed(event):
            self.notify(  # the caller's number and the gate post's answer: never markup
                f"{call.caller if call else event.call_id} → {event.target}: {event.outcome}",
                title=text("gate.forward_failed", self.language), severity="error",
                markup=False, timeout=30,
            )
        self._tell_screens(SeatChanged(event, call))

    def _caller_name(self, call: LiveCall) -> None:
        try:
            for sip_call in self.line.calls():
                if sip_call.call_id == call.call_id:
                    call.caller_name = sip_call.caller_name
        except Exception as exc:  # the name is a nicety; the number is enough
            log.debug("caller name lookup failed: %s", exc)

    def _arrived(self, call: LiveCall) -> None:
        from console.screens.call import CallScreen
        from console.screens.ringing import RingingScreen

        if call.mode is Mode.NIGHT:
            return
        on_call = any(isinstance(s, CallScreen) and s.live for s in self.screen_stack)
        if on_call:
            self.notify(  # the caller's number comes from the INVITE: shown, never parsed
                call.caller, title=text("seat.waiting", self.language), severity="warning",
                markup=False,
            )
            return
        if not any(isinstance(s, RingingScreen) for s in self.screen_stack):
            self.push_screen(RingingScreen(call.call_id))

    def _finished(self, call: LiveCall) -> None:
        self._stop_headset(call.call_id)
        agent = self.agent
        if agent is not None and call.answered_by == agent.agent_id:
            if agent.state is SeatState.ON_CALL:
                change = agent.call_ended(self.clock.now())
                self._store_state(change.target)
        call_id, notes = call.call_id, self.notes.get(call.call_id)
        if notes is not None:  # read here, on the loop: the worker never reads `notes`
            self.run_in_thread(lambda: self._sync_notes(call_id, notes), "notes")

    @on(AnswerRequested)
    def _answer_requested(self, message: AnswerRequested) -> None:
        self.answer(message.call_id)

    def answer(self, call_id: str) -> None:
        """Take a ringing, held or waiting call for the logged-in agent, in a worker: the
        flow first claims the call for this seat (ring-all), which waits for the shared
        record up to its claim timeout (0.4 s), and that must not hold the UI loop (the
        banner, the keys, other calls' events). The banner says it is answering meanwhile;
        the call screen opens when the flow gave the agent the call (`_answered`)."""
        try:
            agent = self.require_agent()
        except UiError as exc:
            self.report(exc)
            return
        call = self.model.calls.get(call_id)
        if call is None or not call.takeable:
            self._too_late(call)
            return
        if self.callbacks is not None and self.callbacks.placing:
            # One conversation on the headset: the caller waits (the flow holds them with
            # the busy prompt, as for a second call) until the callback is hung up.
            self.notify(text("ring.on_callback", self.language),
                        title=text("ring.title", self.language), severity="warning")
            return
        if call.answering:  # a second press while the claim is out: one claim per call
            return
        call.answering = True
        self._tell_screens(SeatChanged(None, call))
        agent_id = agent.agent_id

        def claim() -> None:
            taken = False
            try:
                taken = bool(self.flow.take_call(call_id, agent_id))
            finally:  # a failure is reported by the worker; the banner must not stay stuck
                self.call_from_thread(self._answered, call_id, agent_id, taken)

        self.run_worker(claim, name=f"answer {call_id}", group="answer", thread=True,
                        exit_on_error=False)

    def _answered(self, call_id: str, agent_id: str, taken: bool) -> None:
        """The flow's answer to the agent's press (on the UI loop)."""
        call = self.model.calls.get(call_id)
        if call is not None:
            call.answering = False
        self.call_later(self._route_held_keys)  # the keys typed since, to the screen in front
        agent = self.agent
        if not taken or call is None or agent is None or agent.agent_id != agent_id:
            self._too_late(call)
            if call is not None:
                self._tell_screens(SeatChanged(None, call))
            return
        self._took(call, agent)

    def _too_late(self, call: LiveCall | None) -> None:
        """The call is not to be had. When another seat took it, the banner says who (the
        flow's AnsweredElsewhere), so there is nothing to add here."""
        if call is not None and call.taken_elsewhere:
            return
        self.notify(text("ring.too_late", self.language), title=text("ring.title", self.language))

    def _took(self, call: LiveCall, agent: SeatAgent) -> None:
        """The flow gave the agent `call`: on call, the call screen, the headset."""
        from console.screens.call import CallScreen
        from console.screens.ringing import RingingScreen

        now = self.clock.now()
        if agent.state is SeatState.AWAY:
            agent.back(now)
        if agent.state is not SeatState.ON_CALL:
            change = agent.call_started(now)
            self._store_state(change.target)
        call.phase = Phase.AGENT
        call.answered_by = agent.agent_id
        call.talking_since = call.talking_since or now
        if isinstance(self.screen, RingingScreen):
            self.pop_screen()
        self.push_screen(CallScreen(call.call_id, self.drafts.load(call.call_id)))
        self._start_headset(call.call_id)

    def _start_headset(self, call_id: str) -> None:
        """Bridge the call to the headset when there is one and the line gives us its audio.

        The line's calls carry the audio (`sip.api.Call.read_audio` / `write_audio`); a call
        object without them (a test fake, say) goes on with prompts only (logged).
        """
        status = self.headset_status
        if status.state is not HeadsetState.READY or status.device is None:
            return
        channel = None
        try:
            for sip_call in self.line.calls():
                if sip_call.call_id == call_id and hasattr(sip_call, "read_audio") and hasattr(
                    sip_call, "write_audio"
                ):
                    channel = sip_call
        except Exception as exc:
            log.warning("line calls unreadable: %s", exc)
        if channel is None:
            log.info("call %s: the line offers no audio path; headset not bridged", call_id)
            return
        factory = self.headset.stream_factory
        bridge = HeadsetBridge(status.device, channel, factory)  # type: ignore[arg-type]
        self.bridges[call_id] = bridge
        self.run_in_thread(bridge.start, "headset")
        if self._headset_watch is None:  # the watch starts with the first bridge it watches
            self._headset_watch = self.set_interval(HEADSET_WATCH_SECONDS, self._watch_headsets)

    def callback_bridge(self, call: Any) -> Callable[[], None] | None:
        """Bridge an answered callback to the headset, as an answered incoming call is;
        returns how to stop it (None: no headset, the callback goes on without audio here).
        Called on the callback's worker thread."""
        status = self.headset_status
        if status.state is not HeadsetState.READY or status.device is None:
            return None
        bridge = HeadsetBridge(status.device, call, self.headset.stream_factory)
        bridge.start()
        return bridge.stop

    def callback_changed(self, up: bool) -> None:
        """The agent's callback went out (on call, as for a call taken) or ended (after-call
        work, as after a call): the state log keeps both (duty rules §4). On the UI loop."""
        agent = self.agent
        if agent is None:
            return
        now = self.clock.now()
        if up:
            if agent.state is SeatState.AWAY:
                agent.back(now)
            if agent.state is not SeatState.ON_CALL:
                self._store_state(agent.call_started(now).target)
        elif agent.state is SeatState.ON_CALL and not self._calls_on_line():
            self._store_state(agent.call_ended(now).target)
        self.refresh_screens()

    def _watch_headsets(self) -> None:
        """Reopen a headset stream that stalled (PortAudio after an underrun on a busy PC)."""
        for bridge in list(self.bridges.values()):
            if bridge.stalled():
                self.run_in_thread(bridge.reopen, "headset")

    def _stop_headset(self, call_id: str) -> None:
        bridge = self.bridges.pop(call_id, None)
        if bridge is not None:
            self.run_in_thread(bridge.stop, "headset")
        if not self.bridges and self._headset_watch is not None:  # nothing left to watch
            self._headset_watch.stop()
            self._headset_watch = None

    @property
    def headset_watched(self) -> bool:
        """Whether the headset watch runs (only while a bridge is open)."""
        return self._headset_watch is not None

    def _flow_action(
        self, act: Callable[[], bool], name: str, done: Callable[[bool], None] | None = None
    ) -> None:
        """Run a flow action (it may block until the call thread served it) in a worker."""

        def run() -> None:
            ok = bool(act())
            if done is not None:
                self.call_from_thread(done, ok)

        self.run_in_thread(run, name)

    # ------------------------------------------------------------ intents from the screens

    def _say(self, key: str, title: str, severity: str = "information") -> None:
        self.notify(text(key, self.language), title=text(title, self.language),
                    severity=severity)  # type: ignore[arg-type]

    @on(SurveyRequested)
    def _survey_requested(self, message: SurveyRequested) -> None:
        def started(ok: bool) -> None:
            if ok:
                self._say("call.survey_started", "call.survey")

        call_id = message.call_id
        self._flow_action(lambda: self.flow.finish_call(call_id), "finish_call", started)

    @on(TransferRequested)
    def _transfer_requested(self, message: TransferRequested) -> None:
        def transferred(ok: bool) -> None:
            if ok:
                self._say("call.transferred", "call.transfer")
            else:
                self._say("call.transfer_failed", "call.transfer", "warning")

        call_id = message.call_id
        self._say("call.transferring", "call.transfer")
        self._flow_action(lambda: self.flow.transfer_to_gate_post(call_id),
                          "transfer_to_gate_post", transferred)

    @on(HoldToggled)
    def _hold_toggled(self, message: HoldToggled) -> None:
        def held(ok: bool) -> None:
            if not ok:
                self._say("call.hold_failed", "call.hold", "warning")

        def resumed(ok: bool) -> None:
            if ok:
                self._say("call.resumed", "call.hold")
            else:
                held(False)

        call_id = message.call_id
        if message.hold:
            self._flow_action(lambda: self.flow.hold(call_id), "hold", held)
        else:
            self._flow_action(lambda: self.flow.resume(call_id), "resume", resumed)

    @on(HangUpRequested)
    def _hang_up_requested(self, message: HangUpRequested) -> None:
        call_id = message.call_id
        self._flow_action(lambda: self.flow.hang_up(call_id), "hang_up")

    @on(NotesSaveRequested)
    def _notes_save_requested(self, message: NotesSaveRequested) -> None:
        self.save_notes(message.call_id, message.notes, message.version)

    @on(AfterCallDone)
    def _after_call_done(self, message: AfterCallDone) -> None:
        """F10: the notes must be able to close the call (a category, a due time that reads;
        else the agent fixes them, the screen stays and nothing is done); then their
        follow-up, ready again, and the call screen closes."""
        from console.screens.call import CallScreen

        notes = message.notes
        try:
            wrap_up.check_finished(notes.category, notes.follow_up_due, self.settings.timezone)
        except WrapUpError as exc:
            self.report(exc)
            return
        try:
            if notes.follow_up_due:
                self.open_follow_up(message.call_id, notes)
            self.wrap_done()
        except UiError as exc:
            self.report(exc)
        self._finish_notes(message.call_id, notes)
        for screen in list(self.screen_stack):
            if isinstance(screen, CallScreen) and screen.call_id == message.call_id:
                if screen is self.screen:
                    screen.dismiss()

    @on(EventReportFiled)
    def _event_report_filed(self, message: EventReportFiled) -> None:
        reporter = self.agent.agent_id if self.agent else ""
        call_id, summary = message.call_id, message.summary

        def file() -> None:
            key = self.record_notes.key(call_id)
            self.store.report_event(reporter, summary, key)
            self.call_from_thread(self._say, "event.filed", "event.title")

        self.run_in_thread(file, "event-report")

    @on(AwayRequested)
    def _away_requested(self, message: AwayRequested) -> None:
        from console.screens.dialogs import AwayScreen

        if message.reason is None:
            self.toggle_away()
            return
        try:
            self.go_away(message.reason)
        except (DomainError, UiError) as exc:
            self.report(exc)  # the dialog stays up for another reason
            return
        self._close(AwayScreen)

    @on(WrapDoneRequested)
    def _wrap_done_requested(self, message: WrapDoneRequested) -> None:
        try:
            self.wrap_done()
        except UiError as exc:
            self.report(exc)

    @on(NightRequested)
    def _night_requested(self, message: NightRequested) -> None:
        self.open_night_switch()

    @on(NightSwitchRequested)
    def _night_switch_requested(self, message: NightSwitchRequested) -> None:
        from console.screens.night import NightSwitchScreen

        try:
            self.switch_night(message.kind, message.reason)
        except (DomainError, UiError) as exc:
            self.report(exc)  # the dialog stays up: a reason may be missing
            return
        self._close(NightSwitchScreen)

    @on(HandoverRequested)
    def _handover_requested(self, message: HandoverRequested) -> None:
        self.open_handover()

    @on(HandoverWriteRequested)
    def _handover_write_requested(self, message: HandoverWriteRequested) -> None:
        from console.screens.handover import HandoverWriteScreen

        self._close(HandoverWriteScreen)
        try:
            self.write_handover(message.notes, message.open_items)
        except UiError as exc:
            self.report(exc)

    @on(HandoverAcceptRequested)
    def _handover_accept_requested(self, message: HandoverAcceptRequested) -> None:
        from console.screens.handover import HandoverAcceptScreen

        self._close(HandoverAcceptScreen)
        try:
            self.accept_handover(message.handover)
        except UiError as exc:
            self.report(exc)

    def _close(self, kind: type[Screen[Any]]) -> None:
        """Close the dialog in front when it is a `kind` (the dialog whose intent was done)."""
        if isinstance(self.screen, kind):
            self.screen.dismiss()

    @on(LogoutRequested)
    def _logout_requested(self, message: LogoutRequested) -> None:
        self.logout()

    @on(GateNoteRequested)
    def _gate_note_requested(self, message: GateNoteRequested) -> None:
        """The gate post's note, appended to the call's latest notes (amendments applied)
        as an amendment signed by the gate post's ID and the seat's time; then the list."""
        from console.screens.gate_post import note_line

        who = self.agent.agent_id if self.agent else ""
        key, note, at = message.call_key, message.note, self.clock.now()

        def save() -> None:
            current = self.store.get_call(key)
            self.store.amend(key, "notes", note_line(current.notes, who, at, note), who,
                             "门岗备注 gate post note")
            self.call_from_thread(self._say, "gate.saved", "gate.title")
            self.call_from_thread(self.refresh_screens)

        self.run_in_thread(save, "gate post note")

    @on(FollowUpCloseRequested)
    def _follow_up_close_requested(self, message: FollowUpCloseRequested) -> None:
        """A follow-up closed by hand, signed by the agent at the keys; then the lists."""
        from console.store import FollowUpStatus

        who = self.agent.agent_id if self.agent else ""
        key, note, status = message.key, message.note, FollowUpStatus(message.status)

        def close() -> None:
            self.store.close_follow_up_by_hand(key, who, note, status)
            self.call_from_thread(self._say, "fu.closed", "fu.title")
            self.call_from_thread(self._follow_ups_changed)

        self.run_in_thread(close, "close follow-up")

    def _follow_ups_changed(self) -> None:
        for screen in list(self.screen_stack):
            screen.post_message(FollowUpsChanged())

    # ------------------------------------------------------------ notes

    def on_notes_edited(self, message: NotesEdited) -> None:
        if self.record_notes.finished(message.call_id):  # the closing screen's last word
            return
        self.model.notes_edited(message.call_id, message.notes, message.version)

    def save_notes(self, call_id: str, notes: CallNotes, version: int) -> None:
        """Draft first (never lost), then the duty record; in a worker. Nothing for a call
        whose notes F10 made final (its screen's save as it closes comes after)."""
        if self.record_notes.finished(call_id):
            return
        self.model.notes_edited(call_id, notes)

        def save() -> None:
            self._save_draft(call_id, notes, version)
            self._sync_notes(call_id, notes, version)

        self.run_in_thread(save, "notes")

    def _save_draft(self, call_id: str, notes: CallNotes, version: int) -> None:
        """Write the draft (any thread: the seat's `notes` are the loop's, never set here)."""
        self.drafts.save(call_id, notes, version)

    def _finish_notes(self, call_id: str, notes: CallNotes) -> None:
        """F10's notes are final: the record gets them, then the seat forgets the call's
        notes (they grew by one entry per call for the seat's life). One worker, in that
        order; a save still under way for the call writes nothing after it."""

        def finish() -> None:
            try:
                self._save_draft(call_id, notes, _FINAL_NOTES)
                if self._sync_notes(call_id, notes, _FINAL_NOTES) in IN_THE_RECORD:
                    self.drafts.discard(call_id)  # the draft has done its job
            finally:
                self.record_notes.forget(call_id)
                self.drafts.forget(call_id)  # a draft the record lacks stays on disk
                self.call_from_thread(self._notes_finished, call_id)

        self.run_in_thread(finish, "notes")

    def _notes_finished(self, call_id: str) -> None:
        self.model.forget_notes(call_id)

    def _sync_notes(self, call_id: str, notes: CallNotes, version: int | None = None) -> str:
        """The notes into the record; `RecordNotes.write`'s outcome ("no record": only the
        draft has them)."""
        from console.store import StoreError

        notes.due_at(self.settings.timezone)  # a malformed due time is reported, not stored
        who = self.agent.agent_id if self.agent else ""
        try:
            return self.record_notes.write(call_id, notes, who, version)
        except StoreError as exc:
            # The draft is on disk; the record catches up on the next edit.
            log.warning("notes for %s not in the record yet: %s", call_id, exc)
            raise

    def open_follow_up(self, call_id: str, notes: CallNotes) -> None:
        """Create the follow-up (首问负责) the notes promise, owned by this agent."""
        agent = self.require_agent()
        due = notes.due_at(self.settings.timezone)
        if due is None:
            return
        description = notes.content or notes.action or call_id

        def add() -> None:
            self.store.add_follow_up(
                agent.agent_id,
                f"{notes.caller_name} {description}".strip(),
                due,
                self.record_notes.key(call_id),  # linked to its call for the review
            )

        self.run_in_thread(add, "follow-up")

    # ------------------------------------------------------------ screens

    def refresh_screens(self) -> None:
        """Tell every screen on the stack that the seat changed (line, headset, agent...)."""
        self._tell_screens(SeatChanged())

    def _tell_screens(self, change: SeatChanged) -> None:
        """One `SeatChanged` to each screen on the stack (it does not bubble back up); the
        team hears of it too (`_publish_presence`: only what changed is sent)."""
        self._publish_presence()
        if not self.is_running:  # shutting down: screens are losing their widgets
            return
        for screen in list(self.screen_stack):
            screen.post_message(SeatChanged(change.event, change.call))

    def now(self) -> dt.datetime:
        return self.clock.now()

    def open_follow_ups(self) -> list[Any]:
        """Blocking: call from a worker."""
        from console.store import FollowUpStatus

        return self.store.follow_ups(status=FollowUpStatus.OPEN)


def make_app(
    line: Line,
    store: SeatStore,
    clock: Clock,
    config: Any,
    flow: Any,
    *,
    night: NightSwitch | None = None,
    headset: Headset | None = None,
    manage_line: bool = True,
) -> DutyConsoleApp:
    """Build the seat with its collaborators.

    `config` is a `UiSettings` or a `console.config.ConsoleConfig`; `flow` is a `SeatFlow`
    or a `console.callflow.CallFlow` (adapted by `FlowPort`).
    """
    settings = config if isinstance(config, UiSettings) else UiSettings.from_config(config)
    return DutyConsoleApp(line, store, clock, settings, _flow_port(flow), night=night,
                          headset=headset, manage_line=manage_line)


def make_starting_app(
    clock: Clock,
    settings: UiSettings,
    starting: Callable[[], Started],
    *,
    headset: Headset | None = None,
) -> DutyConsoleApp:
    """The seat for a cold start: the login screen first, `starting` run in a worker.

    The app manages the line (starts it once it has it, stops it on exit); whoever built the
    parts seals and closes the duty record after `run()` returns.
    """
    return DutyConsoleApp(
        cast(Line, _PendingLine()), cast("SeatStore", _NotStarted("the duty record")), clock,
        settings, cast("SeatFlow", _NotStarted("the call flow")), headset=headset,
        starting=starting,
    )


def seat_view(app: DutyConsoleApp) -> SeatView:
    """The app as its screens see it; mypy checks here that it offers all of `SeatView`."""
    return app


def review_view(app: DutyConsoleApp) -> ReviewView:
    """The app as the supervisor's screens see it; mypy checks it offers all of it."""
    return app
