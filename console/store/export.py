"""Exports an office opens: XLSX (`console.store.xlsx`) and CSV (UTF-8 with BOM), Chinese headers.

Rows are the sealed calls of the period with their corrections applied (an amended 类别 or
处理结果 is what the office reads), except the figures' own facts (`KEPT_AS_SEALED`): those stay
as sealed, so the totals block — taken from `DutyRecord.kpis`, which counts sealed values —
equals the rows exactly. One row per caller's call, whichever seats rang (the leg that speaks
for it, with 坐席 and 振铃坐席 naming its seat and every seat that rang). Every correction is
listed in its own column (更正记录). Each export carries the chain heads (anchors) and is
written to the audit log.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from console.domain.labels import (
    NO_RATING,
    SATISFACTION_LABELS,
    Language,
    Satisfaction,
    result_label,
)
from console.store import xlsx
from console.store.amendments import apply_amendments
from console.store.errors import InvalidFact
from console.store.record import DutyRecord
from console.store.values import (
    ANSWERED_BY_ZH,
    CATEGORIES,
    OUTCOME_ZH,
    Amendment,
    CallFilter,
    CallRecord,
    Kpis,
)

log = logging.getLogger("console.store.export")

SATISFACTION_ZH = SATISFACTION_LABELS
"""Score → Chinese label, as the domain defines it (None: 未评价)."""

KEPT_AS_SEALED = frozenset({"outcome", "answered_at", "ended_at", "satisfaction"})
"""Facts the totals count (answer rate, seconds, satisfaction): a row shows them as sealed,
so rows and totals agree; their corrections are in the 更正记录 column."""


@dataclass(frozen=True)
class ExportResult:
    """What was written: where, how many rows, the totals and the file's SHA-256."""

    path: Path
    rows: int
    kpis: Kpis
    digest: str


def _columns(
    store: DutyRecord, rang: dict[str, tuple[str, ...]] | None = None
) -> list[tuple[str, Callable[[CallRecord], Any]]]:
    """The sheet's columns; `rang` (Call-ID → seats, `DutyRecord.seats_rang`) fills 振铃坐席
    for a caller's call that rang at several seats (else the row's own seat)."""
    seats = rang or {}

    def rang_at(c: CallRecord) -> str:
        found = seats.get(c.sip_call_id or "")
        return "、".join(found) if found else (c.seat or "")

    def local(value: datetime | None) -> str:
        # "YYYY-MM-DD HH:MM:SS" (isoformat is the cheaper of the two; the offset is cut off)
        if value is None:
            return ""
        return value.astimezone(store.tz).isoformat(sep=" ", timespec="seconds")[:19]

    return [
        ("来电时间", lambda c: local(c.ring_at)),
        ("线路", lambda c: c.line),
        ("来电号码", lambda c: c.caller_number or ""),
        ("来电显示", lambda c: c.caller_display or ""),
        ("振铃次数", lambda c: c.rings if c.rings is not None else ""),
        ("应答时间", lambda c: local(c.answered_at)),
        ("应答秒数", lambda c: c.seconds_to_answer if c.seconds_to_answer is not None else ""),
        (
            "接听人",
            lambda c: ANSWERED_BY_ZH.get(c.answered_by or "", c.answered_by or ""),
        ),
        ("坐席", lambda c: c.seat or ""),
        ("振铃坐席", rang_at),
        ("结束时间", lambda c: local(c.ended_at)),
        ("通话秒数", lambda c: c.handling_seconds if c.handling_seconds is not None else ""),
        ("结果", lambda c: OUTCOME_ZH[c.outcome] if c.outcome else ""),
        ("类别", lambda c: CATEGORIES.get(c.category or "", c.category or "")),
        ("来电人姓名", lambda c: c.caller_name or ""),
        ("联系方式", lambda c: c.contact or ""),
        ("地址/单位", lambda c: c.address or ""),
        ("来电内容", lambda c: c.content or ""),
        ("处理措施", lambda c: c.action or ""),
        ("处理结果", lambda c: result_label(c.result)),
        ("满意度", lambda c: SATISFACTION_ZH.get(c.satisfaction, "") if c.answered_at else ""),
        ("转接至", lambda c: c.forwarded_to or ""),
        ("转接方式", lambda c: c.forward_method or ""),
        ("转接结果", lambda c: c.forward_result or ""),
        ("跟进事项", lambda c: c.follow_up or ""),
        ("录音文件", lambda c: c.recording or ""),
        ("备注", lambda c: c.notes or ""),
        ("记录号", lambda c: f"{c.line}:{c.seq}"),
        ("记录哈希", lambda c: c.row_hash or ""),
    ]


