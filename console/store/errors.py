"""Failures of the duty record, each with a title a screen or a log headline can show.

One base (`StoreError`) so the call flow can catch "the record has a problem" in one place,
and one subclass per cause so the message can say what to do about it.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every duty-record failure; `title` is what a screen or a log headline shows."""

    title = "Duty record"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class BadDatabaseUrl(StoreError):
    """The database URL cannot be parsed or names a driver we do not support."""

    title = "Database address"


class DatabaseUnavailable(StoreError):
    """The database cannot be reached now (server down, file locked past the busy timeout)."""

    title = "Database unavailable"


class CorruptDatabase(StoreError):
    """The file is not a SQLite database or is damaged."""

    title = "Damaged database"


class ForeignDatabase(StoreError):
    """A valid database that holds something other than a duty record."""

    title = "Not a duty record"


class ReadOnlyDatabase(StoreError):
    """The database file (or its directory) cannot be written."""

    title = "Read-only database"


class SchemaError(StoreError):
    """The schema is older or newer than this program; the message says what to run."""

    title = "Database schema"


class SealedRecordError(StoreError):
    """A change to a sealed call or an amendment: corrections are amendments, never edits."""

    title = "Record sealed"


class UnknownRecord(StoreError):
    """No call, agent, handover or follow-up with that key."""

    title = "No such record"


class InvalidFact(StoreError):
    """A field name or value that the record does not accept."""

    title = "Invalid entry"


class RuleRefused(InvalidFact):
    """A duty rule the record enforces refused the write: it carries the domain's refusal
    (`refusal`, a coded `DomainError`), so the seat words it in its own language."""

    def __init__(self, refusal: Exception) -> None:
        super().__init__(str(refusal), getattr(refusal, "title", None))
        self.refusal = refusal


class AuthError(StoreError):
    """Wrong agent ID or secret."""

    title = "Login failed"


class AgentLocked(AuthError):
    """Too many failed logins; the agent is locked until `until`."""

    title = "Agent locked"


class NoRecordHere(StoreError):
    """`--db` names no duty record to open: a missing file, a directory, an empty file."""

    title = "No duty record"


class ArchiveRefused(StoreError):
    """An archive or purge that the retention rule forbids: younger than three years, a
    retention shorter than the rule, not whole months, an archive file already there."""

    title = "Archive refused"


class IntegrityFailure(StoreError):
    """`verify` found a record whose content or link does not match."""

    title = "Record tampered"


class DamagedValue(IntegrityFailure):
    """A stored value no writer of ours could have stored (a time that is not a time):
    changed outside the console, or damaged on disk. The record is not sound."""

    title = "Record damaged"


class UnsoundArchiveRefused(ArchiveRefused, IntegrityFailure):
    """Nothing archived because the record does not verify: a finding, not a rule."""

    title = "Archive refused"


EXIT_OK = 0
"""The command did its work; `verify`: the record is sound."""
EXIT_TAMPERED = 1
"""The record is not sound: a link, a hash, a checkpoint or a stored value does not match."""
EXIT_UNREADABLE = 2
"""The record could not be opened or read (missing, directory, empty, not SQLite, damaged
pages, another program's database, wrong schema, read-only, server not answering), or an
argument is wrong (argparse uses 2 for that too). Nothing was created or changed."""
EXIT_REFUSED = 3
"""`archive` refused by the retention rule (younger than three years, a retention shorter
than three years, not whole months, the archive file exists). Nothing was purged."""


def exit_code(exc: StoreError) -> int:
    """The exit status a command returns for `exc` (see the EXIT_* constants)."""
    if isinstance(exc, IntegrityFailure):
        return EXIT_TAMPERED
    if isinstance(exc, ArchiveRefused):
        return EXIT_REFUSED
    return EXIT_UNREADABLE


class SeatInUse(StoreError):
    """Another running seat holds this seat's name, or shares a SQLite file from elsewhere.

    Two seats under one name would seal each other's calls at start-up; a SQLite file has no
    locking between machines (several machines need PostgreSQL).
    """

    title = "Seat in use"
