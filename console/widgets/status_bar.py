"""The seat's top bar: line, day/night mode, gate post, agent state and timer, headset, and
the holiday calendar's end when it is near or past."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from console.widgets._static import QuietStatic


@dataclass(frozen=True)
class StatusView:
    """What the bar shows, already in words; `alarm_*` flags colour a part red."""

    line: str
    mode: str
    gate: str
    agent: str
    headset: str
    alarm_line: bool = False
    alarm_gate: bool = False
    alarm_agent: bool = False
    calls: str = ""
    """Calls the console answered and holds (hold, message, survey), "" when none: the
    agent is 就绪 but a caller is on the line."""
    notice: str = ""
    """A one-line announcement (the automatic night switch a minute ahead)."""
    calendar: str = ""
    """The holiday calendar's end, from `[holidays] warn_days` before it ("" otherwise)."""
    alarm_calendar: bool = False
    """The calendar has ended: holidays are unknown, the line may be misrouted."""
    record: str = ""
    """The duty record's trouble (database away, outbox's disk full), "" while it keeps up."""


class StatusBar(QuietStatic):
    """One line of status, redrawn by the screen with `show`."""

    def show(self, view: StatusView) -> None:
        parts: list[tuple[str, bool]] = [
            (view.line, view.alarm_line),
            (view.mode, False),
            (view.gate, view.alarm_gate),
            (view.agent, view.alarm_agent),
            (view.calls, False),
            (view.record, True),
            (view.headset, False),
        ]
        text = Text()
        for i, (part, alarm) in enumerate(p for p in parts if p[0]):
            if i:
                text.append("  │  ", style="dim")
            style = "bold red" if alarm else "bold yellow" if part == view.calls else ""
            text.append(part, style=style)
        if view.calendar:
            text.append("\n")
            text.append(view.calendar, style="bold red" if view.alarm_calendar else "yellow")
        if view.notice:
            text.append("\n")
            text.append(view.notice, style="bold yellow")
        self.show_text(text)
        alarm = (view.alarm_line or view.alarm_gate or view.alarm_agent or view.alarm_calendar
                 or bool(view.record))
        self.set_class(alarm, "-alarm")
