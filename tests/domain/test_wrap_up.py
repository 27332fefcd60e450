"""Finishing after-call work is one rule of the domain (`console.domain.wrap_up`): a category
of the rules' six, a follow-up due time that reads. Each refusal is coded and names the fact
to fix, so the seat words it in its own language (its English `str()` is the log's)."""

from __future__ import annotations

import datetime as dt

import pytest

from console.domain.errors import ErrorCode, WrapUpError
from console.domain.labels import Category
from console.domain.wrap_up import REQUIRED_TO_FINISH, check_finished, follow_up_due

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("category", "due", "code", "fact", "value"),
    [
        ("", "", ErrorCode.WRAP_UP_NO_CATEGORY, "category", None),
        ("   ", "2026-03-03 10:00", ErrorCode.WRAP_UP_NO_CATEGORY, "category", None),
        ("", "tomorrow", ErrorCode.WRAP_UP_NO_CATEGORY, "category", None),  # the first problem
        ("bogus", "", ErrorCode.WRAP_UP_BAD_CATEGORY, "category", "bogus"),
        ("投诉", "", ErrorCode.WRAP_UP_BAD_CATEGORY, "category", "投诉"),  # a label, not a value
        ("repair", "tomorrow", ErrorCode.WRAP_UP_BAD_DUE, "follow_up", "tomorrow"),
        ("repair", "2026-13-01 10:00", ErrorCode.WRAP_UP_BAD_DUE, "follow_up", "2026-13-01 10:00"),
        ("repair", "2026-03-03", ErrorCode.WRAP_UP_BAD_DUE, "follow_up", "2026-03-03"),
        ("repair", " 10:00 ", ErrorCode.WRAP_UP_BAD_DUE, "follow_up", "10:00"),
    ],
)
def test_refused(category: str, due: str, code: ErrorCode, fact: str, value: str | None) -> None:
    with pytest.raises(WrapUpError) as err:
        check_finished(category, due, TZ)
    assert err.value.code is code
    assert err.value.values.get("fact") == fact
    assert err.value.values.get("value") == value
    assert str(err.value) and "\n" not in str(err.value)  # the log's one English line


@pytest.mark.parametrize("category", [c.value for c in Category])
def test_every_category_finishes(category: str) -> None:
    assert check_finished(category, "", TZ) is None
    assert check_finished(f" {category} ", "2026-03-03 10:05", TZ) == dt.datetime(
        2026, 3, 3, 10, 5, tzinfo=TZ)


def test_the_due_time_is_the_lines_local_time() -> None:
    assert follow_up_due("", TZ) is None
    assert follow_up_due("2026-03-03 02:05", dt.UTC) == dt.datetime(2026, 3, 3, 2, 5, tzinfo=dt.UTC)
    assert REQUIRED_TO_FINISH == ("category",)
