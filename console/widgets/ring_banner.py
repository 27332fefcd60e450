"""The ringing banner's body: caller, ring count and seconds (live), the ring limit."""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from console.callflow.events import Mode
from console.domain.labels import Language
from console.domain.ring import RingLimit
from console.ui.model import LiveCall, Phase
from console.ui.texts import text
from console.widgets._static import QuietStatic


def ringing_count(limit: RingLimit, elapsed: float) -> int:
    """The ring count of a call still ringing at the seat, as the flow will record it: the
    console answers at the limit, so the count never passes it (`RingLimit.ring_count`)."""
    return limit.ring_count(max(0.0, elapsed), at_limit=True)


def mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class RingBanner(QuietStatic):
    """Redrawn by its screen on every tick with `show`.

    While the call rings it counts rings and seconds; once the console has answered it (at
    the ring limit, or the seat was busy) the count stops at the answer and the banner says
    what the caller hears now (greeting, hold, message, survey) and since when, and whether
    Enter can still take the call (issue 11, point 1: it kept counting and said "on hold"
    while the caller was leaving a message)."""

    def show(self, call: LiveCall, elapsed: float, limit: RingLimit, language: Language,
             now: dt.datetime | None = None) -> None:
        t = Text()
        who = call.caller or "?"
        if call.caller_name:
            who = f"{call.caller_name} <{who}>"
        t.append(f"{text('ring.caller', language)}: ", style="bold")
        t.append(who + "\n", style="bold reverse")
        seconds = text("ring.seconds", language)
        if call.answered_by is None or call.seconds_to_answer is None:
            rings = call.rings if call.rings is not None else ringing_count(limit, elapsed)
            t.append(
                f"{text('ring.rings', language)} {rings}/{limit.rings}   "
                f"{elapsed:4.0f} {seconds}   "
                f"{text('ring.limit', language)} {limit.seconds:.0f} {seconds}\n"
            )
        else:
            t.append(
                f"{text('ring.rings', language)} {call.rings}/{limit.rings}   "
                f"{text('ring.answered_in', language)} {call.seconds_to_answer:.0f} {seconds}   "
                f"{text('ring.limit', language)} {limit.seconds:.0f} {seconds}\n"
            )
        if call.phase is Phase.ENDED:
            t.append(text("ring.gone", language), style="bold red")
        elif call.answering:
            t.append(text("ring.answering", language), style="bold green")
        elif call.console_has_it:
            since = ""
            if now is not None and call.step_at is not None:
                since = mmss((now - call.step_at).total_seconds())
            key = "ring.waiting" if call.mode is Mode.WAITING else "ring.auto"
            state = text(key, language).format(
                step=text(f"step.{call.step.value}", language), since=since
            ).rstrip()
            t.append(state + " — ", style="bold yellow")
            if call.takeable:
                t.append(text("ring.take_over", language), style="bold")
            else:
                t.append(text("ring.no_take", language), style="dim")
        self.show_text(t)
