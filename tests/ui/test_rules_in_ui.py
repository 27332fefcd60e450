"""The UI shows the domain's rules: shift filters from the configured rosters, the ring count
as the flow records it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from console.config import loads
from console.domain.ring import RingLimit
from console.domain.schedule import DEFAULT_ROSTERS, Roster, parse_days
from console.ui.settings import UiSettings
from console.widgets.review.labels import ShiftFilter, shift_filters
from console.widgets.ring_banner import ringing_count
from tests.test_config import MINIMAL


def test_shift_filters_say_the_rosters_times() -> None:
    filters = shift_filters(DEFAULT_ROSTERS)
    assert list(filters) == ["day", "noon", "evening", "weekend", "night"]
    assert filters["day"] == ShiftFilter("早班 08:00–17:30 (按整点 08–18)", (8, 18))
    assert filters["noon"] == ShiftFilter("中午值班 11:30–14:00 (按整点 11–14)", (11, 14))
    assert filters["evening"].label.startswith("晚班 17:30–21:00")
    assert filters["evening"].hours == (17, 21)
    assert filters["weekend"] == ShiftFilter("周末值班 09:00–18:00", (9, 18))
    assert filters["night"] == ShiftFilter("夜间 21:00–08:00", (21, 8))


def test_shift_filters_follow_other_rosters() -> None:
    early = (
        Roster("day", parse_days("mon-fri"), dt.time(7, 0), dt.time(16, 0), "早班"),
        Roster("late", parse_days("daily"), dt.time(16, 0), dt.time(22, 45), "晚班"),
    )
    filters = shift_filters(early)
    assert filters["day"] == ShiftFilter("早班 07:00–16:00", (7, 16))
    assert filters["late"].hours == (16, 23)
    assert filters["night"] == ShiftFilter("夜间 22:45–07:00 (按整点 23–07)", (23, 7))


ROSTERS = MINIMAL + """\

[rosters.day]
label = "白班"
days = "mon-fri"
start = "07:30"
end = "16:00"
"""


def test_the_ui_gets_the_configured_rosters(tmp_path: Path) -> None:
    cfg = loads(ROSTERS, "r.toml", tmp_path, environ={})
    settings = UiSettings.from_config(cfg)
    assert settings.rosters == cfg.rosters
    assert shift_filters(settings.rosters)["day"].label == "白班 07:30–16:00 (按整点 07–16)"
    assert UiSettings().rosters == DEFAULT_ROSTERS


@pytest.mark.parametrize(
    ("elapsed", "rings"), [(0.0, 1), (5.0, 1), (5.1, 2), (15.0, 3), (15.3, 3), (30.0, 3)]
)
def test_a_ringing_call_shows_the_count_the_flow_will_record(elapsed: float, rings: int) -> None:
    limit = RingLimit(3, 5.0)
    assert ringing_count(limit, elapsed) == rings
    assert ringing_count(limit, elapsed) == limit.ring_count(elapsed, at_limit=True)
