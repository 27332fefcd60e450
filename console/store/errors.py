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


class AuthError(StoreError):
    """Wrong agent ID or secret."""

    title = "Login failed"


class AgentLocked(AuthError):
    """Too many failed logins; the agent is locked until `until`."""

    title = "Agent locked"


class ArchiveRefused(StoreError):
    """An archive or purge that would cut records younger than retention, or not a prefix."""

    title = "Archive refused"


class IntegrityFailure(StoreError):
    """`verify` found a record whose content or link does not match."""

    title = "Record tampered"
