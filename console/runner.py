"""`duty-console run --headless`: the line unattended (gate post, overnight), logging to stdout.

The same `CallFlow` that drives the TUI runs here without it. `assemble` is the headless
composition root: config → duty record (calls a crash left open sealed as interrupted) →
prompts (rendered now, so no call waits for speech) → `DutyLine` (handed every prompt to
encode for its codecs, so the first call plays them at once) → `CallFlow` → `Headless`.
SIGTERM or SIGINT hangs up, unregisters, seals every open call in the duty record and
exits 0. A start-up failure is one titled line (file, key, value for the config), exit 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, cast

from console.callflow import CallFlow, Clock, ShiftedClock, SystemClock
from sip.api import Dialler, Line, LineEvent, Prompt, SipError

log = logging.getLogger("console.runner")


class Sealer(Protocol):
    """Seals calls still open in the duty record at shutdown; returns how many."""

    def __call__(self) -> int: ...


@dataclass
class Headless:
    """The running parts of a headless console and their start/stop order."""

    line: Line
    flow: CallFlow
    seal_open: Sealer | None = None
    store: Any = None
    """The `DutyRecord` (closed after the stop), when `assemble` built it."""
    parts: dict[str, Any] = field(default_factory=dict)
    """Everything else `assemble` built (records adapter, prompts, night mode, config)."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("signal %s: shutting down", signal.Signals(signum).name)
        self._stop.set()

    def run(self, ready: Callable[[], None] | None = None) -> int:
        """Start, serve until `request_stop`, stop cleanly; 0 on a clean stop."""
        try:
            self.line.start()
        except SipError as exc:
            log.error("%s: %s", exc.title, exc)
            return 1
        log.info("line %s; waiting for calls", self.line.status.value)
        self.flow.start()
        board = self._publish_presence()
        calendar = self.parts.get("calendar")
        if calendar is not None:
            calendar.start()  # the holiday calendar's end: checked once a day
        anchoring = self.parts.get("anchoring")
        if anchoring is not None:
            anchoring.start()  # the chain heads outside the database, every few minutes
        if ready is not None:
            ready()
        try:
            self._stop.wait()
        finally:
            if calendar is not None:
                calendar.stop()
            if board is not None:
                board.stop()  # the seat offline on every board (bounded)
            self.flow.stop()
            try:
                self.line.stop()
            except SipError as exc:
                log.warning("line stop: %s", exc)
            if self.seal_open is not None:
                sealed = self.seal_open()
                log.info("sealed %d open record(s)", sealed)
            if self.store is not None:
                # The last seals are in the outbox: let them land (≤ 5 s; not while the
                # database is away, then the next start applies them) before the anchor.
                self.store.settle(5.0, through_outage=False)
            if anchoring is not None:
                anchoring.stop()  # the shutdown anchor, after the last seals
            if self.store is not None:
                self.store.close()
        log.info("stopped")
        return 0


    def _publish_presence(self) -> Any:
        """The team board hears this line's calls, line and gate post (issue 13): a
        `BoardFeed` that only publishes, for a record that claimed this seat; else None."""
        if self.store is None:
            return None
        from console.line_presence import LinePresence
        from console.store.board import open_board

        board = open_board(self.store)
        if board is None:
            return None
        presence = LinePresence(board, self.store._now, lambda: self.line.status)
        sinks = self.parts.get("sinks")
        if sinks is not None:
            sinks.append(presence.on_line_event)
        self.flow.bus.subscribe(presence.on_flow_event)
        board.start_publishing()
        presence.start()
        return board


