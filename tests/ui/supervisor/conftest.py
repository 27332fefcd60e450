"""Fixtures of the supervisor screens' tests: a duty record with a week of known calls."""

from __future__ import annotations

import datetime as dt

import pytest

from console.store import CallOutcome, DutyRecord
from tests.ui.conftest import START

SUPERVISOR = ("9001", "s3cret-9001")


def fill_week(store: DutyRecord, per_day: int = 12) -> list[str]:
    """`per_day` calls on each of the 7 days up to START's day, hours 7..18, known mix."""
    keys = []
    first = START.replace(hour=0) - dt.timedelta(days=6)
    for day in range(7):
        for i in range(per_day):
            ring = first + dt.timedelta(days=day, hours=7 + i % 12, minutes=i)
            if ring > START:
                continue
            n = day * per_day + i
            key = store.open_call("hotline", ring, caller_number=f"1390000{n:04d}")
            if n % 5 == 4:
                store.seal_call(key, CallOutcome.ABANDONED)
            elif n % 7 == 6:
                store.seal_call(
                    key,
                    CallOutcome.FORWARDED,
                    forwarded_to="gate-south",
                    forwarded_at=ring + dt.timedelta(seconds=20),
                )
            else:
                answered = ring + dt.timedelta(seconds=3 + (n * 5) % 20)
                store.seal_call(
                    key,
                    CallOutcome.ANSWERED,
                    answered_at=answered,
                    ended_at=answered + dt.timedelta(seconds=60 + n),
                    answered_by="1024" if n % 2 else "2048",
                    category="repair" if n % 3 == 0 else "consultation",
                    satisfaction=1 + n % 3,
                    content=("电梯困人" if n % 4 == 0 else "物业费咨询") + f" #{n}",
                )
            keys.append(key)
    return keys


@pytest.fixture
def week(store: DutyRecord) -> list[str]:
    return fill_week(store)
