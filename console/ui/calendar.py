"""What the seat, the supervisor's screens and the log say about the holiday calendar's reach.

One wording for all of them (the text table in `console.ui.texts`): "holiday calendar ends
YYYY-MM-DD" from `[holidays] warn_days` before the end, an alarm sentence past it.
"""

from __future__ import annotations

from console.domain.calendar import Coverage, CoverageLevel
from console.domain.labels import Language
from console.ui.texts import text


def coverage_text(cov: Coverage, language: Language = Language.ZH, always: bool = False) -> str:
    """The sentence for `cov`: "" while the end is far (unless `always`), a warning within
    `warn_days` of it, the alarm past it."""
    if cov.level is CoverageLevel.ENDED:
        if cov.ends is None:
            return "⚠ " + text("calendar.uncovered", language).format(date=cov.on.isoformat())
        return "⚠ " + text("calendar.ended", language).format(date=cov.ends.isoformat())
    if cov.level is CoverageLevel.ENDING and cov.ends is not None:
        left = text("calendar.days_left", language).format(n=cov.days_left)
        return f"{text('calendar.ends', language).format(date=cov.ends.isoformat())} ({left})"
    if not always:
        return ""
    if cov.level is CoverageLevel.NONE or cov.ends is None:
        return text("calendar.none", language)
    return text("calendar.covered", language).format(date=cov.ends.isoformat())


def fix_text(language: Language = Language.ZH) -> str:
    """What to do about an ending or ended calendar."""
    return text("calendar.fix", language)


def bilingual_text(cov: Coverage, always: bool = False) -> str:
    """Both languages on one line, as the supervisor's screens label things."""
    zh = coverage_text(cov, Language.ZH, always)
    en = coverage_text(cov, Language.EN, always).removeprefix("⚠ ")
    return f"{zh} · {en}" if zh else ""
