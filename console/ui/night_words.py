"""The night-mode decision in the seat's language, built from the decision's facts.

`console.domain.night` explains each decision in one English sentence for the log and the
audit entry ("night mode early by agent 1001 at 10:07 …"); that sentence reached a Chinese
seat as written (issue 11, point 6). The seat words it here from the decision's own fields
(the override's kind, agent, time and reason; the schedule's day, rosters and next
boundary) and the text table, so both languages say the same thing.
"""

from __future__ import annotations

from console.domain.labels import Language
from console.domain.night import NightDecision, OverrideKind
from console.domain.schedule import DayKind, Roster, ShiftState
from console.ui.texts import text

_DAY_KINDS = {
    DayKind.WORKDAY: "night.w.workday",
    DayKind.WEEKEND: "night.w.weekend",
    DayKind.HOLIDAY: "night.w.holiday",
    DayKind.MAKEUP_WORKDAY: "night.w.makeup",
}


def roster_name(roster: Roster, language: Language) -> str:
    """A roster as a screen names it: its Chinese label on a Chinese seat (its config key
    otherwise, or when it has none)."""
    return roster.label if language is Language.ZH and roster.label else roster.name


def decision_text(decision: NightDecision, language: Language) -> str:
    """Why calls go where they go now, in `language` (one line)."""
    ov = decision.override
    until = decision.until
    if ov is not None:
        until = ov.expires_at
    later = (text("night.w.until", language).format(at=f"{until:%Y-%m-%d %H:%M}")
             if until is not None else "")
    if ov is not None:
        key = "night.w.early" if ov.kind is OverrideKind.EARLY_NIGHT else "night.w.stay"
        return text(key, language).format(agent=ov.agent_id, at=f"{ov.set_at:%H:%M}",
                                          until=later, reason=ov.reason)
    return shift_text(decision.shift, language, later)


def shift_text(shift: ShiftState, language: Language, later: str = "") -> str:
    """What the schedule says at `shift.at` (the day, its rosters or after hours), in
    `language`; `later` is an "until …" tail already worded."""
    weekday = text("night.w.weekdays", language).split(",")[shift.at.weekday()]
    when = text("night.w.when", language).format(
        date=f"{shift.at:%Y-%m-%d %H:%M}", weekday=weekday,
        kind=text(_DAY_KINDS[shift.day_kind], language),
    )
    if shift.rosters:
        names = " + ".join(f"{roster_name(r, language)} {r.start:%H:%M}–{r.end:%H:%M}"
                           for r in shift.rosters)
        return text("night.w.staffed", language).format(when=when, rosters=names, until=later)
    return text("night.w.after", language).format(when=when, until=later)
