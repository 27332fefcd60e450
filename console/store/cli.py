"""`duty-console db upgrade | verify | archive | export`: the duty record's sub-commands.

Each handler opens the record named by `--db` (default `$DUTY_DB` or `var/duty.db`),
reports through the named logger and stderr, and returns the exit status: 0 sound,
1 a finding (tampered record, refused archive), 2 a usage or database error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.store.errors import ArchiveRefused, StoreError
from console.store.records import Anchor

log = logging.getLogger("console.store.cli")

DEFAULT_DB = "var/duty.db"


def add_commands(subparsers: Any) -> None:
    """Register the record's sub-commands on the `duty-console` parser."""
    db = subparsers.add_parser("db", help="the duty record's schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="create or migrate the schema to this version")
    _common(up)
    up.set_defaults(handler=cmd_upgrade)

    verify = subparsers.add_parser("verify", help="check the hash chains and anchors")
    _common(verify)
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="LINE:SEQ:HASH[:MAC]",
        help="a chain head printed on a handover or sign-off (repeatable)",
    )
    verify.add_argument("--who", default=os.environ.get("USER", "cli"))
    verify.set_defaults(handler=cmd_verify)

    arch = subparsers.add_parser("archive", help="archive and purge months past retention")
    _common(arch)
    arch.add_argument("--out", required=True, type=Path, help="directory for the archive file")
    arch.add_argument("--before", help="YYYY-MM: archive months before this one")
    arch.add_argument("--retention-years", type=int, default=3)
    arch.add_argument("--who", default=os.environ.get("USER", "cli"))
    arch.set_defaults(handler=cmd_archive)

    exp = subparsers.add_parser("export", help="export calls to XLSX or CSV (Chinese headers)")
    _common(exp)
    exp.add_argument("--from", dest="since", required=True, help="first day, YYYY-MM-DD")
    exp.add_argument("--to", dest="until", required=True, help="last day, YYYY-MM-DD")
    exp.add_argument("--out", required=True, type=Path, help="file ending in .xlsx or .csv")
    exp.add_argument("--who", default=os.environ.get("USER", "cli"))
    exp.set_defaults(handler=cmd_export)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("DUTY_DB", DEFAULT_DB),
        help="database URL or SQLite file (default $DUTY_DB or var/duty.db)",
    )
    parser.add_argument(
        "--tz",
        default=os.environ.get("DUTY_TZ", "Asia/Shanghai"),
        help="the line's time zone (default Asia/Shanghai)",
    )
    parser.add_argument(
        "--hmac-key-file", type=Path, help="file holding the supervisor's anchor key"
    )


def _open(args: argparse.Namespace, create: bool = False) -> Any:
    from console.store.record import DutyRecord

    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StoreError(f"--tz {args.tz!r} is not a time zone name", "Settings") from exc
    key = None
    if args.hmac_key_file is not None:
        try:
            key = args.hmac_key_file.read_bytes().strip()
        except OSError as exc:
            raise StoreError(f"cannot read --hmac-key-file: {exc}", "Settings") from exc
    return DutyRecord(args.db, tz=tz, hmac_key=key, create=create)


def _fail(exc: StoreError) -> int:
    sys.stderr.write(f"{exc.title}: {exc}\n")
    return 1 if isinstance(exc, ArchiveRefused) else 2


def cmd_upgrade(args: argparse.Namespace) -> int:
    from console.store.engine import check_schema, make_engine, upgrade

    try:
        engine = make_engine(args.db)
        try:
            check_schema(engine, args.db, create=False)
            sys.stdout.write("schema is current\n")
        except StoreError as exc:
            if "does not know" in str(exc) or "no duty record" in str(exc):
                raise
            sys.stdout.write(f"schema now at {upgrade(engine)}\n")
        engine.dispose()
    except StoreError as exc:
        return _fail(exc)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        anchors = [Anchor.parse(text) for text in args.anchor]
        store = _open(args)
    except StoreError as exc:
        return _fail(exc)
    with store:
        report = store.verify(anchors)
        outcome = "sound" if report.ok else f"FAILED: {report.problem}"
        store.audit("verify", args.who, f"{report.checked} records, {outcome}")
        for chain, count in sorted(report.chains.items()):
            sys.stdout.write(f"{chain}: {count} records\n")
        for anchor in store.chain_heads():
            sys.stdout.write(f"head {anchor.text()}\n")
        if not report.ok:
            sys.stderr.write(f"Record tampered: {report.problem}\n")
            return 1
        sys.stdout.write(f"verified {report.checked} records: sound\n")
    return 0


def _month(text: str) -> date:
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except ValueError as exc:
        raise StoreError(f"--before {text!r}: expected YYYY-MM", "Settings") from exc
    return date(parsed.year, parsed.month, 1)


def cmd_archive(args: argparse.Namespace) -> int:
    from console.store.archive import archive

    try:
        before = _month(args.before) if args.before else None
        store = _open(args)
    except StoreError as exc:
        return _fail(exc)
    with store:
        try:
            result = archive(
                store, args.out, args.who, before=before, retention_years=args.retention_years
            )
        except StoreError as exc:
            return _fail(exc)
        if result.path is None:
            sys.stdout.write("nothing older than the retention period\n")
        else:
            sys.stdout.write(f"archived to {result.path} (sha256 {result.digest})\n")
            for chain, count in sorted(result.purged.items()):
                sys.stdout.write(f"{chain}: {count} records purged\n")
    return 0


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"{flag} {text!r}: expected YYYY-MM-DD", "Settings") from exc


def cmd_export(args: argparse.Namespace) -> int:
    from console.store.export import export_calls

    try:
        first, last = _day(args.since, "--from"), _day(args.until, "--to")
        if last < first:
            raise StoreError(f"--to {last} is before --from {first}", "Settings")
        store = _open(args)
    except StoreError as exc:
        return _fail(exc)
    with store:
        since = datetime.combine(first, datetime.min.time(), tzinfo=store.tz)
        until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=store.tz)
        try:
            result = export_calls(store, since, until, args.out, args.who)
        except StoreError as exc:
            return _fail(exc)
        sys.stdout.write(f"exported {result.rows} calls to {result.path}\n")
    return 0
