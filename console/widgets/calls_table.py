"""Today's calls on the seat screen: time, caller, outcome, who answered, category."""

from __future__ import annotations

import datetime as dt

from console.domain.labels import Category, Language
from console.store import CallRecord
from console.store.values import OUTCOME_ZH
from console.widgets.plain_table import PlainTable


class CallsTable(PlainTable):
    """A read-only table, refilled by its screen with `show`.

    Caller numbers come from the INVITE and categories from the record as stored: cells are
    plain text (`PlainTable`), never markup.
    """

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True

    def show(self, records: list[CallRecord], language: Language, tz: dt.tzinfo) -> None:
        zh = language is Language.ZH
        self.clear(columns=True)
        headers = (
            ("时间", "来电号码", "结果", "接听", "分类")
            if zh
            else ("Time", "Caller", "Outcome", "Answered by", "Category")
        )
        self.add_columns(*headers)
        for r in sorted(records, key=lambda r: r.ring_at, reverse=True):
            outcome = ""
            if r.outcome is not None:
                outcome = OUTCOME_ZH[r.outcome] if zh else r.outcome.value
            elif not r.sealed:
                outcome = "进行中" if zh else "in progress"
            known = {c.value: c for c in Category}
            category = ""
            if r.category:
                member = known.get(r.category)
                category = member.label(language) if member else r.category
            self.add_row(
                r.ring_at.astimezone(tz).strftime("%H:%M:%S"),
                r.caller_number or "",
                outcome,
                r.answered_by or "",
                category,
                key=r.key,
            )
