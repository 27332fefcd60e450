"""Bad databases give clear errors: damaged or foreign file, wrong URL, read-only, server down."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from console.store import (
    BadDatabaseUrl,
    CorruptDatabase,
    DatabaseUnavailable,
    DutyRecord,
    ForeignDatabase,
    ReadOnlyDatabase,
    SchemaError,
)
from console.store.engine import make_engine


def test_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "duty.db"
    bad.write_bytes(b"this is a spreadsheet, not a database" * 200)
    with pytest.raises(CorruptDatabase, match="not a SQLite database or is damaged"):
        DutyRecord(str(bad))
    assert bad.read_bytes().startswith(b"this is a spreadsheet")  # untouched


def test_damaged_pages(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db)).close()
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase):
        DutyRecord(str(db))


def test_foreign_sqlite_file(tmp_path: Path) -> None:
    other = tmp_path / "contacts.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(ForeignDatabase, match="contacts"):
        DutyRecord(str(other))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/duty", "names 'mysql'"),
        ("sqlite://", "no file"),
        ("sqlite:///:memory:", "no file"),
        ("postgresql+nosuchdriver://x@127.0.0.1/d", "cannot use"),
        ("postgresql+psycopg://u@127.0.0.1:notaport/d", "cannot"),
        ("/nonexistent-dir/sub/duty.db", "does not exist"),
    ],
)
def test_wrong_url(url: str, message: str) -> None:
    with pytest.raises(BadDatabaseUrl, match=message):
        DutyRecord(url)


def test_read_only_file(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db)).close()
    with pytest.raises(ReadOnlyDatabase, match="cannot be written"):
        DutyRecord(f"sqlite:///file:{db}?mode=ro&uri=true")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_permissions(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db)).close()
    for f in tmp_path.iterdir():
        f.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ReadOnlyDatabase):
            DutyRecord(str(db))
    finally:
        tmp_path.chmod(0o755)


def test_postgres_down() -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
        DutyRecord(f"postgresql+psycopg://postgres@127.0.0.1:{port}/duty")


def test_older_schema_says_what_to_run(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    DutyRecord(str(db)).close()
    engine = make_engine(str(db))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="does not know"):
        DutyRecord(str(db))


def test_empty_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="duty-console db upgrade"):
        DutyRecord(str(tmp_path / "new.db"), create=False)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    record = DutyRecord(str(tmp_path / "duty.db"))
    with record.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
    record.close()
