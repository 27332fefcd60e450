"""A year's notice from TOML or iCalendar: the 2026 notice as .ics loads to the dates we ship."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pytest

from console.holidays.files import NoticeError, calendar_toml, read_notice
from console.holidays.source import packaged_calendar

DATA = Path(__file__).resolve().parents[1] / "data" / "holidays"


def _shipped(year: int) -> tuple[set[dt.date], set[dt.date]]:
    cal = packaged_calendar()
    return ({d for d in cal.holidays if d.year == year},
            {d for d in cal.makeup_days if d.year == year})


def test_the_2026_notice_as_ics_loads_to_exactly_the_dates_we_ship() -> None:
    notice = read_notice(DATA / "notice-2026.ics", year=2026)
    holidays, makeup = _shipped(2026)
    assert set(notice.holidays) == holidays and set(notice.makeup_days) == makeup
    # and to the hand-kept TOML copy, names included (the feed's "春节 补班" → 春节调休)
    toml = read_notice(DATA / "notice-2026.toml")
    assert notice.holidays == toml.holidays and notice.makeup_days == toml.makeup_days


def _event(summary: str, first: dt.date, last: dt.date, *cats: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{first}-{summary}@test")
    event.add("dtstamp", dt.datetime(2025, 11, 4, tzinfo=dt.UTC))
    event.add("summary", summary)
    event.add("dtstart", first)
    event.add("dtend", last + dt.timedelta(days=1))
    if cats:
        event.add("categories", list(cats))
    return event


def _ics(path: Path, events: list[icalendar.Event], year: int | None = None) -> Path:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//test//")
    cal.add("version", "2.0")
    if year is not None:
        cal.add("x-duty-year", str(year))
    for event in events:
        cal.add_component(event)
    path.write_bytes(cal.to_ical())
    return path


def test_round_trip_what_we_ship_through_ics(tmp_path: Path) -> None:
    """Our 2026 dates written as a feed (one event per day, feed-style names) read back the
    same; a second year in the feed is left out by --year."""
    cal = packaged_calendar()
    events = [_event(f"{name} 假期 第1天/共1天", d, d)
              for d, name in cal.holidays.items() if d.year in (2025, 2026)]
    events += [_event(f"{name.removesuffix('调休')}（班）", d, d)
               for d, name in cal.makeup_days.items() if d.year in (2025, 2026)]
    path = _ics(tmp_path / "feed.ics", events)
    notice = read_notice(path, year=2026)
    holidays, makeup = _shipped(2026)
    assert set(notice.holidays) == holidays and set(notice.makeup_days) == makeup
    assert notice.skipped == len([e for e in events if e.decoded("DTSTART").year == 2025])
    assert notice.holidays[dt.date(2026, 2, 15)] == "春节"
    assert notice.makeup_days[dt.date(2026, 2, 14)] == "春节调休"


def test_the_office_calendar_file_reads_back(tmp_path: Path) -> None:
    from console.config import load_calendar

    notice = read_notice(DATA / "notice-2026.toml").calendar()
    path = tmp_path / "holidays.toml"
    path.write_text(calendar_toml(notice), encoding="utf-8")
    back = load_calendar(path)
    assert back.holidays == notice.holidays and back.makeup_days == notice.makeup_days
    assert back.years == {2026}
    assert path.read_text(encoding="utf-8").count("\n[[holiday]]\nname") == 7  # runs, not days


WHOLE = [_event("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 1)),
         _event("国庆节", dt.date(2027, 10, 1), dt.date(2027, 10, 7))]


@pytest.mark.parametrize(
    ("events", "year", "flag", "words"),
    [
        (WHOLE, None, None, "no year declared: give --year"),
        ([*WHOLE, _event("春节 补班", dt.date(2027, 2, 9), dt.date(2027, 2, 9))], 2027, None,
         "2027-02-09: make-up working day '春节调休' is a Tuesday"),
        ([*WHOLE, _event("春节", dt.date(2027, 2, 6), dt.date(2027, 2, 12)),
          _event("春节调休", dt.date(2027, 2, 6), dt.date(2027, 2, 6), "补班")],
         None, 2027, "2027-02-06: is in the holiday '春节'"),
        ([*WHOLE, _event("元旦", dt.date(2026, 12, 31), dt.date(2027, 1, 1))], None, 2027,
         "2026-12-31: event '元旦' runs from 2026-12-31 to 2027-01-01, across the boundary"),
        (WHOLE[1:], 2027, None, "2027-01-01: is not a holiday in the file"),
        (WHOLE[:1], 2027, None, "2027-10-01: no holiday on or after it"),
        (WHOLE, 2027, 2028, "declares X-DUTY-YEAR:2027, not --year 2028"),
        ([*WHOLE, _event("元旦", dt.date(2026, 12, 31), dt.date(2026, 12, 31))], 2027, None,
         "2026-12-31: is not in 2027"),
    ],
)
def test_bad_ics_is_one_line_with_the_date(
    tmp_path: Path, events: list[icalendar.Event], year: int | None, flag: int | None,
    words: str,
) -> None:
    path = _ics(tmp_path / "bad.ics", events, year)
    with pytest.raises(NoticeError) as info:
        read_notice(path, year=flag)
    message = str(info.value)
    assert words in message and message.startswith(str(path)) and "\n" not in message


def test_ics_with_times_or_repeats_and_non_calendars(tmp_path: Path) -> None:
    timed = icalendar.Event()
    timed.add("summary", "元旦")
    timed.add("dtstart", dt.datetime(2027, 1, 1, 9, 0))
    path = _ics(tmp_path / "timed.ics", [timed], 2027)
    with pytest.raises(NoticeError, match="2027-01-01: event '元旦' has a time of day"):
        read_notice(path)
    repeat = _event("元旦", dt.date(2027, 1, 1), dt.date(2027, 1, 1))
    repeat.add("rrule", {"freq": "yearly"})
    with pytest.raises(NoticeError, match="repeats"):
        read_notice(_ics(tmp_path / "rrule.ics", [repeat], 2027))
    (tmp_path / "junk.ics").write_text("not a calendar", encoding="utf-8")
    with pytest.raises(NoticeError, match="not an iCalendar file"):
        read_notice(tmp_path / "junk.ics")
    (tmp_path / "notice.xlsx").write_text("", encoding="utf-8")
    with pytest.raises(NoticeError, match=r"expected a \.toml or an \.ics file"):
        read_notice(tmp_path / "notice.xlsx")


def test_toml_notice_declares_one_year(tmp_path: Path) -> None:
    path = tmp_path / "n.toml"
    path.write_text('[[holiday]]\nname = "元旦"\ndate = 2027-01-01\n', encoding="utf-8")
    with pytest.raises(NoticeError, match="declares its one year"):
        read_notice(path)
    path.write_text('year = 2027\n[[holiday]]\nname = "元旦"\ndate = 2027-01-01\n'
                    '[[holiday]]\nname = "国庆节"\nfrom = 2027-10-01\nto = 2027-10-07\n'
                    '[[makeup]]\nname = "国庆节调休"\ndate = 2027-10-02\n', encoding="utf-8")
    with pytest.raises(NoticeError) as info:
        read_notice(path)
    assert str(info.value) == (
        f"{path}: 2027-10-02: is in the holiday '国庆节' and is also a make-up working day "
        "'国庆节调休': a holiday run must not overlap a make-up day"
    )
    with pytest.raises(NoticeError, match="declares year = 2027, not --year 2026"):
        read_notice(path, year=2026)
