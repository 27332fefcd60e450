"""`duty-console` with no sub-command (or `run` without `--headless`): the seat as a TUI.

There is one composition root, `console.runner.assemble`: config → duty record → prompts →
night mode → line → call flow, the same parts the headless line runs. This module only adds
the app on top: the app's night switch is the very `NightMode` behind the flow's `Staffing`
(an override set on screen routes the next call), and the app hears the line's status
through the same event fan-out as the flow.

Cold start (`run_tui`): only the config is read before the app runs (a bad one is one titled
line, exit 1); the login screen is up at once and `Startup` runs `assemble` in the app's
start-up worker, so the duty record (SQLAlchemy), the prompts and the line are built while the
agent types. `build_console` is the same wiring done up front (tests).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.app import DutyConsoleApp, Started
    from console.callflow import Clock
    from console.headset import Headset
    from console.runner import Headless

log = logging.getLogger("console.ui")

STARTUP_JOIN_SECONDS = 180.0
"""At exit, how long to wait for a start-up still building (it may be rendering prompts)."""


def build_console(
    config_path: str | Path, clock: Clock | None = None
) -> tuple[DutyConsoleApp, Headless]:
    """The app over `console.runner.assemble`'s parts; errors carry a title."""
    from console.app import make_app
    from console.runner import assemble
    from console.ui.settings import UiSettings

    headless = assemble(config_path, clock=clock)
    try:
        cfg = headless.parts["config"]
        base = Path(config_path).resolve().parent
        settings = UiSettings.from_config(cfg, drafts_dir=base / "var" / "drafts")
        app = make_app(headless.line, headless.store, headless.flow.clock, settings,
                       headless.flow, night=headless.parts["night"])
        headless.parts["sinks"].append(app.on_line_event)
        dialler = headless.parts.get("callbacks")
        if dialler is not None:  # the seat places callbacks; the headless line never does
            app.callbacks = dialler.for_seat(busy=lambda: bool(app._calls_on_line()))
    except BaseException:
        if headless.store is not None:
            headless.store.close()
        raise
    return app, headless


class Startup:
    """`assemble` for the app's start-up worker; keeps what it built.

    Called once, on a worker thread. `finish()` (after the app has returned) waits for it,
    then stops the flow, seals what is open and closes the duty record.
    """

    def __init__(self, config_path: str | Path, clock: Clock,
                 build: Callable[..., Headless] | None = None) -> None:
        self.config_path = config_path
        self.clock = clock
        self.build = build
        self.headless: Headless | None = None
        self.done = threading.Event()

    def __call__(self) -> Started:
        from console.app import Started

        try:
            if self.build is None:
                from console.runner import assemble

                self.build = assemble
            headless = self.build(self.config_path, clock=self.clock)
            self.headless = headless
            # Not the flow's watchers: they probe the gate post over the line, so the app
            # starts them after the line (and after it listens to the flow), in that order.
            calendar = headless.parts.get("calendar")
            if calendar is not None:
                calendar.start()  # the holiday calendar's end, checked once a day
            anchoring = headless.parts.get("anchoring")
            if anchoring is not None:
                anchoring.start()  # the chain heads outside the database, every few minutes
            return Started(headless.line, headless.store, headless.flow,
                           night=headless.parts.get("night"),
                           line_sinks=headless.parts.get("sinks"),
                           callbacks=headless.parts.get("callbacks"))
        finally:
            self.done.set()

    def finish(self) -> None:
        if not self.done.wait(STARTUP_JOIN_SECONDS):
            log.error("start-up still running after %.0f s; leaving it", STARTUP_JOIN_SECONDS)
            return
        headless = self.headless
        if headless is None:
            return
        calendar = headless.parts.get("calendar")
        if calendar is not None:
            calendar.stop()
        # The app stopped the line it started; one it never took was never started.
        headless.flow.stop()  # idempotent; the app stops it too before the line
        if headless.seal_open is not None:
            sealed = headless.seal_open()
            if sealed:
                log.info("sealed %d open record(s)", sealed)
        if headless.store is not None:
            # The last seals land before the shutdown anchor (not waited for while the
            # database is away: the next start applies them).
            headless.store.settle(5.0, through_outage=False)
        anchoring = headless.parts.get("anchoring")
        if anchoring is not None:
            anchoring.stop()  # the shutdown anchor, after the last seals
        if headless.store is not None:
            headless.store.close()


def open_console(
    config_path: str | Path,
    clock: Clock | None = None,
    *,
    headset: Headset | None = None,
    build: Callable[..., Headless] | None = None,
) -> tuple[DutyConsoleApp, Startup]:
    """The cold-start app: config read now (errors titled), everything else in its worker."""
    from console import config as config_mod
    from console.app import make_starting_app
    from console.callflow import SystemClock
    from console.ui.settings import UiSettings

    cfg = config_mod.load(config_path)
    base = Path(config_path).resolve().parent
    settings = UiSettings.from_config(cfg, drafts_dir=base / "var" / "drafts")
    startup = Startup(config_path, clock or SystemClock(), build)
    app = make_starting_app(startup.clock, settings, startup, headset=headset)
    return app, startup


def run_tui(args: argparse.Namespace) -> int:
    """Open the seat; a start-up failure is one titled line on stderr, never a traceback."""
    from console.runner import clock_from

    logging.basicConfig(filename=getattr(args, "log_file", None) or "duty-console.log",
                        level="INFO",
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    config_path = getattr(args, "config", None) or "console.toml"
    try:
        clock = clock_from(getattr(args, "clock_start", None))
        app, startup = open_console(config_path, clock=clock)
    except Exception as exc:
        # StartupError, ConfigError: titled.
        if not _titled(exc):
            raise
        print(f"{_title(exc)}: {exc}", file=sys.stderr)
        return 1
    try:
        result = app.run()
    finally:
        startup.finish()
    failure = app.start_error
    if failure is not None:  # StoreError, PromptError, SipError, FlowError...: titled
        print(f"{_title(failure)}: {failure}", file=sys.stderr)
        return 1
    if app.return_code:  # ended by an error nothing handled (one line said so, see the log)
        return app.return_code
    return int(result or 0)


def _titled(exc: BaseException) -> bool:
    return isinstance(getattr(exc, "title", None), str) or isinstance(exc, OSError)


def _title(exc: BaseException) -> str:
    title = getattr(exc, "title", None)
    return title if isinstance(title, str) else "Start-up"

