"""Call categories and outcomes with the words the users already know (Chinese and English).

The duty rules (§3) classify every call into six categories; screens, prompts and exports
show `zh` or `en` labels, the record stores the enum value.
"""

from __future__ import annotations

import enum

from console.domain.outcome import CallOutcome


class Language(enum.Enum):
    """Language of prompts and labels."""

    ZH = "zh"
    EN = "en"


class Labelled(enum.Enum):
    """An enum whose members carry a Chinese and an English label (categories, outcomes,
    survey answers, agent and board states: one way to label, one way to parse)."""

    zh: str
    """Label shown on Chinese screens and exports."""
    en: str
    """Label shown on English screens and exports."""

    def __new__(cls, value: str, zh: str, en: str) -> Labelled:
        member = object.__new__(cls)
        member._value_ = value
        member.zh = zh
        member.en = en
        return member

    def label(self, language: Language = Language.ZH) -> str:
        return self.zh if language is Language.ZH else self.en

    @classmethod
    def parse(cls, text: str) -> Labelled:
        """Member by value, Chinese or English label (any case); ValueError if none."""
        wanted = text.strip().casefold()
        for member in cls:
            if wanted in (member.value.casefold(), member.zh, member.en.casefold()):
                return member
        raise ValueError(
            f"{text!r} is not a {cls.__name__}; expected one of "
            + ", ".join(f"{m.value} ({m.zh}/{m.en})" for m in cls)
        )


class Category(Labelled):
    """What the call is about (duty rules §3 step 4)."""

    CONSULTATION = ("consultation", "咨询", "Consultation")
    COMPLAINT = ("complaint", "投诉", "Complaint")
    REPAIR = ("repair", "报修", "Repair / fault")
    HELP = ("help", "求助", "Request for help")
    SUGGESTION = ("suggestion", "建议", "Suggestion")
    OTHER = ("other", "其他", "Other")


class Outcome(Labelled):
    """How the call ended for the caller (the record's `result`)."""

    RESOLVED = ("resolved", "已解决", "Resolved on the spot")
    FOLLOW_UP = ("follow_up", "待回复", "Follow-up promised")
    TRANSFERRED = ("transferred", "已转部门", "Transferred to a department")
    ESCALATED = ("escalated", "已上报", "Escalated to the supervisor")
    MESSAGE = ("message", "已留言", "Message taken")
    FORWARDED = ("forwarded", "已转门岗", "Forwarded to the gate post")
    ABANDONED = ("abandoned", "来电放弃", "Caller hung up while ringing")
    MISSED = ("missed", "未接", "Missed")
    REFUSED = ("refused", "已拒接", "Refused (over capacity)")


class Satisfaction(Labelled):
    """The caller's survey answer (duty rules §3 step 8).

    The value is the score the record stores ("1" satisfied … "3" dissatisfied) and, by
    default, the key the caller presses for it; `[prompts] survey_digits` may assign other
    keys (see `console.domain.survey.survey_keys`), the stored score stays the same.
    """

    SATISFIED = ("1", "满意", "Satisfied")
    AVERAGE = ("2", "一般", "Average")
    DISSATISFIED = ("3", "不满意", "Dissatisfied")

    @property
    def score(self) -> int:
        """The number the duty record keeps (1, 2 or 3)."""
        return int(self.value)


CALL_OUTCOME_LABELS: dict[CallOutcome, tuple[str, str]] = {
    CallOutcome.ANSWERED: ("已接听", "Answered"),
    CallOutcome.MISSED: ("未接", "Missed"),
    CallOutcome.ABANDONED: ("来电放弃", "Caller hung up while ringing"),
    CallOutcome.FORWARDED: ("已转接", "Forwarded"),
    CallOutcome.INTERRUPTED: ("中断", "Interrupted"),
    CallOutcome.TAKEN_ELSEWHERE: ("他席接听", "Answered at another seat"),
    CallOutcome.REACHED: ("回访接通", "Callback reached"),
    CallOutcome.NO_ANSWER: ("回访未接", "Callback not answered"),
    CallOutcome.BUSY: ("回访占线", "Callback busy"),
    CallOutcome.FAILED: ("回访失败", "Callback failed"),
}
"""The record's outcome (`CallOutcome`) → (zh, en): the one table screens and exports show."""

NO_RATING = ("未评价", "No rating")
"""The label of a call without a survey answer (zh, en)."""

CATEGORIES: dict[str, str] = {c.value: c.zh for c in Category}
"""Stored category value → Chinese label: the one table screens and exports show."""

SATISFACTION_LABELS: dict[int | None, str] = {
    **{s.score: s.zh for s in Satisfaction},
    None: NO_RATING[0],
}
"""Stored satisfaction score (None: no rating) → Chinese label."""


def result_label(value: str | None, language: Language = Language.ZH) -> str:
    """The agent's 处理结果 as people read it: an `Outcome` value by its label (the record
    keeps the stable value), any other text (older records, the line's own) as written."""
    if not value:
        return ""
    for outcome in Outcome:
        if outcome.value == value:
            return outcome.label(language)
    return value
