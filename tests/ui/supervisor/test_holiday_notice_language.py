"""The holiday notice dialog's errors in the seat's language (issue 11, point 6): a bad file
showed the command's English line on a Chinese seat ("…: no year declared: give --year …").
Each bad file is tried on a Chinese seat (no English sentence, no Python repr) and on an
English one (the command's own line, no CJK but what the file itself holds)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from console.app import DutyConsoleApp
from console.domain.labels import Language
from console.store import DutyRecord
from tests.ui.helpers import until
from tests.ui.supervisor.test_holiday_notice import DATA, _open, _result, _settings, _type

Build = Callable[..., DutyConsoleApp]
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:]+[A-Za-z]{2,}){2,}")
PYTHON_REPR = re.compile(r"\bNone\b|'[^'\n]*'")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

ICS_TIMED = """BEGIN:VCALENDAR
VERSION:2.0
X-DUTY-YEAR:2027
BEGIN:VEVENT
SUMMARY:yuandan
DTSTART:20270101T090000
END:VEVENT
END:VCALENDAR
"""


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """What is typed (a path, a year) for each bad input."""
    (tmp / "notes.txt").write_text("x", "utf-8")
    (tmp / "garbage.ics").write_bytes(b"\\x00\\x01 not a calendar")
    (tmp / "two.toml").write_text("year = [2027, 2028]\\n", "utf-8")
    (tmp / "timed.ics").write_text(ICS_TIMED, "utf-8")
    return {
        "missing": (tmp / "missing.ics", ""),
        "not a notice": (tmp / "notes.txt", ""),
        "not iCalendar": (tmp / "garbage.ics", ""),
        "no year": (DATA / "notice-2026.ics", ""),
        "other year": (DATA / "notice-2026.ics", "2031"),
        "timed event": (tmp / "timed.ics", ""),
        "two years": (tmp / "two.toml", ""),
    }


CASES = ["missing", "not a notice", "not iCalendar", "no year", "other year", "timed event",
         "two years"]


def _path_free(line: str, path: Path) -> str:
    return line.replace(str(path), "PATH")


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_file_is_one_chinese_line_on_a_chinese_seat(
    build: Build, store: DutyRecord, tmp_path: Path, case: str
) -> None:
    path, year = _bad_files(tmp_path)[case]
    app = build(**_settings(tmp_path / "holidays.toml"))
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app)
        await _type(pilot, app, path, year)
        await until(pilot, lambda: app.screen.query_one("#hn-result").has_class("-error"),
                    "the error")
        line = _path_free(_result(app), path)
    assert "\\n" not in line and line.startswith("节假日日历:"), line
    assert not ENGLISH_SENTENCE.search(line) and not PYTHON_REPR.search(line), line


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_file_is_the_commands_english_line_on_an_english_seat(
    build: Build, store: DutyRecord, tmp_path: Path, case: str
) -> None:
    path, year = _bad_files(tmp_path)[case]
    settings = _settings(tmp_path / "holidays.toml")
    settings["settings"]["language"] = Language.EN  # type: ignore[index]
    app = build(**settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app)
        await _type(pilot, app, path, year)
        await until(pilot, lambda: app.screen.query_one("#hn-result").has_class("-error"),
                    "the error")
        line = _path_free(_result(app), path)
    assert line.startswith("Holiday calendar: PATH"), line
    assert not CJK.search(line), line
