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
    "console.runner",  # run [--headless]
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


def main(argv: list[str] | None = None) -> int:
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
