"""Fixtures of the duty-record tests: every store test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.store import DutyRecord
from tests.store.pg import PgServer, pg_bindir, pg_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session, stopped by pid at the end."""
    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs the Debian package)")
    with pg_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind (a new schema on the shared PostgreSQL server)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'duty.db'}"
    server: PgServer = request.getfixturevalue("postgres")
    return server.create_schema()


class Clock:
    """A settable clock so seals and amendments have predictable times."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[DutyRecord]:
    record = DutyRecord(db_url, tz=UTC, clock=clock)
    yield record
    record.close()
