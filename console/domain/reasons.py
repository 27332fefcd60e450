"""The sentences the call flow writes into the duty record, and how people read them.

The record keeps the flow's text as written (a stable English sentence per case, e.g.
"call back 139… (message)", "put on hold by 1024"), so records from every run and every seat
compare equal and nothing stored changes with the language; screens translate it here. Each
`Reason` is one case: the flow builds its sentence with it (`PUT_ON_HOLD(agent="1024")`), and
a screen reads any stored sentence back into the seat's language with `reason_text`, so the
flow's wording and its translations cannot drift apart. A sentence the table does not know
(an agent's own words) is shown as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from console.domain.labels import Language

_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Reason:
    """One sentence of the flow: `stored` as the record keeps it (English, with `{fields}`),
    and what a Chinese and an English screen show for it (the same fields)."""

    stored: str
    zh: str
    en: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    """`stored` as a regular expression, each field a named group."""

    def __post_init__(self) -> None:
        parts = _FIELD.split(self.stored)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                        for i, p in enumerate(parts))
        object.__setattr__(self, "pattern", re.compile(regex))

    def __call__(self, **values: object) -> str:
        """The sentence to store, with `values` filled in."""
        return self.stored.format(**values)

    def shown(self, language: Language, **values: str) -> str:
        return (self.zh if language is Language.ZH else self.en).format(**values)


CALL_BACK_MESSAGE = Reason("call back {caller} (message)", "回电 {caller}(已留言)",
                           "Call back {caller} (message taken)")
CALL_BACK_NO_MESSAGE = Reason("call back {caller} (no message taken)", "回电 {caller}(未留言)",
                              "Call back {caller} (no message)")
DISSATISFIED_CALL_BACK = Reason("caller dissatisfied: supervisor to call back",
                                "客户不满意:主任回访",
                                "Caller dissatisfied: the supervisor calls back")
DISSATISFIED = Reason("caller dissatisfied (pressed {key})", "客户不满意(按 {key})",
                      "Caller dissatisfied (pressed {key})")
PUT_ON_HOLD = Reason("put on hold by {agent}", "{agent} 将来电保持", "Put on hold by {agent}")
TAKEN_BACK = Reason("taken back from hold by {agent}", "{agent} 恢复通话",
                    "Taken back from hold by {agent}")
TRANSFERRED = Reason("transfer to the gate post by {agent}: {result}", "{agent} 转门岗:{result}",
                     "Transfer to the gate post by {agent}: {result}")
NO_GATE_POST = Reason("transfer by {agent} refused: no gate post configured",
                      "{agent} 转门岗未成:未配置门岗",
                      "Transfer by {agent} refused: no gate post configured")
TAKEN_ELSEWHERE = Reason("taken at another seat: {holder}", "他席已接听:{holder}",
                         "Taken at another seat: {holder}")
HUNG_UP_BY = Reason("hung up by {agent}", "{agent} 挂断", "Hung up by {agent}")
NO_RATING = Reason("survey: no rating", "满意度:未评价", "Survey: no rating")
AFTER_CALL_WORK = Reason("话后处理 after-call work", "话后处理", "After-call work")

REASONS: tuple[Reason, ...] = (
    CALL_BACK_MESSAGE, CALL_BACK_NO_MESSAGE, DISSATISFIED_CALL_BACK, DISSATISFIED,
    PUT_ON_HOLD, TAKEN_BACK, TRANSFERRED, NO_GATE_POST, TAKEN_ELSEWHERE, HUNG_UP_BY, NO_RATING,
    AFTER_CALL_WORK,
)
"""Every sentence the flow (and the seat's notes) write into the record."""

UNKNOWN_CALLER = ("unknown caller", "未知号码", "unknown caller")
"""The flow's word for a call without a number, and its labels."""

TRANSFER_RESULTS: dict[str, tuple[str, str]] = {
    "success": ("已转接", "done"),
    "failure": ("门岗拒接", "refused by the gate post"),
    "timeout": ("门岗未应答", "no answer from the gate post"),
    "error": ("出错", "error"),
}
"""A transfer's result as the flow writes it (`sip.api.TransferOutcome` values, or "error:
…" with the line's detail, which stays in the record and the log)."""

_AT_TIME = re.compile(r"(?P<body>.*) at (?P<time>\d\d:\d\d:\d\d)")


def _value(name: str, value: str, language: Language) -> str:
    zh = language is Language.ZH
    if name == "caller" and value == UNKNOWN_CALLER[0]:
        return UNKNOWN_CALLER[1 if zh else 2]
    if name == "result":
        known = TRANSFER_RESULTS.get(value.split(":", 1)[0].strip())
        if known is not None:
            return known[0 if zh else 1]
    return value


def reason_text(reason: str, language: Language = Language.ZH) -> str:
    """`reason` (as the record keeps it) in `language`; any other text as written."""
    for entry in REASONS:
        found = entry.pattern.fullmatch(reason.strip())
        if found is not None:
            values = {k: _value(k, v, language) for k, v in found.groupdict().items()}
            return entry.shown(language, **values)
    return reason


def action_text(lines: str, language: Language = Language.ZH) -> str:
    """The record's action lines (the flow's sentences, each "… at HH:MM:SS", between the
    agent's own) in `language`: each known sentence translated, the time put first in
    Chinese; the agent's own words as written."""
    out = []
    for line in lines.split("\n"):
        found = _AT_TIME.fullmatch(line.strip())
        if found is None:
            out.append(reason_text(line, language))
            continue
        body, time = found["body"], found["time"]
        said = reason_text(body, language)
        if said == body:  # not the flow's: as written
            out.append(line)
        elif language is Language.ZH:
            out.append(f"{time} {said}")
        else:
            out.append(f"{said} at {time}")
    return "\n".join(out)
