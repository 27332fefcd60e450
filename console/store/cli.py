"""`duty-console db upgrade | verify | archive | export`: the duty record's sub-commands.

Each handler opens the record named by `--db` (default `$DUTY_DB` or `var/duty.db`) and
answers on stdout, or in one line on stderr when it cannot, with the exit status of
`EXIT_CODES`: 0 done (sound), 1 tampering found, 2 could not open or read the record (or a
bad argument), 3 archive refused by the retention rule. A file that is missing, a
directory, empty, not SQLite or read-only is refused before SQLite touches it, so nothing
is created beside it; only `db upgrade` creates a record, and only where there is none.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.store.errors import (
    EXIT_OK,
    EXIT_TAMPERED,
    CorruptDatabase,
    DamagedValue,
    ForeignDatabase,
    NoRecordHere,
    ReadOnlyDatabase,
    SchemaError,
    StoreError,
    exit_code,
)
from console.store.values import Anchor

log = logging.getLogger("console.store.cli")

DEFAULT_DB = "var/duty.db"
SQLITE_MAGIC = b"SQLite format 3\x00"

EXIT_CODES = """exit status:
  0  done; for verify: the record is sound
  1  tampering found: a link, hash, checkpoint or stored value does not match
  2  could not open or read the record (missing, a directory, empty, not SQLite,
     damaged, another program's database, wrong schema, read-only, server not
     answering) or a bad argument; nothing was created or changed
  3  archive refused by the retention rule (younger than 3 years, a retention
     shorter than 3 years, not whole months); nothing was purged"""
"""The exit codes, as every record command's --help shows them."""