TOTAL_LABELS: dict[str, tuple[str, str]] = {
    "total": ("来电总数", "Calls"),
    "answered": ("接听数", "Answered"),
    "answer_rate": ("接通率", "Answer rate"),
    "within": ("限时内接听", "Answered within the limit"),
    "within_rate": ("限时内接听率", "Share within the limit"),
    "missed": ("未接", "Missed"),
    "abandoned": ("来电放弃", "Abandoned"),
    "forwarded": ("已转接", "Forwarded"),
    "interrupted": ("中断", "Interrupted"),
    "avg_answer": ("平均应答秒数", "Average seconds to answer"),
    "avg_call": ("平均通话秒数", "Average call seconds"),
    "open_follow_ups": ("未完成跟进", "Open follow-ups"),
    "overdue_follow_ups": ("超时跟进", "Overdue follow-ups"),
}
"""The totals block's labels (zh, en): the spreadsheet is Chinese, the KPI screen the seat's."""


def totals(kpis: Kpis, language: Language = Language.ZH) -> list[tuple[str, Any]]:
    """The totals block, label → value, from the KPI query (labels in `language`)."""

    def label(key: str) -> str:
        zh, en = TOTAL_LABELS[key]
        return zh if language is Language.ZH else en

    rate = "" if kpis.answer_rate is None else f"{kpis.answer_rate:.1%}"
    within = "" if kpis.within_limit_rate is None else f"{kpis.within_limit_rate:.1%}"
    rows: list[tuple[str, Any]] = [
        (label("total"), kpis.total),
        (label("answered"), kpis.answered),
        (label("answer_rate"), rate),
        (label("within"), kpis.answered_within_limit),
        (label("within_rate"), within),
        (label("missed"), kpis.missed),
        (label("abandoned"), kpis.abandoned),
        (label("forwarded"), kpis.forwarded),
        (label("interrupted"), kpis.interrupted),
        (
            label("avg_answer"),
            kpis.avg_seconds_to_answer if kpis.avg_seconds_to_answer is not None else "",
        ),
        (
            label("avg_call"),
            kpis.avg_handling_seconds if kpis.avg_handling_seconds is not None else "",
        ),
    ]
    for s in Satisfaction:
        rows.append((s.label(language), kpis.satisfaction.get(s.score, 0)))
    no_rating = NO_RATING[0] if language is Language.ZH else NO_RATING[1]
    rows.append((no_rating, kpis.satisfaction.get(None, 0)))
    rows.append((label("open_follow_ups"), kpis.open_follow_ups))
    rows.append((label("overdue_follow_ups"), kpis.overdue_follow_ups))
    return rows


FIELD_HEADERS: dict[str, str] = {
    "caller_number": "来电号码", "caller_display": "来电显示", "answered_at": "应答时间",
    "ended_at": "结束时间", "rings": "振铃次数", "answered_by": "接听人", "outcome": "结果",
    "category": "类别", "caller_name": "来电人姓名", "contact": "联系方式",
    "address": "地址/单位", "content": "来电内容", "action": "处理措施", "result": "处理结果",
    "satisfaction": "满意度", "forwarded_to": "转接至", "forward_method": "转接方式",
    "forward_result": "转接结果", "forwarded_at": "转接时间", "follow_up": "跟进事项",
    "recording": "录音文件", "notes": "备注",
}
"""An amended field by its column's header: the 更正记录 column reads like the sheet."""


def _amended_value(field: str, value: str | None) -> str:
    """A stored amendment value as the sheet shows that field (labels, not codes); — for none."""
    if value is None or value == "":
        return "—"
    if field == "category":
        return CATEGORIES.get(value, value)
    if field == "result":
        return result_label(value)
    if field == "satisfaction" and value.isdigit():
        return SATISFACTION_ZH.get(int(value), value)
    if field == "outcome":
        return next((label for o, label in OUTCOME_ZH.items() if o.value == value), value)
    return value


