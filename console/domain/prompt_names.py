"""Every prompt the line speaks, by name: the one list the config, the prompt book and the
call flow share (duty rules §2 greeting and hold, §1 after hours, §3 step 8 survey).

The texts themselves are in `console.prompts` (defaults) and `[prompts.texts]` (overrides);
this module only names them, so a new prompt is added in one place.
"""

from __future__ import annotations

import enum


class PromptName(enum.StrEnum):
    """A prompt the call flow plays; `GREETING` takes `{agent_id}`, all may take `{centre}`."""

    GREETING = "greeting"
    """An agent answered: the greeting with their agent ID (工号)."""
    GREETING_AUTO = "greeting_auto"
    """The console answered at the ring limit: the greeting without an agent ID."""
    HOLD = "hold"
    BUSY = "busy"
    """A second call while the seat is busy."""
    SURVEY = "survey"
    SURVEY_RETRY = "survey_retry"
    """The survey's second (and last) prompt after no valid key."""
    THANKS = "thanks"
    AFTER_HOURS = "after_hours"
    """Before forwarding to the gate post."""
    FALLBACK = "fallback"
    """Nobody can take the call: the message prompt."""


PROMPT_NAMES: tuple[str, ...] = tuple(p.value for p in PromptName)
"""The names as plain strings, in order (config keys of `[prompts.texts]`)."""