def add_commands(subparsers: Any) -> None:
    """Register the record's sub-commands on the `duty-console` parser."""

    def command(parent: Any, name: str, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(
            name,
            help=text,
            description=text,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return parser

    db = subparsers.add_parser("db", help="the duty record's schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = command(
        db_sub, "upgrade", "create the schema (new or empty file) or migrate it to this version"
    )
    _common(up)
    up.set_defaults(handler=cmd_upgrade)
    seats = command(
        db_sub, "seats", "list the seats using the record; --release one that is gone"
    )
    _common(seats)
    seats.add_argument(
        "--release",
        metavar="NAME",
        help="mark seat NAME stopped: it crashed, or its machine is gone, and it is not running",
    )
    seats.add_argument("--who", default=os.environ.get("USER", "cli"))
    seats.set_defaults(handler=cmd_seats)

    verify = command(subparsers, "verify", "check the hash chains, checkpoints and anchors")
    _common(verify)
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="LINE:SEQ:HASH[:MAC]",
        help="a chain head printed on a handover or sign-off (repeatable)",
    )
    verify.add_argument(
        "--anchor-log",
        type=Path,
        help="the anchor log to check against (default: [database] anchor_log of --config)",
    )
    verify.add_argument(
        "--anchor-key-file",
        type=Path,
        help="its key (default: [database] anchor_key_file, else anchor.key beside the log)",
    )
    verify.add_argument("--who", default=os.environ.get("USER", "cli"))
    verify.set_defaults(handler=cmd_verify)

    arch = command(subparsers, "archive", "archive and purge months older than three years")
    _common(arch)
    arch.add_argument("--out", required=True, type=Path, help="directory for the archive file")
    arch.add_argument("--before", help="YYYY-MM: archive months before this one")
    arch.add_argument(
        "--retention-years",
        type=int,
        default=3,
        help="keep records this many years (default and least: 3, the duty rules; "
        "longer may be set, shorter is refused)",
    )
    arch.add_argument("--who", default=os.environ.get("USER", "cli"))
    arch.set_defaults(handler=cmd_archive)

    exp = command(subparsers, "export", "export calls to XLSX or CSV (Chinese headers)")
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


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite record (None: a server URL, or a SQLite URI we leave to SQLite)."""
    from console.store.engine import parse_url

    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    database = parsed.database or ""
    return None if database.startswith("file:") else Path(database).expanduser()


def check_target(url: str, must_exist: bool = True) -> None:
    """Refuse a `--db` that holds no duty record before SQLite opens it (and creates files).

    A missing file (unless `must_exist` is off: `db upgrade` creates the record), a
    directory, an empty file, a file that does not start as SQLite does, and a file or
    directory we may not write (the commands log who ran them in the record; SQLite's
    write-ahead log needs the directory) each get their own one-line error.
    """
    path = _sqlite_file(url)
    if path is None:
        return
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ReadOnlyDatabase(f"cannot reach {path}: {exc.strerror or exc}") from exc
    if path.is_dir():
        raise NoRecordHere(f"{path} is a directory, not a duty record; give the record's file")
    if not path.exists():
        if not path.parent.is_dir():
            raise NoRecordHere(f"directory {path.parent} for the duty record does not exist")
        if must_exist:
            raise NoRecordHere(
                f"no duty record at {path} (no such file); nothing was created. "
                f"`duty-console db upgrade --db {path}` creates a new one"
            )
        if not os.access(path.parent, os.W_OK):
            raise ReadOnlyDatabase(f"cannot create {path}: directory {path.parent} is read-only")
        return
    if not path.is_file():
        raise NoRecordHere(f"{path} is not a regular file, not a duty record")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ReadOnlyDatabase(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head == SQLITE_MAGIC:
        _refuse_foreign(path)
    if head and head != SQLITE_MAGIC:
        raise CorruptDatabase(
            f"{path} is not a SQLite database (it starts {head[:8]!r}); nothing was changed. "
            "Point --db at the duty record, or restore it from the last archive"
        )
    if not head and must_exist:
        raise NoRecordHere(
            f"{path} is empty, no duty record; `duty-console db upgrade --db {path}` "
            "creates one there"
        )
    for place in (path, path.parent):
        if not os.access(place, os.W_OK):
            raise ReadOnlyDatabase(
                f"{place} is read-only: every record command writes to the record (who "
                "verified, archived or exported it; the schema) and SQLite writes beside it; "
                "fix the permissions or work on a writable copy"
            )


def _refuse_foreign(path: Path) -> None:
    """Another program's SQLite file is refused before our connection turns it to WAL mode.

    The look is read-only and `immutable` (no lock, no -wal or -shm file). A record whose
    newest pages are still in its -wal file is left to the full schema check.
    """
    if Path(f"{path}-wal").exists():
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            names = {
                str(n)
                for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CorruptDatabase(
            f"{path} is not a SQLite database or is damaged ({exc}); nothing was changed. "
            "Restore it from the last archive or point --db at the right file"
        ) from exc
    names = {n for n in names if not n.startswith("sqlite_")}
    if names and "alembic_version" not in names:
        raise ForeignDatabase(
            f"{path} holds tables {sorted(names)[:5]} but no duty record; nothing was changed. "
            "Point --db at the duty record or at a new file"
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
    check_target(args.db, must_exist=not create)
    return DutyRecord(args.db, tz=tz, hmac_key=key, create=create)


def _fail(exc: StoreError) -> int:
    text = " ".join(str(exc).split())
    sys.stderr.write(f"{exc.title}: {text}\n")
    return exit_code(exc)


def _answers(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that answers in one line whatever the database does: no traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from console.store.engine import classify

        try:
            return handler(args)
        except StoreError as exc:
            return _fail(exc)
        except (SQLAlchemyError, OSError) as exc:
            return _fail(classify(exc, args.db))

    return run


@_answers
def cmd_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy import inspect

    from console.store.engine import (
        _revisions,
        check_schema,
        current_revision,
        head_revision,
        make_engine,
        upgrade,
    )

    check_target(args.db, must_exist=False)
    engine = make_engine(args.db)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            current = current_revision(conn, tables)
        if current == head_revision():
            sys.stdout.write("schema is current\n")
            return EXIT_OK
        try:
            check_schema(engine, args.db, create=False)
        except SchemaError:
            # Empty, or a revision this program knows: migrate. Foreign tables or an
            # unknown (newer) revision: the error says so.
            if not (current is None and not tables) and current not in _revisions():
                raise
        sys.stdout.write(f"schema now at {upgrade(engine)}\n")
    finally:
        engine.dispose()
    return EXIT_OK


def anchor_source(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """The anchor log and key file `verify` checks against: the flags, else the config's.

    The config is `--config` (default `console.toml`) when that file exists; only its
    `[database] anchor_*` keys are read. Neither: no log is checked (verify says so).
    """
    log_path: Path | None = getattr(args, "anchor_log", None)
    key_file: Path | None = getattr(args, "anchor_key_file", None)
    config = Path(getattr(args, "config", None) or "console.toml")
    if (log_path is None or key_file is None) and config.is_file():
        from console.config import ConfigError, anchor_settings

        try:
            settings = anchor_settings(config)
        except ConfigError as exc:
            raise StoreError(str(exc), "Configuration") from None
        if log_path is None:
            log_path = settings.log
        key_file = key_file or settings.key_file
    if log_path is not None and key_file is None:
        key_file = log_path.parent / "anchor.key"
    return log_path, key_file


@_answers
def cmd_verify(args: argparse.Namespace) -> int:
    from console.store.anchor_log import load_key
    from console.store.integrity import check

    anchors = [Anchor.parse(text) for text in args.anchor]
    log_path, key_file = anchor_source(args)
    key = None
    if key_file is not None and (key_file.exists() or (log_path and log_path.exists())):
        key = load_key(key_file)  # never created here: a missing key is an error (exit 2)
    store = _open(args)
    with store:
        found = check(store, anchors, log_path=log_path, key=key)
        report = found.chains
        outcome = "sound" if found.ok else f"FAILED: {found.findings[0]}"
        store.audit("verify", args.who, f"{report.checked} records, {outcome}")
        for note in found.notes:
            sys.stdout.write(f"note: {note}\n")
        for chain, count in sorted(report.chains.items()):
            sys.stdout.write(f"{chain}: {count} records\n")
        if log_path is not None and found.entries:
            sys.stdout.write(f"anchor log {log_path}: {found.entries} entries\n")
        for anchor in store.chain_heads():
            sys.stdout.write(f"head {anchor.text()}\n")
        if not found.ok:
            for finding in found.findings:
                sys.stderr.write(f"Record tampered: {' '.join(finding.split())}\n")
            return EXIT_TAMPERED
        sys.stdout.write(f"verified {report.checked} records: sound\n")
    return EXIT_OK


def _month(text: str) -> date:
    try:
        parsed = datetime.strptime(text, "%Y-%m")
    except ValueError as exc:
        raise StoreError(f"--before {text!r}: expected YYYY-MM", "Settings") from exc
    return date(parsed.year, parsed.month, 1)


@_answers
def cmd_archive(args: argparse.Namespace) -> int:
    from console.store.archive import archive

    before = _month(args.before) if args.before else None
    store = _open(args)
    with store:
        result = archive(
            store, args.out, args.who, before=before, retention_years=args.retention_years
        )
        if result.path is None:
            sys.stdout.write("nothing older than the retention period\n")
        else:
            sys.stdout.write(f"archived to {result.path} (sha256 {result.digest})\n")
            for chain, count in sorted(result.purged.items()):
                sys.stdout.write(f"{chain}: {count} records purged\n")
    return EXIT_OK


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise StoreError(f"{flag} {text!r}: expected YYYY-MM-DD", "Settings") from exc


@_answers
def cmd_export(args: argparse.Namespace) -> int:
    from console.store.export import export_calls

    first, last = _day(args.since, "--from"), _day(args.until, "--to")
    if last < first:
        raise StoreError(f"--to {last} is before --from {first}", "Settings")
    store = _open(args)
    with store:
        since = datetime.combine(first, datetime.min.time(), tzinfo=store.tz)
        until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=store.tz)
        try:
            result = export_calls(store, since, until, args.out, args.who)
        except ValueError as exc:  # a stored value that cannot be read: say which
            report = store.verify()
            raise DamagedValue(
                f"export stopped, nothing exported: {report.problem or exc}"
            ) from exc
        sys.stdout.write(f"exported {result.rows} calls to {result.path}\n")
    return EXIT_OK


@_answers
def cmd_seats(args: argparse.Namespace) -> int:
    """The seats table (issue 13): who runs where; `--release` frees a seat that is gone."""
    store = _open(args)
    with store:
        if args.release is not None:
            if not store.release_seat(args.release):
                raise StoreError(f"no running seat {args.release!r} in the record", "Seats")
            store.audit("seat_release", args.who, f"seat {args.release} marked stopped")
            sys.stdout.write(f"seat {args.release} marked stopped\n")
            return EXIT_OK
        for seat in store.seats():
            since = seat.started_at.astimezone(store.tz)
            state = (
                "running" if seat.stopped_at is None
                else f"stopped {seat.stopped_at.astimezone(store.tz):%Y-%m-%d %H:%M}"
            )
            sys.stdout.write(
                f"{seat.name}\t{seat.host}\tpid {seat.pid}\tsince {since:%Y-%m-%d %H:%M}"
                f"\t{state}\n"
            )
    return EXIT_OK
