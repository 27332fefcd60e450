"""`duty-console holidays add FILE` and `holidays show YEAR` against a temporary console."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from console.config import load
from console.store import DutyRecord
from tests.test_config import MINIMAL

DATA = Path(__file__).resolve().parents[1] / "data" / "holidays"

CONFIG = MINIMAL + """\

[holidays]
calendar = "holidays.toml"

[database]
url = "sqlite:///{db}"
"""

NOTICE_2027 = """\
# A 2027 notice as the office would type it (dates made up for the test).
year = 2027

[[holiday]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03

[[holiday]]
name = "春节"
from = 2027-02-06
to = 2027-02-12

[[makeup]]
name = "春节调休"
date = 2027-02-13

[[holiday]]
name = "国庆节"
from = 2027-10-01
to = 2027-10-07

[[makeup]]
name = "国庆节调休"
date = 2027-10-09
"""


@pytest.fixture
def console(tmp_path: Path) -> Path:
    db = tmp_path / "duty.db"
    DutyRecord(f"sqlite:///{db}").close()  # the record exists, as on a seat that has run
    path = tmp_path / "console.toml"
    path.write_text(CONFIG.format(db=db), encoding="utf-8")
    return path


def _audit(console: Path) -> list[tuple[str, str, str]]:
    record = DutyRecord(f"sqlite:///{console.parent / 'duty.db'}", create=False)
    try:
        return [(a.action, a.who, a.detail) for a in record.audit_log()]
    finally:
        record.close()


def test_add_a_year_shows_the_changes_writes_the_calendar_and_audits(
    console: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notice = tmp_path / "notice-2027.toml"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    office = tmp_path / "holidays.toml"
    assert main(["--config", str(console), "holidays", "add", str(notice), "--dry-run",
                 "--who", "9001"]) == 0
    out = capsys.readouterr().out
    assert "2027-01-01 Fri  working day → holiday 元旦" in out
    assert "2027-02-13 Sat  weekend → make-up working day 春节调休" in out
    assert "dry run" in out and not office.exists() and _audit(console) == []

    assert main(["--config", str(console), "holidays", "add", str(notice), "--who", "9001"]) == 0
    out = capsys.readouterr().out
    assert f"written to {office}" in out
    cfg = load(console, environ={})
    assert 2027 in cfg.calendar.years
    assert cfg.calendar.holidays[dt.date(2027, 2, 6)] == "春节"
    ((action, who, detail),) = _audit(console)
    assert (action, who) == ("holidays_add", "9001")
    assert detail.startswith("holidays.toml: 2027 from notice-2027.toml, 19 day(s) changed")

    # loading the same year again changes nothing, and says so
    assert main(["--config", str(console), "holidays", "add", str(notice), "--who", "9001"]) == 0
    out = capsys.readouterr().out
    assert "none: every day of the year stays as it is" in out
    assert "2027 from the office's calendar" in out


def test_add_the_2026_ics_over_the_package_changes_only_names(
    console: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(console), "holidays", "add", str(DATA / "notice-2026.ics"),
                 "--year", "2026", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    changed = [line for line in out.splitlines() if line.startswith("  2026-")]
    # same dates as chinese-calendar: only the names differ (清明 → 清明节 ...)
    assert changed and all("holiday" in line and "→ holiday" in line for line in changed)
    assert "2026-04-04 Sat  holiday 清明 → holiday 清明节" in out


def test_show_a_year(console: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "holidays.toml").write_text(
        '[[holiday]]\nname = "厂庆"\ndate = 2026-09-22\n', encoding="utf-8"
    )
    assert main(["--config", str(console), "holidays", "show", "2026"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 366  # every day, then the totals
    assert lines[0].startswith("2026-01-01 Thu  法定节假日 holiday  元旦  [chinese-calendar")
    assert lines[3].startswith("2026-01-04 Sun  调休上班 make-up working day  元旦调休")
    assert lines[4] == "2026-01-05 Mon  工作日 working day"
    assert lines[9] == "2026-01-10 Sat  周末 weekend"
    assert "2026-09-22 Tue  法定节假日 holiday  厂庆  [office: holidays.toml]" in lines
    assert lines[-1] == ("2026: 34 holiday day(s), 6 make-up working day(s), 84 weekend day(s), "
                         "241 working day(s)")


def test_show_a_year_not_covered(console: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (console.parent / "holidays.toml").write_text("", encoding="utf-8")
    assert main(["--config", str(console), "holidays", "show", "2999"]) == 1
    assert "2999 is not covered by the holiday calendar" in capsys.readouterr().out


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console.cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace("date = 2027-02-13", "date = 2027-02-15"),
         "2027-02-15: make-up working day '春节调休' is a Monday"),
        (lambda t: t.replace("date = 2027-10-09", "date = 2027-10-02"),
         "2027-10-02: is in the holiday '国庆节' and is also a make-up working day"),
        (lambda t: t.replace("year = 2027", "year = 2026"), "2027-01-01: is not in 2026"),
        (lambda t: t.replace("from = 2027-01-01\nto = 2027-01-03", "date = 2027-01-02"),
         "2027-01-01: is not a holiday in the file"),
        (lambda t: t.replace("date = 2027-10-09", "date = 2027-10-41"), "invalid TOML"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_2(console: Path, tmp_path: Path, edit, words: str) -> None:  # type: ignore[no-untyped-def]
    notice = tmp_path / "notice-2027.toml"
    notice.write_text(edit(NOTICE_2027), encoding="utf-8")
    done = run("--config", str(console), "holidays", "add", str(notice))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert words in line and str(notice) in line
    assert not (tmp_path / "holidays.toml").exists() and _audit(console) == []


def test_add_needs_a_configured_calendar_and_a_record(tmp_path: Path, console: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "notice-2026.toml", tmp_path / "n.toml")
    bare = tmp_path / "bare.toml"
    bare.write_text(console.read_text("utf-8").replace('calendar = "holidays.toml"', ""), "utf-8")
    assert main(["--config", str(bare), "holidays", "add", str(tmp_path / "n.toml")]) == 2
    assert "holidays.calendar: not set" in capsys.readouterr().err
    gone = tmp_path / "gone.toml"
    gone.write_text(console.read_text("utf-8").replace("duty.db", "none.db"), "utf-8")
    assert main(["--config", str(gone), "holidays", "add", str(tmp_path / "n.toml")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and not (tmp_path / "holidays.toml").exists()
