"""Exports read the period in one streamed query: amendments beside their call, no per-row SQL.

The statement count is taken with a SQLAlchemy `before_cursor_execute` listener on the
store's engine, so it counts what reaches the driver (a PostgreSQL server-side cursor's
FETCHes are the driver's own and are not statements the export issues).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from console.store import (
    CallFilter,
    CallOutcome,
    CorruptDatabase,
    DatabaseUnavailable,
    DutyRecord,
)
from console.store.export import export_calls
from tests.store.helpers import raw
from tests.store.pg import PgServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _seal_calls(store: DutyRecord, n: int, start: datetime = T0) -> list[str]:
    keys = []
    for i in range(n):
        at = start + timedelta(minutes=7 * i)
        key = store.open_call("hotline", at, caller_number=f"1390000{i:04d}")
        if i % 4 == 3:
            store.seal_call(key, CallOutcome.MISSED)
        else:
            store.seal_call(
                key,
                CallOutcome.ANSWERED,
                answered_at=at + timedelta(seconds=5),
                answered_by="1024",
                ended_at=at + timedelta(seconds=65),
                satisfaction=1,
                category="咨询",
                content=f"第{i}号",
            )
        keys.append(key)
    return keys


class StatementCounter:
    """Counts statements sent to the driver while `counting` is on."""

    def __init__(self, store: DutyRecord) -> None:
        self.statements: list[str] = []
        self.engine = store.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _body(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    end = rows.index([])
    return rows[0], rows[1:end]


def test_amended_values_appear_beside_the_values_as_sealed(
    store: DutyRecord, tmp_path: Path
) -> None:
    keys = _seal_calls(store, 12)
    store.amend(keys[2], "satisfaction", 3, who="2001", why="misheard")
    store.amend(keys[2], "category", "投诉", who="2002", why="caller complained")
    store.amend(keys[7], "notes", "回访已约", who="2001", why="late note")
    out = tmp_path / "m.csv"
    result = export_calls(store, T0, T0 + DAY, out, who="2001")
    header, body = _body(out)
    assert result.rows == len(body) == 12
    number = header.index("来电号码")
    by_number = {row[number]: row for row in body}
    second = by_number["13900000002"]
    # a figure's fact stays as sealed (the totals count sealed values) ...
    assert second[header.index("满意度")] == "满意"
    # ... a description shows its correction (issue 11: an amended 类别 was not applied) ...
    assert second[header.index("类别")] == "投诉"
    assert by_number["13900000007"][header.index("备注")] == "回访已约"
    # ... and the corrections, oldest first, with who and why, are in their own column,
    # by the sheet's own headers and labels (no codes, no Python None)
    assert second[-1] == (
        "满意度: 满意→不满意 (2001, misheard); 类别: 咨询→投诉 (2002, caller complained)"
    )
    assert by_number["13900000007"][-1] == "备注: —→回访已约 (2001, late note)"
    assert sum(1 for row in body if row[-1]) == 2
    assert [row[header.index("来电号码")] for row in body] == [f"1390000{i:04d}" for i in range(12)]


def test_statements_per_export_do_not_grow_with_rows(store: DutyRecord, tmp_path: Path) -> None:
    # A first export creates the audit chain's head (two statements once): not per row.
    export_calls(store, T0 - DAY, T0, tmp_path / "empty.csv", who="2001")
    counter = StatementCounter(store)
    try:
        counts = []
        for day, n in enumerate((3, 60)):
            start = T0 + DAY * day
            keys = _seal_calls(store, n, start)
            for key in keys[::5]:  # amendments on every fifth call: they must not cost queries
                store.amend(key, "notes", "补记", who="2001", why="x")
            counter.statements.clear()
            result = export_calls(store, start, start + DAY, tmp_path / f"d{day}.csv", who="2001")
            assert result.rows == n
            counts.append(len(counter.statements))
            _, body = _body(tmp_path / f"d{day}.csv")
            assert sum(1 for row in body if "补记" in row[-1]) == len(keys[::5])
    finally:
        counter.close()
    assert counts[0] == counts[1], counts
    assert counts[1] < 20, counts  # KPIs, the row query, anchors and the audit entry


def test_streamed_calls_equal_the_review_query(store: DutyRecord) -> None:
    keys = _seal_calls(store, 9)
    store.open_call("hotline", T0 + timedelta(minutes=1))  # open: not in the stream
    store.amend(keys[4], "category", "报修", who="2001", why="x")
    flt = CallFilter(since=T0, until=T0 + DAY, outcome=CallOutcome.ANSWERED, limit=2)
    streamed = list(store.iter_sealed_calls(flt, batch=2))  # the limit is ignored
    plain = CallFilter(since=T0, until=T0 + DAY, outcome=CallOutcome.ANSWERED)
    listed = [c for c in store.calls(plain, amended=False) if c.sealed]
    assert [c for c, _ in streamed] == listed and len(listed) == 7
    amendments = {c.key: a for c, a in streamed}
    assert [a.new_value for a in amendments[keys[4]]] == ["repair"]
    assert all(not a for k, a in amendments.items() if k != keys[4])


def test_a_damaged_row_is_a_clear_error_and_leaves_no_file(
    store: DutyRecord, tmp_path: Path
) -> None:
    keys = _seal_calls(store, 5)
    raw(store, f"UPDATE calls SET outcome = 'eaten' WHERE key = '{keys[3]}'", bypass_triggers=True)
    out = tmp_path / "m.xlsx"
    with pytest.raises(CorruptDatabase, match=f"call {keys[3]} has outcome 'eaten'.*verify"):
        export_calls(store, T0, T0 + DAY, out, who="2001")
    assert not any(p.name.startswith(("m.", ".m.")) for p in tmp_path.iterdir())
    assert store.audit_log() == []


@pytest.mark.postgres
def test_database_lost_mid_export_raises_and_leaves_no_file(
    postgres: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server drops the export's connection after a few rows of a server-side cursor."""
    url = postgres.create_database()
    store = DutyRecord(url, tz=UTC)
    try:
        _seal_calls(store, 30)
        real = functools.partial(DutyRecord.iter_sealed_calls, store, batch=4)

        def cut_after_five(flt: CallFilter, batch: int = 1000) -> Iterator[Any]:
            stream = real(flt)
            try:
                for n, item in enumerate(stream):
                    if n == 5:
                        raw(
                            store,
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                        )
                    yield item
            finally:
                stream.close()

        monkeypatch.setattr(store, "iter_sealed_calls", cut_after_five)
        for name in ("m.csv", "m.xlsx"):
            with pytest.raises(DatabaseUnavailable):
                export_calls(store, T0, T0 + DAY, tmp_path / name, who="2001")
        assert not any(p.name.startswith(("m.", ".m.")) for p in tmp_path.iterdir())
        monkeypatch.undo()
        result = export_calls(store, T0, T0 + DAY, tmp_path / "m.csv", who="2001")
        assert result.rows == 30  # the server is still there: the next export is whole
        assert [e.action for e in store.audit_log()] == ["export"]
    finally:
        store.close()
