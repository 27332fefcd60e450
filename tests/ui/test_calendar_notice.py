"""The holiday calendar's end on the seat's status bar and the supervisor's screens (Pilot, the
clock injected): from warn_days before it "holiday calendar ends YYYY-MM-DD", past it an alarm."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import Label, Static

from console.app import DutyConsoleApp
from console.domain import HolidayCalendar
from console.domain.labels import Language
from console.widgets.status_bar import StatusBar
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, press_button, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]
CAL = HolidayCalendar(years=frozenset({2025, 2026}))
WARNING_DAY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
ALARM_DAY = dt.datetime(2027, 1, 2, 10, 0, tzinfo=TZ)


def _to(clock: FakeClock, when: dt.datetime) -> None:
    clock.advance((when - clock.now()).total_seconds())


def _settings(**more: object) -> dict[str, object]:
    return {"settings": {"holiday_calendar": CAL, "calendar_warn_days": 60, **more}}


async def test_seat_warns_from_warn_days_before_the_end(build: Build, clock: FakeClock) -> None:
    _to(clock, WARNING_DAY)
    app = build(**_settings())
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await until(pilot, lambda: "节假日日历截止 2026-12-31" in screen_text(app), "warning")
        assert "还剩 30 天" in screen_text(app)
        assert not app.screen.query_one(StatusBar).has_class("-alarm")


async def test_seat_alarm_past_the_end_in_english(build: Build, clock: FakeClock) -> None:
    _to(clock, ALARM_DAY)
    app = build(**_settings(language=Language.EN))
    async with app.run_test(size=(160, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        bar = app.screen.query_one(StatusBar)
        await until(pilot, lambda: "holiday calendar ended 2026-12-31" in screen_text(app),
                    "alarm")
        assert bar.has_class("-alarm")


async def test_seat_says_nothing_while_the_end_is_far(build: Build, clock: FakeClock) -> None:
    assert clock.now() == START  # 2026-03-02: 304 days left
    app = build(**_settings())
    async with app.run_test(size=(140, 40)) as pilot:
        await login(pilot)
        await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
        await until(pilot, lambda: "已注册" in screen_text(app) or "注册" in screen_text(app))
        assert "节假日日历" not in screen_text(app)


async def test_supervisor_home_and_integrity_show_the_end(build: Build, clock: FakeClock) -> None:
    _to(clock, WARNING_DAY)
    app = build(**_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        notice = app.screen.query_one("#calendar-notice", Label)
        await until(pilot, lambda: notice.display, "calendar notice")
        words = str(notice.render())
        # The supervisor's screens speak the seat's language (zh here), one language.
        assert "节假日日历截止 2026-12-31" in words and "holiday calendar" not in words
        assert notice.has_class("-warning") and not notice.has_class("-alarm")
        await pilot.press("f7")
        await until(pilot, lambda: "节假日日历截止 2026-12-31"
                    in str(app.screen.query_one("#i-calendar", Static).render()), "integrity")
        assert "duty-console holidays add" in str(
            app.screen.query_one("#i-calendar", Static).render())
        # past the end, after the day changes: the next look turns red
        _to(clock, ALARM_DAY)
        app.screen.show_calendar()  # type: ignore[attr-defined]
        await press_button(pilot, "i-run")
        calendar = app.screen.query_one("#i-calendar", Static)
        await until(pilot, lambda: calendar.has_class("-alarm"), "integrity alarm")
        assert "节假日日历已于 2026-12-31 截止" in str(calendar.render())
        assert notice.has_class("-alarm")
        assert "节假日日历已于 2026-12-31 截止" in str(notice.render())


async def test_supervisor_home_hides_the_notice_when_covered(build: Build) -> None:
    app = build(**_settings())
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        assert not app.screen.query_one("#calendar-notice", Label).display
        await pilot.press("f7")
        calendar = app.screen.query_one("#i-calendar", Static)
        await until(pilot, lambda: "截止 2026-12-31" in str(calendar.render()), "integrity")
        assert not calendar.has_class("-alarm")
