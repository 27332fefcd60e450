"""The XLSX export (`console.store.xlsx`): the same cells as the CSV, read back by openpyxl.

openpyxl is an independent reader of the format (the workbook's parts, relationships,
styles, frozen pane and inline strings all have to be right for it to load them).
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from console.store import CallOutcome, DutyRecord
from console.store.export import export_calls
from console.store.xlsx import Workbook, XlsxError, column_letter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

AWKWARD = [
    "bell\x07 in the notes",  # control character: XML 1.0 cannot carry it as is
    "two\r\nlines",  # a CR a parser would turn into LF
    "_x0041_ looks like an escape",
    "<b>&amp; \"quoted\" 'x'</b>",
    "  leading and trailing  ",
    "[red]markup[/red]",
    "電梯困人\u2028段落",
    "tab\there",
    "",
]


def _seal(store: DutyRecord, n: int) -> list[str]:
    keys = []
    for i in range(n):
        at = T0 + timedelta(minutes=7 * i)
        key = store.open_call("hotline", at, caller_number=f"1380000{i:04d}")
        if i % 3 == 2:
            store.seal_call(key, CallOutcome.ABANDONED)
        else:
            store.seal_call(
                key,
                CallOutcome.ANSWERED,
                answered_at=at + timedelta(seconds=4 + i % 9),
                answered_by="1024",
                ended_at=at + timedelta(seconds=95),
                satisfaction=1 + i % 3,
                category="repair",
                content=AWKWARD[i % len(AWKWARD)],
                notes=AWKWARD[(i + 3) % len(AWKWARD)] or None,
            )
        keys.append(key)
    return keys


def _cell(value: Any) -> str:
    """A read-back XLSX value as the CSV writes it (empty cells are None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unescape(value)  # the format's _xHHHH_ escapes, as Excel decodes them
    return str(value)


def test_xlsx_holds_the_csv_cells_and_the_kpi_totals(store: DutyRecord, tmp_path: Path) -> None:
    keys = _seal(store, 40)
    store.amend(keys[4], "notes", "回访\x0b已约", who="2001", why="late note")
    as_csv = export_calls(store, T0, T0 + DAY, tmp_path / "m.csv", who="2001")
    as_xlsx = export_calls(store, T0, T0 + DAY, tmp_path / "m.xlsx", who="2001")
    assert as_csv.rows == as_xlsx.rows == as_xlsx.kpis.total == 40
    # CSV's own rows: the calls' rows, a blank row, then the totals block
    with (tmp_path / "m.csv").open(encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.reader(fh))
    expected_calls = csv_rows[: 1 + as_csv.rows]
    book = load_workbook(tmp_path / "m.xlsx")
    assert book.sheetnames == ["通话记录", "汇总"]
    sheet = book["通话记录"]
    assert sheet.freeze_panes == "A2"
    assert all(c.font.b for c in sheet[1]) and not sheet["A2"].font.b
    width = len(expected_calls[0])
    got = [[_cell(c.value) for c in row][:width] for row in sheet.iter_rows(max_col=width)]
    got = [row + [""] * (width - len(row)) for row in got]
    assert got == expected_calls
    assert any("\x07" in v for row in got for v in row)  # the control character came back
    column = expected_calls[0].index("应答秒数") + 1
    numbers = [sheet.cell(row=r, column=column).value for r in range(2, 2 + as_xlsx.rows)]
    assert numbers and all(isinstance(v, int | float) for v in numbers if v is not None)
    summary = {r[0].value: r[1].value for r in book["汇总"].iter_rows()}
    k = as_xlsx.kpis
    assert summary["来电总数"] == k.total == 40
    assert summary["接听数"] == k.answered
    assert summary["来电放弃"] == k.abandoned
    assert summary["满意"] == k.satisfaction.get(1, 0)
    assert str(summary["链头"]).startswith("hotline:")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_writer_refuses_values_and_names_a_sheet_cannot_hold(tmp_path: Path) -> None:
    book = Workbook(tmp_path)
    sheet = book.add_sheet("s")
    for bad in (math.nan, math.inf, datetime(2026, 3, 2), b"bytes", object()):
        with pytest.raises(XlsxError, match="cell B1"):
            sheet.append(["fine", bad])
    assert sheet.rows == 0  # nothing of a refused row was written
    for name in ("", "x" * 32, "a/b", "[x]", "s"):
        with pytest.raises(XlsxError, match="sheet name"):
            book.add_sheet(name)
    book.discard()
    assert list(tmp_path.iterdir()) == []  # the temporary sheet files are gone


def test_a_failure_while_writing_leaves_no_file(store: DutyRecord, tmp_path: Path) -> None:
    _seal(store, 5)
    out = tmp_path / "exports"
    out.mkdir()

    def broken(done: int, total: int) -> None:
        if done == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export_calls(store, T0, T0 + DAY, out / "m.xlsx", who="2001", progress=broken)
    assert list(out.iterdir()) == []  # no workbook, no .part, no temporary sheet
    assert store.audit_log() == []


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_numbers_and_empty_cells(tmp_path: Path) -> None:
    book = Workbook(tmp_path)
    sheet = book.add_sheet("数")
    sheet.append([1, -2, 2.5, 10**15, None, "", True, "0012"])
    book.save(tmp_path / "n.xlsx")
    row = [c.value for c in load_workbook(tmp_path / "n.xlsx")["数"][1]]
    assert row == [1, -2, 2.5, 10**15, None, None, True, "0012"]
    assert [p.name for p in tmp_path.iterdir()] == ["n.xlsx"]
