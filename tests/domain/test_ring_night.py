"""Ring limit arithmetic and the night-mode decision with its override."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from console.domain import (
    DecisionSource,
    DomainError,
    ErrorCode,
    NightMode,
    OverrideError,
    OverrideKind,
    RingLimit,
    Schedule,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("elapsed", "rings", "reached"),
    [
        (0.0, 1, False),
        (0.1, 1, False),
        (5.0, 1, False),
        (5.001, 2, False),
        (10.0, 2, False),
        (14.999, 3, False),
        (15.0, 3, True),
        (15.001, 4, True),
    ],
)
def test_ring_count(elapsed: float, rings: int, reached: bool) -> None:
    limit = RingLimit(3, 5.0)
    assert limit.ring_count(elapsed) == rings
    assert limit.reached(elapsed) is reached


def test_ring_limit_deadline_and_remaining() -> None:
    limit = RingLimit(2, 4.0)
    assert limit.seconds == 8.0
    assert limit.deadline(100.0) == 108.0
    assert limit.remaining(3.0) == 5.0 and limit.remaining(9.0) == 0.0


@pytest.mark.parametrize(
    ("rings", "cadence"),
    [(0, 5.0), (-1, 5.0), (2.5, 5.0), (True, 5.0), (3, 0), (3, -1.0), (3, float("nan")), (3, "5")],
)
def test_ring_limit_refuses(rings: object, cadence: object) -> None:
    with pytest.raises(DomainError):
        RingLimit(rings, cadence)  # type: ignore[arg-type]


@pytest.mark.parametrize("elapsed", [-0.1, float("nan"), float("inf")])
def test_ring_count_refuses(elapsed: float) -> None:
    with pytest.raises(DomainError):
        RingLimit().ring_count(elapsed)


def at(d: int, h: int, m: int, s: int = 0) -> dt.datetime:
    return dt.datetime(2025, 9, d, h, m, s, tzinfo=SH)  # 22 = Monday


def test_schedule_decides_by_default() -> None:
    night = NightMode(Schedule())
    day = night.decide(at(22, 10, 0))
    assert not day.night and day.source is DecisionSource.SCHEDULE
    late = night.decide(at(22, 21, 0))
    assert late.night and "gate post" in late.reason


def test_early_night_expires_at_next_boundary() -> None:
    night = NightMode(Schedule())
    d = night.set_override(OverrideKind.EARLY_NIGHT, "停电,提前转门岗", "1024", at(22, 20, 15))
    assert d.night and d.source is DecisionSource.OVERRIDE
    assert "1024" in d.reason and "停电" in d.reason
    assert night.override is not None and night.override.expires_at == at(22, 21, 0)
    assert night.decide(at(22, 20, 59, 59)).source is DecisionSource.OVERRIDE
    after = night.decide(at(22, 21, 0))
    assert after.night and after.source is DecisionSource.SCHEDULE
    assert night.override is None


def test_stay_on_expires_next_morning() -> None:
    night = NightMode(Schedule())
    d = night.set_override(OverrideKind.STAY_ON, "等待维修回电", "1024", at(22, 21, 5))
    assert not d.night
    assert night.decide(at(23, 7, 59)).source is DecisionSource.OVERRIDE
    morning = night.decide(at(23, 8, 0))
    assert not morning.night and morning.source is DecisionSource.SCHEDULE


def test_early_night_during_day_lapses_when_evening_starts() -> None:
    night = NightMode(Schedule())
    night.set_override(OverrideKind.EARLY_NIGHT, "培训", "1024", at(22, 16, 0))
    assert night.decide(at(22, 17, 29)).night
    assert not night.decide(at(22, 17, 30)).night


_C = ErrorCode


@pytest.mark.parametrize(
    ("kind", "reason", "agent", "moment", "match", "code"),
    [
        (OverrideKind.EARLY_NIGHT, "", "1024", at(22, 10, 0), "reason", _C.OVERRIDE_NO_REASON),
        (OverrideKind.EARLY_NIGHT, "   ", "1024", at(22, 10, 0), "reason",
         _C.OVERRIDE_NO_REASON),
        (OverrideKind.EARLY_NIGHT, "x", "", at(22, 10, 0), "agent", _C.OVERRIDE_NO_AGENT),
        (OverrideKind.EARLY_NIGHT, "x", "1024", at(22, 22, 0), "already after hours",
         _C.OVERRIDE_AFTER_HOURS),
        (OverrideKind.STAY_ON, "x", "1024", at(22, 10, 0), "staffed anyway", _C.OVERRIDE_STAFFED),
    ],
)
def test_override_refused(
    kind: OverrideKind, reason: str, agent: str, moment: dt.datetime, match: str,
    code: ErrorCode,
) -> None:
    """Each refusal keeps its English line (the log's) and carries its code and the facts
    the seat words it from (the kind, or the schedule's shift at that moment)."""
    night = NightMode(Schedule())
    with pytest.raises(OverrideError, match=match) as err:
        night.set_override(kind, reason, agent, moment)
    assert night.override is None
    assert err.value.code is code
    if code in (_C.OVERRIDE_AFTER_HOURS, _C.OVERRIDE_STAFFED):
        assert err.value.values["shift"] == night.schedule.at(moment)
    else:
        assert err.value.values["kind"] is kind


def test_clear_override() -> None:
    night = NightMode(Schedule())
    night.set_override(OverrideKind.EARLY_NIGHT, "x", "1", at(22, 10, 0))
    assert night.clear_override() is not None
    assert not night.decide(at(22, 10, 0)).night


@pytest.mark.parametrize(
    ("elapsed", "at_limit", "rings"),
    [
        (15.0, True, 3),
        (15.2, True, 3),  # the console answered 0.2 s late: still the third ring
        (15.2, False, 4),
        (40.0, True, 3),
        (4.0, True, 1),
    ],
)
def test_ring_count_at_the_limit_is_capped(elapsed: float, at_limit: bool, rings: int) -> None:
    assert RingLimit(3, 5.0).ring_count(elapsed, at_limit=at_limit) == rings


def test_ring_count_at_the_limit_in_floats() -> None:
    # 0.3 s of 0.1 s rings is 3 rings, although 0.3 / 0.1 is 2.9999… in floats
    limit = RingLimit.of_seconds(0.3, 0.1)
    assert limit.rings == 3 and limit.ring_count(0.3) == 3


@pytest.mark.parametrize(("seconds", "cadence"), [(16.0, 5.0), (0.0, 5.0), (15.0, 0.0)])
def test_ring_limit_of_seconds_needs_whole_rings(seconds: float, cadence: float) -> None:
    with pytest.raises(DomainError):
        RingLimit.of_seconds(seconds, cadence)