def _amendment_text(amendments: list[Amendment]) -> str:
    return "; ".join(
        f"{FIELD_HEADERS.get(a.field, a.field)}: {_amended_value(a.field, a.old_value)}→"
        f"{_amended_value(a.field, a.new_value)} ({a.who}, {a.why})"
        for a in amendments
    )


def export_calls(
    store: DutyRecord,
    since: datetime,
    until: datetime,
    path: Path,
    who: str,
    flt: CallFilter | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Write the period's sealed calls and totals to `path` (.xlsx or .csv); audited.

    `progress(rows written, rows expected)` is called after each row; the expected count is
    the period's KPI total, read just before the rows (a call sealed in between can make
    the written count pass it by one or two).

    Rows are streamed from one query (calls joined to their amendments) into a `.part` file
    beside `path`, renamed over `path` only when complete: a database failure mid-export
    raises, leaves no half-written file under the asked name and writes no audit entry.
    """
    fmt = path.suffix.lower()
    if fmt not in (".xlsx", ".csv"):
        raise InvalidFact(f"export file {path.name!r}: use a .xlsx or .csv name")
    if not path.parent.is_dir():
        raise InvalidFact(f"export directory {path.parent} does not exist")
    base = flt or CallFilter()
    kpis = store.kpis(since, until, flt=base)
    # One row per caller's call (issue 13): the leg that speaks for it, with its seat and
    # every seat that rang.
    columns = _columns(store, store.seats_rang(since, until))
    headers = [name for name, _ in columns] + ["更正记录"]
    period = (
        f"{since.astimezone(store.tz):%Y-%m-%d %H:%M} — {until.astimezone(store.tz):%Y-%m-%d %H:%M}"
    )
    stream = store.iter_sealed_calls(replace(base, since=since, until=until, limit=None))
    counted = [0]

    def rows() -> Iterator[list[Any]]:
        for call, amendments in stream:
            counted[0] += 1
            shown = apply_amendments(
                call, [a for a in amendments if a.field not in KEPT_AS_SEALED]
            )
            yield [get(shown) for _, get in columns] + [_amendment_text(amendments)]
            if progress is not None:
                progress(counted[0], kpis.total)

    def anchors() -> str:  # taken after the rows, so the heads cover every exported row
        return " ".join(a.text() for a in store.chain_heads())

    part = path.with_name(f".{path.name}.part")
    write = _write_csv if fmt == ".csv" else _write_xlsx
    try:
        write(part, headers, rows(), totals(kpis), period, anchors)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        stream.close()
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    count = counted[0]
    store.audit("export", who, f"{path.name} {period} rows={count} sha256={digest}")
    log.info("exported %d calls to %s", count, path)
    return ExportResult(path, count, kpis, digest)


def _write_csv(
    path: Path,
    headers: list[str],
    rows: Iterable[list[Any]],
    sums: list[tuple[str, Any]],
    period: str,
    anchors: Callable[[], str],
) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(headers)
        out.writerows(rows)
        out.writerow([])
        out.writerow(["合计", period])
        out.writerows([[label, value] for label, value in sums])
        out.writerow(["链头", anchors()])


def _write_xlsx(
    path: Path,
    headers: list[str],
    rows: Iterable[list[Any]],
    sums: list[tuple[str, Any]],
    period: str,
    anchors: Callable[[], str],
) -> None:
    """The same workbook as before (sheets, bold frozen header, values), written row by row.

    `console.store.xlsx` streams each sheet to a temporary file beside `path` (a month is
    ~30,000 rows × 28 columns) and packs the workbook at the end; on any failure the
    temporary files go and the exception goes on.
    """
    book = xlsx.Workbook(path.parent)
    try:
        sheet = book.add_sheet("通话记录", frozen_header=True)
        sheet.append(headers, style=xlsx.BOLD)
        for row in rows:
            sheet.append(row)
        summary = book.add_sheet("汇总")
        summary.append(["统计期间", period])
        for label, value in sums:
            summary.append([label, value])
        summary.append(["链头", anchors()])
        book.save(path)
    except BaseException:
        book.discard()
        raise
