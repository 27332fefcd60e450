"""The call script panel: the steps of duty rules §3, the current one marked, done ones ticked."""

from __future__ import annotations

from rich.text import Text

from console.domain.labels import Language
from console.domain.script import CallScript, ScriptStep
from console.ui.texts import text
from console.widgets._static import QuietStatic

WALK: tuple[ScriptStep, ...] = (
    ScriptStep.GREET,
    ScriptStep.ASK_NAME,
    ScriptStep.LISTEN,
    ScriptStep.CLASSIFY,
    ScriptStep.RECORD,
    ScriptStep.RESOLVE,
    ScriptStep.SURVEY,
    ScriptStep.WAIT_HANGUP,
)
"""The steps shown, in order (escalation and the end states are shown as notes)."""


class ScriptPanel(QuietStatic):
    """Shows a `CallScript`; its screen calls `show` after every change."""

    def show(
        self,
        script: CallScript,
        language: Language,
        greeting: str,
        greeting_by_tts: bool,
    ) -> None:
        done = {s.source for s in script.history}
        current = script.step
        t = Text()
        for step in WALK:
            if step is current:
                mark, style = "▶", "bold reverse"
            elif step in done:
                mark, style = "✓", "green"
            else:
                mark, style = "·", "dim"
            t.append(f" {mark} {step.label(language)}\n", style=style)
            if step is current:
                hint = step.hint
                if step is ScriptStep.GREET:
                    lead = "call.greeting_tts" if greeting_by_tts else "call.greeting_say"
                    hint = f"{text(lead, language)} {greeting}"
                if hint:
                    t.append(f"     {hint}\n", style="italic")
        if script.escalated:
            t.append(f" ! {ScriptStep.ESCALATE.label(language)}\n", style="bold red")
        if script.finished:
            t.append(f" ■ {current.label(language)}\n", style="bold")
        self.show_text(t)
