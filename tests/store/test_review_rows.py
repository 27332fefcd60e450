"""Review rows (the call log's narrow rows) agree with full records; verify reports progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from console.store import CallOutcome, CorruptDatabase, DutyRecord, InvalidFact
from console.store.review import (
    ReviewFilter,
    ReviewRow,
    SortKey,
    call_page,
    chained_records,
    verify_with_progress,
)
from tests.store.helpers import raw
from tests.store.test_review import fill

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
SHOWN = ReviewRow._fields


def test_rows_show_what_the_full_records_show_amendments_included(store: DutyRecord) -> None:
    keys = fill(store, 12)
    store.amend(keys[0], "category", "complaint", who="9001", why="misfiled")
    store.amend(keys[0], "content", "改: 漏水", who="9001", why="typo")
    store.amend(keys[2], "outcome", "answered", who="9001", why="was answered at the gate")
    store.amend(keys[2], "answered_by", "1024", who="9001", why="was answered at the gate")
    later = T0 + timedelta(minutes=4, seconds=17)  # keys[4] rang at T0 + 4 min
    store.amend(keys[4], "answered_at", later.isoformat(), who="9001", why="clock skew")
    store.amend(keys[5], "satisfaction", None, who="9001", why="caller hung up first")
    page = call_page(store, ReviewFilter(sort=SortKey.OLDEST), size=100)
    records = {c.key: c for c in store.calls()}
    assert [r.key for r in page.calls] == keys
    for row in page.calls:
        full = records[row.key]
        assert tuple(getattr(full, name) for name in SHOWN) == tuple(row), row.key
    by_key = {r.key: r for r in page.calls}
    assert by_key[keys[4]].seconds_to_answer == 17.0
    assert by_key[keys[4]].amended_fields == ("answered_at", "seconds_to_answer")
    assert by_key[keys[2]].outcome is CallOutcome.ANSWERED
    assert by_key[keys[5]].satisfaction is None
    assert by_key[keys[1]].amended_fields == ()


def test_a_page_is_two_statements_however_many_amendments(store: DutyRecord) -> None:
    keys = fill(store, 30)
    for key in keys[:20]:
        store.amend(key, "notes", "补记", who="9001", why="late note")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        page = call_page(store, ReviewFilter(), size=25)
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, statements
    assert len(page.calls) == 25 and page.next is not None
    assert sum(1 for r in page.calls if r.amended_fields == ("notes",)) == 15


def test_an_unknown_outcome_in_the_database_names_the_call(store: DutyRecord) -> None:
    keys = fill(store, 3)
    raw(
        store,
        f"UPDATE calls SET outcome = 'vanished' WHERE key = '{keys[1]}'",
        bypass_triggers=True,
    )
    with pytest.raises(CorruptDatabase, match=keys[1]):
        call_page(store, ReviewFilter())


def test_verify_reports_progress_up_to_the_total(store: DutyRecord) -> None:
    fill(store, 25)
    seen: list[tuple[int, int]] = []
    report = verify_with_progress(store, progress=lambda n, total: seen.append((n, total)), every=5)
    assert report.ok
    total = chained_records(store)
    assert total == report.checked == sum(report.chains.values())
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    steps = [n for n, _ in seen]
    assert steps == sorted(steps) and len(seen) >= total // 5
    assert {t for _, t in seen} == {total}


def test_verify_progress_stops_where_a_tampered_record_is(store: DutyRecord) -> None:
    keys = fill(store, 20)
    raw(
        store,
        f"UPDATE calls SET content = 'changed' WHERE key = '{keys[12]}'",
        bypass_triggers=True,
    )
    seen: list[tuple[int, int]] = []
    report = verify_with_progress(store, progress=lambda n, total: seen.append((n, total)), every=1)
    assert not report.ok and keys[12] in (report.problem or "")
    assert seen[-1] == (report.checked, chained_records(store))
    assert report.checked < chained_records(store)


def test_verify_progress_comes_from_verify_itself(store: DutyRecord) -> None:
    fill(store, 7)
    seen: list[tuple[int, int]] = []
    report = store.verify(progress=lambda n, total: seen.append((n, total)), progress_every=3)
    total = chained_records(store)
    assert report.ok and report.checked == total
    steps = [(n, total) for n in range(3, total + 1, 3)]
    assert total == 7 and seen == [(0, total), *steps, (total, total)]


def test_verify_progress_refuses_a_step_below_one(store: DutyRecord) -> None:
    with pytest.raises(ValueError, match="every=0"):
        verify_with_progress(store, progress=print, every=0)
    with pytest.raises(InvalidFact, match="progress_every=0"):
        store.verify(progress=print, progress_every=0)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_reports_each_row_against_the_expected_total(
    store: DutyRecord, tmp_path: Path, suffix: str
) -> None:
    from console.store.export import export_calls

    fill(store, 14)
    seen: list[tuple[int, int]] = []
    result = export_calls(
        store,
        T0,
        T0 + timedelta(days=1),
        tmp_path / f"day{suffix}",
        who="9001",
        progress=lambda n, total: seen.append((n, total)),
    )
    assert result.rows == 14 == result.kpis.total
    assert seen == [(n, 14) for n in range(1, 15)]
