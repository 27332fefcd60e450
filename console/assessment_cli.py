"""`duty-console report week|month PERIOD`: the assessment report (duty rules §6).

Printed as a table; `--out F.xlsx` also writes it for the office (audited as an export).
The attendance thresholds and the ring limit are the config's (`--config`, default
console.toml) when that file exists, else the duty rules' defaults (said on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from console.domain.agent import AttendancePolicy
from console.domain.assessment import ReportKind, ReportPeriod
from console.domain.errors import DomainError


def add_commands(subparsers: Any) -> None:
    from console.store.cli import EXIT_CODES, _common

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="the weekly or monthly assessment report, per agent and for the team",
        description="The weekly (Friday) or monthly assessment report of the duty rules §6: "
        "calls taken, answered within the ring limit, answer and handling times, "
        "satisfaction, quality reviews, attendance and follow-ups.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=[k.value for k in ReportKind], help="week or month")
    parser.add_argument(
        "period", help="week: any day of it, YYYY-MM-DD (Monday to Sunday); month: YYYY-MM"
    )
    parser.add_argument("--out", type=Path, help="also write the report to this .xlsx file")
    parser.add_argument("--who", default=os.environ.get("USER", "cli"))
    _common(parser)
    parser.set_defaults(handler=cmd_report)


def _policy(args: argparse.Namespace, tz: Any) -> tuple[AttendancePolicy, float | None]:
    """The config's thresholds and ring limit, else the defaults."""
    from console.store.errors import StoreError

    config = Path(getattr(args, "config", None) or "console.toml")
    if not config.is_file():
        sys.stderr.write(f"report: no {config}; attendance and ring limit from the duty rules\n")
        return AttendancePolicy(timezone=tz), None
    from console.config import ConfigError, load

    try:
        settings = load(config, office_calendar=False)
    except ConfigError as exc:
        raise StoreError(str(exc), "Configuration") from None
    return settings.attendance(), settings.ring_limit.seconds


def cmd_report(args: argparse.Namespace) -> int:
    from console.store.cli import EXIT_OK, _answers, _open
    from console.store.errors import StoreError

    @_answers
    def run(args: argparse.Namespace) -> int:
        from console.store.assessment import assessment_report, export_report

        try:
            kind = ReportKind.WEEK if args.kind == ReportKind.WEEK.value else ReportKind.MONTH
            period = ReportPeriod.parse(kind, args.period)
        except DomainError as exc:
            raise StoreError(str(exc), "Settings") from None
        out: Path | None = args.out
        if out is not None and out.suffix.lower() != ".xlsx":  # before anything is read
            raise StoreError(f"--out {out.name!r}: the report is written as .xlsx", "Settings")
        if out is not None and not out.parent.is_dir():
            raise StoreError(f"--out: folder {out.parent} does not exist", "Settings")
        store = _open(args)
        with store:
            policy, limit = _policy(args, store.tz)
            report = assessment_report(store, period, policy, limit)
            sys.stdout.write(render(report))
            if args.out is not None:
                digest = export_report(store, report, args.out, args.who)
                sys.stdout.write(f"written to {args.out} (sha256 {digest[:12]}…)\n")
        return EXIT_OK

    return run(args)


def render(report: Any) -> str:
    """The report as plain text for the terminal (the same rows as the XLSX)."""
    from console.store.assessment import AGENT_COLUMNS, agent_row, team_rows

    lines = [f"{label}: {'' if value is None else value}" for label, value in team_rows(report)]
    lines.append("")
    lines.append("\t".join(AGENT_COLUMNS))
    for line in report.agents:
        lines.append("\t".join("" if v is None else str(v) for v in agent_row(line)))
    return "\n".join(lines) + "\n"
