"""`duty-console` command line.

Each part of the console that owns a sub-command registers it here through a small
`add_commands(subparsers)` function in its own `cli` module, so parts can grow without
touching each other's code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

# Modules that contribute sub-commands; each defines add_commands(subparsers).
COMMAND_MODULES = (
    "console.store.cli",  # db upgrade, verify, archive, export
    "console.store.agent_cli",  # agents list, unlock
    "console.runner",  # run [--headless]
    "console.check",  # check (the line against the PBX)
    "console.holidays.cli",  # holidays add, show (the holiday calendar)
    "console.assessment_cli",  # report week|month (the assessment report)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duty-console",
        description="Duty hotline console: the seat, the line and the duty record.",
    )
    parser.add_argument("--config", default="console.toml", help="the console's TOML file")
    parser.add_argument("--log-file", default="duty-console.log", help="where the TUI logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part is not built yet
            raise
        add: Callable[[argparse._SubParsersAction], None] = module.add_commands  # type: ignore[type-arg]
        add(sub)
    return parser


def _seat_args(argv: list[str]) -> argparse.Namespace | None:
    """`duty-console [run] [--config F] [--log-file F] [--clock-start ISO]`: the seat.

    Parsed without the sub-commands: building the full parser imports every command module
    (the duty record's among them: SQLAlchemy, ~0.4 s) and opening the seat needs none of
    them. None: not that form (`--headless`, another command, `-h`, a malformed option).
    """
    quick = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    quick.add_argument("--config", default="console.toml")
    quick.add_argument("--log-file", default="duty-console.log")
    quick.add_argument("--clock-start", default=None)
    try:
        args, rest = quick.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):  # the full parser says what is wrong
        return None
    if rest not in ([], ["run"]) or (not rest and args.clock_start is not None):
        return None  # --clock-start belongs to `run`, as in the full parser
    args.command = "run" if rest else None
    return args


def main(argv: list[str] | None = None) -> int:
    seat = _seat_args(sys.argv[1:] if argv is None else argv)
    if seat is not None:  # no sub-command: open the seat (the TUI)
        from console.ui.assemble import run_tui

        return run_tui(seat)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        if args.command is None:  # no sub-command: open the seat (the TUI)
            from console.ui.assemble import run_tui

            return run_tui(args)
        parser.print_help(sys.stderr)
        return 2
    result: int = handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
