"""Exports whose totals equal the KPIs, the retention archive, and the command line."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from console.cli import main
from console.store import ArchiveRefused, CallOutcome, DutyRecord, InvalidFact
from console.store.archive import archive, retention_cutoff, verify_archive
from console.store.export import export_calls
from tests.store.conftest import Clock
from tests.store.helpers import raw

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def calls(store: DutyRecord, start: datetime, n: int, step: timedelta) -> list[str]:
    keys = []
    outcomes = [
        CallOutcome.ANSWERED,
        CallOutcome.ANSWERED,
        CallOutcome.ABANDONED,
        CallOutcome.FORWARDED,
        CallOutcome.MISSED,
    ]
    for i in range(n):
        at = start + step * i
        key = store.open_call("hotline", at, caller_number=f"1380000{i:04d}")
        outcome = outcomes[i % len(outcomes)]
        facts: dict[str, object] = {}
        if outcome is CallOutcome.ANSWERED:
            facts = {
                "answered_at": at + timedelta(seconds=3 + i % 20),
                "answered_by": "1024",
                "ended_at": at + timedelta(seconds=90),
                "satisfaction": 1 + i % 3,
                "category": "咨询",
                "content": f'第{i}号来电,含逗号,和"引号"',
            }
        store.seal_call(key, outcome, **facts)
        keys.append(key)
    return keys


def test_csv_export_totals_equal_kpis(store: DutyRecord, tmp_path: Path) -> None:
    keys = calls(store, T0, 23, timedelta(minutes=17))
    store.amend(keys[0], "satisfaction", 3, who="2001", why="misheard")
    store.open_call("hotline", T0 + timedelta(hours=1))  # open: not exported, not counted
    until = T0 + timedelta(days=1)
    out = tmp_path / "march.csv"
    result = export_calls(store, T0, until, out, who="2001")
    raw_bytes = out.read_bytes()
    assert raw_bytes.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    assert header[:3] == ["来电时间", "线路", "来电号码"] and header[-1] == "更正记录"
    body = rows[1 : 1 + result.rows]
    kpis = store.kpis(T0, until)
    assert result.rows == kpis.total == 23
    totals = {r[0]: r[1] for r in rows[2 + result.rows :] if len(r) >= 2}
    assert int(totals["来电总数"]) == len(body)
    outcome_col = header.index("结果")
    assert int(totals["接听数"]) == sum(r[outcome_col] == "已接听" for r in body) == kpis.answered
    assert int(totals["来电放弃"]) == sum(r[outcome_col] == "来电放弃" for r in body)
    assert int(totals["满意"]) == sum(r[header.index("满意度")] == "满意" for r in body)
    assert "misheard" in body[0][-1]
    assert totals["链头"].startswith("hotline:")
    assert [e.action for e in store.audit_log()] == ["export"]


def test_xlsx_export(store: DutyRecord, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    calls(store, T0, 10, timedelta(minutes=30))
    out = tmp_path / "march.xlsx"
    result = export_calls(store, T0, T0 + timedelta(days=1), out, who="2001")
    book = load_workbook(out)
    sheet = book["通话记录"]
    assert sheet.max_row == 1 + result.rows == 11
    summary = {r[0].value: r[1].value for r in book["汇总"].iter_rows()}
    assert summary["来电总数"] == result.kpis.total == 10
    assert summary["接听数"] == result.kpis.answered


@pytest.mark.parametrize("name", ["march.pdf", "missing-dir/march.csv"])
def test_bad_export_targets(store: DutyRecord, tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidFact):
        export_calls(store, T0, T0 + timedelta(days=1), tmp_path / name, who="2001")
    assert store.audit_log() == []


def test_retention_cutoff() -> None:
    assert retention_cutoff(date(2029, 3, 15)) == date(2026, 3, 1)


def _years_ago(years: int, day: int = 10) -> datetime:
    """A day in the month `years` before today's (real) month: the database's clock judges
    retention too, so the archive tests work with real ages, not a clock set forward."""
    now = datetime.now(UTC)
    return datetime(now.year - years, now.month, 1, tzinfo=UTC) + timedelta(days=day - 1)


def test_archive_purges_only_the_old_prefix(
    store: DutyRecord, clock: Clock, tmp_path: Path
) -> None:
    start = _years_ago(5)  # ~36 days from here, sealed as they end
    clock.now = start + timedelta(days=40)
    old = calls(store, start, 12, timedelta(days=3))
    clock.now = _years_ago(2)  # the amendment is young: its call (and all after) must stay
    store.amend(old[5], "notes", "补记", who="2001", why="late note")
    young = calls(store, _years_ago(2, day=12), 4, timedelta(days=1))
    anchors_before = store.chain_heads()
    clock.now = datetime.now(UTC)
    cutoff = retention_cutoff(clock.now.date())
    too_young = date(cutoff.year + cutoff.month // 12, cutoff.month % 12 + 1, 1)
    with pytest.raises(ArchiveRefused, match="younger"):
        archive(store, tmp_path, who="2001", before=too_young)
    assert store.audit_log()[-1].action == "archive_refused"
    assert len(store.calls()) == 16
    result = archive(store, tmp_path, who="2001")
    assert result.path is not None and result.digest is not None
    # Only the prefix before the amended call goes.
    assert result.purged == {"hotline": 5}
    assert [c.key for c in store.calls()] == old[5:] + young
    assert verify_archive(result.path, result.digest)
    report = store.verify(anchors_before)
    assert report.ok, report.problem
    assert (tmp_path / (result.path.name + ".sha256")).read_text().startswith(result.digest)


def test_archive_moves_whole_months(store: DutyRecord, clock: Clock, tmp_path: Path) -> None:
    start = _years_ago(5)
    clock.now = start + timedelta(days=31)
    old = calls(store, start, 10, timedelta(days=3))
    clock.now = _years_ago(2, day=20)
    young = calls(store, _years_ago(2), 3, timedelta(days=1))
    clock.now = datetime.now(UTC)
    result = archive(store, tmp_path, who="2001")
    assert result.purged == {"hotline": 10}
    assert [c.key for c in store.calls()] == young
    assert store.verify().ok
    # Purged rows really are gone, and the archive holds them with their hashes.
    lines = result.path.read_text().splitlines() if result.path else []
    assert sum('"calls"' in line for line in lines) == len(old)
    # A second run finds nothing more; a tampered archive is caught.
    assert archive(store, tmp_path, who="2001").purged == {}
    assert result.path is not None
    result.path.write_text(result.path.read_text().replace("1380000", "1390000", 1))
    with pytest.raises(ArchiveRefused):
        verify_archive(result.path, result.digest)


def test_purge_outside_a_checkpoint_is_refused_by_the_database(store: DutyRecord) -> None:
    from sqlalchemy.exc import DBAPIError

    calls(store, T0, 3, timedelta(minutes=1))
    with pytest.raises(DBAPIError, match="duty record"):
        raw(store, "DELETE FROM calls WHERE seq = 1")


@pytest.mark.parametrize("before", [date(2026, 3, 15)])
def test_archive_by_whole_months_only(
    store: DutyRecord, tmp_path: Path, clock: Clock, before: date
) -> None:
    clock.now = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ArchiveRefused, match="first of a month"):
        archive(store, tmp_path, who="2001", before=before)


def test_cli_upgrade_verify_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "duty.db")
    assert main(["db", "upgrade", "--db", db]) == 0
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "current" in capsys.readouterr().out
    store = DutyRecord(db, tz=UTC)
    keys = calls(store, T0, 5, timedelta(minutes=5))
    heads = [a.text() for a in store.chain_heads()]
    store.close()
    assert main(["verify", "--db", db, "--tz", "UTC", "--anchor", heads[0]]) == 0
    assert "sound" in capsys.readouterr().out
    out = tmp_path / "x.csv"
    assert (
        main(
            [
                "export",
                "--db",
                db,
                "--tz",
                "UTC",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-02",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "exported 5 calls" in capsys.readouterr().out
    store = DutyRecord(db, tz=UTC)
    raw(
        store, f"UPDATE calls SET caller_number = '0' WHERE key = '{keys[2]}'", bypass_triggers=True
    )
    store.close()
    assert main(["verify", "--db", db, "--tz", "UTC"]) == 1
    err = capsys.readouterr().err
    assert f"calls key={keys[2]}" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--db", "mysql://x/y"],
        ["verify", "--anchor", "nonsense"],
        ["verify", "--tz", "Mars/Olympus"],
        ["export", "--from", "2026-13-01", "--to", "2026-03-01", "--out", "x.csv"],
        ["export", "--from", "2026-03-02", "--to", "2026-03-01", "--out", "x.csv"],
        ["archive", "--before", "March", "--out", "."],
        ["db", "upgrade", "--db", "/nonexistent/dir/duty.db"],
    ],
)
def test_cli_bad_input_exits_2_with_a_message(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "--db" not in argv:
        argv = [*argv, "--db", str(tmp_path / "duty.db")]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip()


def test_cli_archive_refused_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "duty.db")
    DutyRecord(db).close()
    assert main(["archive", "--db", db, "--out", str(tmp_path), "--before", "2999-01"]) == 3
    assert "Archive refused" in capsys.readouterr().err


def test_cli_upgrade_refuses_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert main(["db", "upgrade", "--db", str(other)]) == 2
    assert "Not a duty record" in capsys.readouterr().err
