"""`duty-console run --headless`: the line unattended (gate post, overnight), logging to stdout.

The same `CallFlow` that will drive the TUI runs here without it. SIGTERM or SIGINT hangs
up, unregisters, seals every open call in the duty record and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Protocol

from console.callflow import CallFlow
from sip.api import Line, SipError

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
        if ready is not None:
            ready()
        try:
            self._stop.wait()
        finally:
            self.flow.stop()
            try:
                self.line.stop()
            except SipError as exc:
                log.warning("line stop: %s", exc)
            if self.seal_open is not None:
                sealed = self.seal_open()
                log.info("sealed %d open record(s)", sealed)
        log.info("stopped")
        return 0


def install_signals(headless: Headless) -> None:
    signal.signal(signal.SIGTERM, headless.request_stop)
    signal.signal(signal.SIGINT, headless.request_stop)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


def _run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    if not args.headless:
        log.error("only --headless is available until the TUI lands")
        return 2
    # Assembly from console.toml (config → line, prompts, schedule, store) lands with
    # console.config and the store's record API; until then say so plainly.
    log.error(
        "run: cannot assemble the console from %s yet: console.config (TOML loader) and the "
        "duty-record adapter are not in the tree",
        args.config,
    )
    return 2


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = subparsers.add_parser("run", help="run the duty line (headless: no UI)")
    run.add_argument("--headless", action="store_true", help="no UI; log to stdout")
    run.add_argument("--config", default="console.toml", help="the console's TOML file")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run.set_defaults(handler=_run)