class RecordAlarms:
    """The duty record's alarms (database away/back, outbox at risk) for whoever listens.

    The headless line has them in its log already (the store logs each); a seat
    subscribes to show them on its status bar. Listeners run on the writer's thread.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[Any], None]] = []
        self.last: Any = None
        """The latest alarm (a seat that subscribes late still shows the current state)."""

    def subscribe(self, listener: Callable[[Any], None]) -> None:
        self._listeners.append(listener)

    def __call__(self, alarm: Any) -> None:
        self.last = alarm
        for listener in list(self._listeners):
            try:
                listener(alarm)
            except Exception:
                log.exception("record alarm listener failed")


def outbox_owner(cfg: Any) -> str:
    """The outbox's name: the seat's name (`[seat] name`) and which database it feeds.

    A restart of the same seat finds its own outbox; two seats (or one seat pointed at
    another database) in one outbox_dir never share one.
    """
    import hashlib

    digest = hashlib.sha256(str(cfg.database_url).encode()).hexdigest()[:10]
    return f"{cfg.seat_name}-{digest}"


LineFactory = Callable[[Any, Callable[[LineEvent], None]], Line]
"""Builds the line from `ConsoleConfig.line_config()` and the event sink (tests: a fake)."""


def duty_line(line_config: Any, sink: Callable[[LineEvent], None]) -> Line:
    """The real line (`sip.line`), imported only here so pyVoIP loads only when it is used."""
    from sip.line import DutyLine

    return cast(Line, DutyLine(line_config, sink))


def fixed_prompts(prompts: Any, agent_ids: Iterable[str]) -> list[Prompt]:
    """Every prompt the flow plays that is known at start-up (one greeting per agent)."""
    from console.prompts import PROMPT_NAMES

    fixed = [prompts.get(name) for name in PROMPT_NAMES if name != "greeting"]
    return fixed + [prompts.greeting_for(a) for a in sorted(set(agent_ids)) if a]


def assemble(
    config_path: str | Path,
    clock: Clock | None = None,
    environ: dict[str, str] | None = None,
    line_factory: LineFactory | None = None,
    **flow_overrides: Any,
) -> Headless:
    """Build the headless console from `console.toml`; every failure carries a `title`.

    `clock` is injected wall time (tests and demos run at 10:00 or 22:00); `line_factory`
    replaces the `DutyLine` (tests); `flow_overrides` replace single `FlowSettings` fields.
    The line is given every rendered prompt (`Line.prepare`) before it starts.
    """
    from zoneinfo import ZoneInfo

    from console import config as config_mod
    from console.adapters import LINE_NAME, ScheduleStaffing, StoreCallRecords, flow_settings
    from console.callflow.callback import CallbackDialer
    from console.callflow.events import RecordAlarm, RecordingAlarm
    from console.domain.night import NightMode
    from console.holidays.watch import CalendarWatch
    from console.prompts import PromptBook
    from console.store import DutyRecord, Outbox
    from console.store.anchor_log import Anchoring, open_anchor_log
    from console.store.claims import AnswerClaims

    cfg = config_mod.load(config_path, environ)
    if cfg.overridden:
        log.info("from the environment: %s", ", ".join(cfg.overridden))
    base = Path(config_path).resolve().parent
    clock = clock or SystemClock()
    # The anchor key and log are checked before the record is opened: nothing is created
    # when they are wrong (a log without its key, an edited last entry).
    anchor_key, anchor_log = open_anchor_log(cfg.anchors.log, cfg.anchors.key_file)
    record_alarms = RecordAlarms()
    # One clock (issue 11, point 5): the record stamps its rows, seals and lockouts by the
    # flow's and the seat's clock, read in the line's time zone; a pretend clock goes on
    # from the record's last moment instead of starting its morning over.
    store = DutyRecord(cfg.database_url, tz=ZoneInfo(cfg.timezone),
                       ring_limit_seconds=cfg.ring_limit.seconds, on_alarm=record_alarms,
                       clock=clock.now)
    try:
        if isinstance(clock, SystemClock | ShiftedClock):
            clock.settle(ZoneInfo(cfg.timezone), store.latest_time())
        # Call-path writes go to this line's own outbox and return at once; its writer
        # applies first what a previous run left there, then keeps up (issue 10).
        store.attach_outbox(Outbox(cfg.outbox_dir, outbox_owner(cfg),
                                   reserve_bytes=cfg.outbox_reserve_bytes))
        # Before the first call: the key binds every open (and start-up seals only bound
        # ones); the anchor log is written from `run` on, by one thread.
        store.anchor_key = anchor_key
        anchoring = (
            Anchoring(store.engine, anchor_log, cfg.anchors.interval_seconds)
            if anchor_log is not None
            else None
        )
        # This seat's own calls only: the seats of a hotline share one record and one line
        # name, and a seat's start must never seal a call another seat holds (issue 13).
        seat = cfg.seat_name
        store.claim_seat(seat)
        interrupted = store.seal_interrupted_on_start(lines=[LINE_NAME], seat=seat)
        if interrupted:
            log.warning("sealed %d call(s) a previous run left open", len(interrupted))
        agent_ids = [a.agent_id for a in store.agents()]
        prompts = PromptBook.load(cfg.prompt_settings(), agent_ids, base=base)
        night = NightMode(cfg.schedule())
        calendar = CalendarWatch(cfg.calendar, cfg.holidays.warn_days, clock,
                                 ZoneInfo(cfg.timezone), audit=store.audit)
        calendar.check()  # every start: "holiday calendar ends …", past it an audited alarm
        records = StoreCallRecords(store, seat=seat)
        sinks: list[Callable[[LineEvent], None]] = []

        def fan_out(event: LineEvent) -> None:
            for sink in list(sinks):
                sink(event)

        line = (line_factory or duty_line)(cfg.line_config(), fan_out)
        line.prepare(fixed_prompts(prompts, agent_ids))
        # Ring-all (issue 13): the seats registered for the hotline agree in the record
        # which one answers a call the PBX rang at all of them.
        claims = AnswerClaims(store, seat, LINE_NAME, clock=clock.now)
        flow = CallFlow(records, ScheduleStaffing(night), prompts,
                        flow_settings(cfg, **flow_overrides), clock=clock, line=line,
                        claims=claims)
        sinks.append(flow.on_line_event)
        # Callbacks (回访): this dialler never dials (attended=False, the domain's first
        # rule); a seat takes it `for_seat()` (console.ui.assemble). The line is its Dialler.
        # Recorded like an incoming call when recording is on; a recording that fails is an
        # alarm in the record and on the seat, and the callback goes on.
        def callback_alarm(call_id: str, detail: str) -> None:
            store.raise_alarm("recording_failed", f"callback {call_id}: {detail}")
            flow.bus.publish(RecordingAlarm(clock.now(), call_id, detail))

        callbacks = CallbackDialer(store, cast(Dialler, line), clock, line_name=LINE_NAME,
                                   seat=seat, recorder=flow.recorder, on_alarm=callback_alarm,
                                   seat_use=flow,
                                   ring_seconds=cfg.follow_ups.callback_ring_seconds)
        record_alarms.subscribe(lambda alarm: flow.bus.publish(RecordAlarm(
            clock.now(), alarm.kind, alarm.message, alarm.pending, alarm.unsaved)))
    except BaseException:
        store.close()
        raise
    log.info("assembled from %s: %s, seat %s, ring limit %d x %g s, gate post %s (%s)",
             config_path, cfg.centre, seat, cfg.ring_limit.rings, cfg.ring_limit.cadence,
             cfg.gate_post.uri, cfg.gate_post.method.value)
    return Headless(line, flow, seal_open=records.seal_open, store=store,
                    parts={"config": cfg, "records": records, "prompts": prompts,
                           "night": night, "sinks": sinks, "calendar": calendar,
                           "anchoring": anchoring, "record_alarms": record_alarms,
                           "callbacks": callbacks})


def install_signals(headless: Headless) -> None:
    signal.signal(signal.SIGTERM, headless.request_stop)
    signal.signal(signal.SIGINT, headless.request_stop)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def clock_from(text: str | None) -> Clock | None:
    """`--clock-start` as a clock (None: the system clock); StartupError if unreadable."""
    if not text:
        return None
    try:
        return ShiftedClock(datetime.fromisoformat(text))
    except ValueError as exc:
        raise StartupError(
            f"--clock-start {text!r}: {exc}; expected e.g. 2026-03-02T10:00"
        ) from None


class StartupError(Exception):
    """A command-line value the runner cannot use."""

    title = "Command line"


def _run(args: argparse.Namespace) -> int:
    if not args.headless:  # the TUI owns the terminal: it logs to --log-file
        from console.ui.assemble import run_tui

        return run_tui(args)
    configure_logging(args.log_level)
    try:
        headless = assemble(args.config, clock=clock_from(args.clock_start))
    except Exception as exc:
        # ConfigError, StoreError, PromptError/TtsError, SipError, FlowError: each has a title.
        title = getattr(exc, "title", None)
        if not isinstance(title, str) and not isinstance(exc, OSError):
            raise
        log.error("%s: %s", title or "Start-up", exc)
        return 2
    install_signals(headless)
    return headless.run()


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = subparsers.add_parser("run", help="run the duty line (the seat; --headless: no UI)")
    run.add_argument("--headless", action="store_true", help="no UI; log to stdout")
    run.add_argument("--config", default="console.toml", help="the console's TOML file")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run.add_argument("--log-file", default="duty-console.log",
                     help="where the TUI logs (without --headless)")
    run.add_argument("--clock-start", default=None, metavar="ISO",
                     help="pretend wall time starts here (demos, end-to-end tests)")
    run.set_defaults(handler=_run)
