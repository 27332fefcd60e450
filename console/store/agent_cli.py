"""`duty-console agents list | unlock`: the agent IDs of the duty record, and a supervisor's
unlock of an ID locked by too many wrong secrets (duty rules §4).

The login says "a supervisor can unlock it"; this is the way without a seat (the
supervisor's 考勤 tab is the other). Like the record's other commands, every refusal is one
line on stderr with the exit codes of `console.store.cli` (2: could not be done).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from console.store.cli import EXIT_CODES, _answers, _common, _open
from console.store.errors import EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Register `agents list` and `agents unlock` on the `duty-console` parser."""
    agents = subparsers.add_parser("agents", help="the agent IDs; unlock a locked one")
    sub = agents.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    listing = sub.add_parser(
        "list", help="every agent ID with its role and whether it is locked",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(listing)
    listing.set_defaults(handler=cmd_list)
    unlock = sub.add_parser(
        "unlock",
        help="lift the lockout of an agent ID (audited with the supervisor's ID)",
        description="Lift the lockout of an agent ID locked by too many wrong secrets. "
        "The audit log records which supervisor did it.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(unlock)
    unlock.add_argument("agent_id", metavar="AGENT_ID", help="the locked agent ID (工号)")
    unlock.add_argument(
        "--by",
        required=True,
        metavar="SUPERVISOR_ID",
        help="the supervisor's own agent ID (must be an active supervisor)",
    )
    unlock.set_defaults(handler=cmd_unlock)


@_answers
def cmd_list(args: argparse.Namespace) -> int:
    store = _open(args)
    with store:
        now = dt.datetime.now(dt.UTC)
        for a in store.agents():
            locked = (
                f"locked until {a.locked_until.astimezone(store.tz):%Y-%m-%d %H:%M}"
                if a.locked_until is not None and a.locked_until > now
                else ""
            )
            active = "" if a.active else "inactive"
            words = " ".join(w for w in (a.role.value, active, locked) if w)
            sys.stdout.write(f"{a.agent_id}\t{a.name}\t{words}\n")
    return EXIT_OK


@_answers
def cmd_unlock(args: argparse.Namespace) -> int:
    store = _open(args)
    with store:
        agent = store.unlock_agent(args.agent_id.strip(), args.by.strip())
        sys.stdout.write(f"unlocked {agent.agent_id} ({agent.name}) by {args.by}\n")
    return EXIT_OK
