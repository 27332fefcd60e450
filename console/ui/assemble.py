"""`duty-console` with no sub-command (or `run` without `--headless`): the seat as a TUI.

There is one composition root, `console.runner.assemble`: config → duty record → prompts →
night mode → line → call flow, the same parts the headless line runs. This module only adds
the app on top: the app's night switch is the very `NightMode` behind the flow's `Staffing`
(an override set on screen routes the next call), and the app hears the line's status
through the same event fan-out as the flow.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.app import DutyConsoleApp
    from console.callflow import Clock
    from console.runner import Headless

log = logging.getLogger("console.ui")


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
    except BaseException:
        if headless.store is not None:
            headless.store.close()
        raise
    return app, headless


def run_tui(args: argparse.Namespace) -> int:
    """Open the seat; a start-up failure is one titled line on stderr, never a traceback."""
    from console.runner import clock_from

    logging.basicConfig(filename=getattr(args, "log_file", None) or "duty-console.log",
                        level="INFO",
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    config_path = getattr(args, "config", None) or "console.toml"
    try:
        clock = clock_from(getattr(args, "clock_start", None))
        app, headless = build_console(config_path, clock=clock)
    except Exception as exc:
        # StartupError, ConfigError, StoreError, PromptError, SipError, FlowError: titled.
        title = getattr(exc, "title", None)
        if not isinstance(title, str) and not isinstance(exc, OSError):
            raise
        print(f"{title or 'Start-up'}: {exc}", file=sys.stderr)
        return 1
    return _serve(app, headless)


def _serve(app: Any, headless: Headless) -> int:
    """Flow up, app loop (it starts and stops the line), then seal what is open and close."""
    headless.flow.start()  # the app subscribes on mount: nothing is posted before its loop runs
    try:
        result = app.run()
    finally:
        headless.flow.stop()  # idempotent; the app stops it too before the line
        if headless.seal_open is not None:
            sealed = headless.seal_open()
            if sealed:
                log.info("sealed %d open record(s)", sealed)
        if headless.store is not None:
            headless.store.close()
    return int(result or 0)
