"""The follow-up reasons the call flow writes into the duty record, as people read them.

The record keeps the flow's text as written (a stable English sentence per case, e.g.
"call back 139… (message)"), so records from every run and every seat compare equal and
nothing stored changes with the language; screens translate it here. One table: a reason
the table does not know (an agent's own words) is shown as written.
"""

from __future__ import annotations

import re

from console.domain.labels import Language

REASONS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"call back (?P<caller>.+) \(message\)"), "回电 {caller}(已留言)",
     "Call back {caller} (message taken)"),
    (re.compile(r"call back (?P<caller>.+) \(no message taken\)"), "回电 {caller}(未留言)",
     "Call back {caller} (no message)"),
    (re.compile(r"caller dissatisfied: supervisor to call back"), "客户不满意:主任回访",
     "Caller dissatisfied: the supervisor calls back"),
)
"""(the flow's sentence, zh, en); the named groups are filled into both."""

UNKNOWN_CALLER = ("unknown caller", "未知号码", "unknown caller")
"""The flow's word for a call without a number, and its labels."""


def reason_text(reason: str, language: Language = Language.ZH) -> str:
    """`reason` (as the record keeps it) in `language`; any other text as written."""
    for pattern, zh, en in REASONS:
        found = pattern.fullmatch(reason.strip())
        if found is not None:
            values = dict(found.groupdict())
            if values.get("caller") == UNKNOWN_CALLER[0]:
                values["caller"] = UNKNOWN_CALLER[1 if language is Language.ZH else 2]
            return (zh if language is Language.ZH else en).format(**values)
    return reason
