"""Clear errors (issue 10, point 7): `verify`, `db upgrade`, `archive` and `export` on
damaged, foreign, missing or random files answer in one line with their own exit code
(0 sound, 1 tampering found, 2 could not open or read, 3 refused by the retention rule),
with no traceback, and create nothing."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main
from console.store import CallOutcome, DutyRecord

ROOT = Path(__file__).resolve().parents[2]


def good_record(path: Path) -> list[str]:
    store = DutyRecord(str(path), tz=UTC)
    keys = []
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for i in range(3):
        key = store.open_call("hotline", at + timedelta(minutes=i), caller_number="13800001111")
        store.seal_call(key, CallOutcome.MISSED)
        keys.append(key)
    store.close()
    return keys


def random_file(d: Path) -> Path:
    (d / "random.db").write_bytes(os.urandom(8192))
    return d / "random.db"


def text_file(d: Path) -> Path:
    (d / "notes.txt").write_text("shift notes\n" * 300)
    return d / "notes.txt"


def empty_file(d: Path) -> Path:
    (d / "empty.db").write_bytes(b"")
    return d / "empty.db"


def foreign_sqlite(d: Path) -> Path:
    conn = sqlite3.connect(d / "contacts.db")
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    return d / "contacts.db"


def missing(d: Path) -> Path:
    return d / "missing.db"


def directory(d: Path) -> Path:
    (d / "adir").mkdir()
    return d / "adir"


def damaged_pages(d: Path) -> Path:
    db = d / "duty.db"
    good_record(db)
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db.write_bytes(bytes(data))
    return db


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "random bytes": (random_file, "not a SQLite database"),
    "text file": (text_file, "not a SQLite database"),
    "empty file": (empty_file, "is empty"),
    "foreign sqlite": (foreign_sqlite, "Not a duty record"),
    "missing path": (missing, "no such file"),
    "directory": (directory, "is a directory"),
    "damaged pages": (damaged_pages, "Damaged database"),
}


def argv_for(command: str, db: str, out: Path) -> list[str]:
    return {
        "verify": ["verify", "--db", db, "--tz", "UTC"],
        "db upgrade": ["db", "upgrade", "--db", db],
        "archive": ["archive", "--db", db, "--tz", "UTC", "--out", str(out)],
        "export": [
            "export",
            *("--db", db, "--tz", "UTC", "--from", "2026-03-01", "--to", "2026-03-31"),
            *("--out", str(out / "calls.csv")),
        ],
    }[command]


def tree(d: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(d)): (p.read_bytes() if p.is_file() else None) for p in d.rglob("*")}


@pytest.mark.parametrize("command", ["verify", "db upgrade", "archive", "export"])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_file_one_line_exit_2_nothing_created(
    case: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = BAD[case]
    inputs = tmp_path / "in"
    inputs.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    db = make(inputs)
    if command == "db upgrade" and case in ("missing path", "empty file"):
        pytest.skip("db upgrade creates a record where there is none: its job")
    before = tree(tmp_path)
    assert main(argv_for(command, str(db), out)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert tree(tmp_path) == before  # nothing created, nothing changed


def test_db_upgrade_creates_where_there_is_none(tmp_path: Path) -> None:
    for db in (tmp_path / "new.db", empty_file(tmp_path)):
        assert main(["db", "upgrade", "--db", str(db)]) == 0
        assert DutyRecord(str(db), create=False).verify().ok


def test_postgresql_with_nothing_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://duty@127.0.0.1:{port}/duty"
    for command in ("verify", "db upgrade", "archive", "export"):
        assert main(argv_for(command, url, tmp_path)) == 2, command
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "cannot be reached" in lines[0], (command, lines)
    assert list(tmp_path.iterdir()) == []


def damage_a_time(db: Path) -> str:
    """What an insider (or a bad sector) does with the sqlite3 shell: a time that isn't one."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER calls_sealed_no_update")
    key = conn.execute("SELECT key FROM calls WHERE seq = 2").fetchone()[0]
    conn.execute("UPDATE calls SET ring_at = '2026-03-0X 09:00:00.000000' WHERE seq = 2")
    conn.commit()
    conn.close()
    return str(key)


@pytest.mark.parametrize("command", ["verify", "archive", "export"])
def test_a_damaged_time_text_is_a_finding_not_a_traceback(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "duty.db"
    good_record(db)
    key = damage_a_time(db)
    out = tmp_path / "out"
    out.mkdir()
    assert main(argv_for(command, str(db), out)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"calls key={key} seq=2" in err[0] and "ring_at holds '2026-03-0X" in err[0]
    assert "not a time" in err[0]
    assert list(out.iterdir()) == []


def test_verify_in_library_reports_the_damaged_time(tmp_path: Path) -> None:
    db = tmp_path / "duty.db"
    good_record(db)
    key = damage_a_time(db)
    with DutyRecord(str(db)) as store:
        report = store.verify()
    assert not report.ok and f"calls key={key} seq=2" in (report.problem or "")
    assert report.chains == {} and report.checked == 1


def test_read_only_record_one_line_exit_2() -> None:
    tmp_path = Path(tempfile.mkdtemp(prefix="duty-ro-"))  # pytest's tmp is root's only
    tmp_path.chmod(0o755)
    ro = tmp_path / "ro"
    ro.mkdir()
    good_record(ro / "duty.db")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    for f in ro.iterdir():
        f.chmod(0o444)
    ro.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root writes anyway: be somebody else, as an operator would be
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        for command in ("verify", "db upgrade", "archive", "export"):
            before = tree(tmp_path)
            argv = argv_for(command, str(ro / "duty.db"), out)
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "console.cli", *argv],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=120,
            )
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2, (command, done.stderr)
            assert len(lines) == 1 and "read-only" in lines[0], (command, lines)
            assert tree(tmp_path) == before
    finally:
        ro.chmod(0o755)
        shutil.rmtree(tmp_path)


@pytest.mark.parametrize("command", [["verify"], ["db", "upgrade"], ["archive"], ["export"]])
def test_help_lists_the_exit_codes(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for line in ("0  done", "1  tampering found", "2  could not open or read", "3  archive"):
        assert line in out, out
