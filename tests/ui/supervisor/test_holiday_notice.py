"""The supervisor loads a year's holiday notice from the Integrity tab (载入假日通知, F10): the
same preview, one-line errors, write and audit entry as `duty-console holidays add`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from console.app import DutyConsoleApp
from console.config import HolidayPolicy, HolidaySettings, load_calendar
from console.domain import HolidayCalendar
from console.domain.labels import Language
from console.store import DutyRecord
from console.ui.texts import text
from tests.holidays.test_cli import NOTICE_2027
from tests.ui.helpers import login, press_button, screen_name, until
from tests.ui.supervisor.conftest import SUPERVISOR

Build = Callable[..., DutyConsoleApp]
DATA = Path(__file__).resolve().parents[2] / "data" / "holidays"



def _settings(office: Path) -> dict[str, object]:
    holidays = HolidaySettings(calendar_file=office, on_holiday=HolidayPolicy.NIGHT,
                               makeup_works_as=0)
    return {"settings": {"holidays": holidays,
                         "holiday_calendar": HolidayCalendar(years=frozenset({2025, 2026}))}}


def _result(app: DutyConsoleApp) -> str:
    return str(app.screen.query_one("#hn-result", Static).render())


def _audit(store: DutyRecord) -> list[tuple[str, str, str]]:
    return [(a.action, a.who, a.detail) for a in store.audit_log() if a.action == "holidays_add"]


async def _open(pilot: Pilot[int], app: DutyConsoleApp, by_key: bool = False) -> None:
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
    assert "f10" not in app.screen.active_bindings  # the key belongs to the Integrity tab
    await pilot.press("f7")
    await until(pilot, lambda: "f10" in app.screen.active_bindings, "F10 in the footer")
    if by_key:
        await pilot.press("f10")
    else:
        await press_button(pilot, "i-notice")
    await until(pilot, lambda: screen_name(app) == "HolidayNoticeScreen", "the dialog")


async def _type(pilot: Pilot[int], app: DutyConsoleApp, path: Path, year: str = "") -> None:
    app.screen.query_one("#hn-file", Input).value = str(path)
    app.screen.query_one("#hn-year", Input).value = year
    app.screen.query_one("#hn-file", Input).focus()
    await pilot.press("enter")


async def test_a_2027_notice_previews_then_writes_with_the_supervisors_audit_entry(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    notice = tmp_path / "notice-2027.toml"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    office = tmp_path / "holidays.toml"
    app = build(**_settings(office))
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app, by_key=True)
        await _type(pilot, app, notice)
        await until(pilot, lambda: "2027-01-01 Fri" in _result(app), "the preview")
        words = _result(app)
        assert "2027-01-01 Fri  工作日 → 法定节假日 元旦" in words
        assert "2027-02-13 Sat  周末 → 调休上班 春节调休" in words
        assert text("notice.changes").format(n=19) in words and str(office) in words
        assert not office.exists() and _audit(store) == []  # a preview writes nothing

        await press_button(pilot, "hn-write")
        await until(pilot, lambda: text("notice.written")[-5:] in _result(app), "written")
        assert text("notice.written")[-5:] in _result(app)  # "… reads it at its next start"
        written = load_calendar(office)
        assert 2027 in written.years and written.holidays[dt.date(2027, 2, 6)] == "春节"
        ((action, who, detail),) = _audit(store)
        assert (action, who) == ("holidays_add", "9001")
        assert detail.startswith("holidays.toml: 2027 from notice-2027.toml, 19 day(s) changed")


async def test_a_bad_notice_is_the_commands_one_line_and_nothing_is_written(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    notice = tmp_path / "notice-2027.toml"
    notice.write_text(NOTICE_2027.replace("date = 2027-02-13", "date = 2027-02-15"), "utf-8")
    office = tmp_path / "holidays.toml"
    app = build(**_settings(office))
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app)
        await _type(pilot, app, notice)
        await until(pilot, lambda: "2027-02-15" in _result(app), "the error")
        # the command's line in the seat's language (the English detail is in the log)
        assert _result(app) == (
            f"节假日日历:{notice}:2027-02-15 这一天不符合年度通知的规则(英文详情见 console.log)"
        )
        assert app.screen.query_one("#hn-result").has_class("-error")
        assert app.screen.query_one("#hn-write", Button).disabled
        await press_button(pilot, "hn-write")  # disabled: nothing happens
        await pilot.pause()
        assert not office.exists() and _audit(store) == []


async def test_an_ics_feed_needs_its_year_and_loads_with_it(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    office = tmp_path / "holidays.toml"
    app = build(**_settings(office))
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app)
        feed = DATA / "notice-2026.ics"
        await _type(pilot, app, feed)
        await until(pilot, lambda: "未声明年份" in _result(app), "the year asked for")
        assert not office.exists()

        await _type(pilot, app, feed, "2026")
        await until(pilot, lambda: "2026-04-04 Sat" in _result(app), "the preview")
        # the same dates as chinese-calendar: only the names differ
        assert "2026-04-04 Sat  法定节假日 清明 → 法定节假日 清明节" in _result(app)
        await press_button(pilot, "hn-write")
        await until(pilot, lambda: text("notice.written")[-5:] in _result(app), "written")
        assert 2026 in load_calendar(office).years
        ((_, who, detail),) = _audit(store)
        assert who == "9001" and detail.startswith("holidays.toml: 2026 from notice-2026.ics")


async def test_an_english_seat_shows_the_very_line_the_command_prints(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    notice = tmp_path / "notice-2027.toml"
    notice.write_text(NOTICE_2027.replace("date = 2027-02-13", "date = 2027-02-15"), "utf-8")
    office = tmp_path / "holidays.toml"
    settings = _settings(office)
    settings["settings"]["language"] = Language.EN  # type: ignore[index]
    app = build(**settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await _open(pilot, app)
        await _type(pilot, app, notice)
        await until(pilot, lambda: "Monday" in _result(app), "the error")
        # the very line `duty-console holidays add` prints on stderr (exit 2)
        assert _result(app) == (
            f"Holiday calendar: {notice}: 2027-02-15: make-up working day '春节调休' is a "
            "Monday: a make-up day must be a Saturday or Sunday"
        )
