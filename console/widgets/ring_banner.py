"""The ringing banner's body: caller, ring count and seconds (live), the ring limit."""

from __future__ import annotations

from rich.text import Text

from console.domain.labels import Language
from console.domain.ring import RingLimit
from console.ui.model import LiveCall, Phase
from console.ui.texts import text
from console.widgets._static import QuietStatic


def ringing_count(limit: RingLimit, elapsed: float) -> int:
    """The ring count of a call still ringing at the seat, as the flow will record it: the
    console answers at the limit, so the count never passes it (`RingLimit.ring_count`)."""
    return limit.ring_count(max(0.0, elapsed), at_limit=True)


class RingBanner(QuietStatic):
    """Redrawn by its screen on every tick with `show`."""

    def show(self, call: LiveCall, elapsed: float, limit: RingLimit, language: Language) -> None:
        t = Text()
        who = call.caller or "?"
        if call.caller_name:
            who = f"{call.caller_name} <{who}>"
        t.append(f"{text('ring.caller', language)}: ", style="bold")
        t.append(who + "\n", style="bold reverse")
        rings = call.rings if call.rings is not None else ringing_count(limit, elapsed)
        t.append(
            f"{text('ring.rings', language)} {rings}/{limit.rings}   "
            f"{elapsed:4.0f} {text('ring.seconds', language)}   "
            f"{text('ring.limit', language)} {limit.seconds:.0f} {text('ring.seconds', language)}\n"
        )
        if call.phase is Phase.HELD and call.answered_by == "auto":
            t.append(text("ring.auto", language), style="bold yellow")
        elif call.phase is Phase.HELD:
            t.append(text("ring.waiting", language), style="bold yellow")
        elif call.phase is Phase.ENDED:
            t.append(text("ring.gone", language), style="bold red")
        self.show_text(t)
