"""The words the line speaks, rendered before the first call rings.

Texts come from the config (language zh or en, `{centre}` and `{agent_id}` filled in);
`PromptBook.load` renders every prompt at start-up through `sip.tts` (pyttsx3 by default,
espeak-ng as the configured fallback) so no call waits for synthesis. A greeting is rendered
for every agent ID known at start-up; an unknown ID is rendered on first use and logged.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from console.domain.prompt_names import PROMPT_NAMES
from sip.api import Prompt
from sip.tts import LANGUAGE_VOICES, PromptCache, PromptText, SpeechEngine, make_engine

log = logging.getLogger("console.prompts")


DEFAULT_TEXTS: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "greeting": "您好!{centre},工号 {agent_id} 为您服务,请问有什么可以帮您?",
        "greeting_auto": "您好!{centre},请稍候,正在为您接通值班人员。",
        "hold": "请稍候,值班人员马上为您服务。",
        "busy": "您好!{centre},值班人员正在通话中,请稍候。",
        "survey": "请对本次服务做出评价:满意请按1,一般请按2,不满意请按3。",
        "survey_retry": "对不起,没有收到您的按键。满意请按1,一般请按2,不满意请按3。",
        "thanks": "感谢您的来电,再见。",
        "after_hours": "您好!{centre}现在是非工作时间,正在为您转接值班门岗,请稍候。",
        "fallback": "对不起,暂时无人接听。请在提示音后留下您的姓名、电话和事由,我们会尽快回复您。",
    },
    "en": {
        "greeting": "Hello, {centre}, agent {agent_id} speaking. How may I help you?",
        "greeting_auto": "Hello, {centre}. Please hold, we are connecting you to the duty agent.",
        "hold": "Please hold, the duty agent will be with you shortly.",
        "busy": "Hello, {centre}. The duty agent is on another call. Please hold.",
        "survey": "Please rate our service: press 1 if satisfied, 2 for average, "
        "3 if dissatisfied.",
        "survey_retry": "Sorry, we did not receive your key. Press 1 if satisfied, "
        "2 for average, 3 if dissatisfied.",
        "thanks": "Thank you for calling. Goodbye.",
        "after_hours": "Hello, {centre}. We are outside office hours; "
        "we are forwarding you to the gate post. Please hold.",
        "fallback": "Sorry, nobody can take your call right now. After the tone, please "
        "leave your name, number and message, and we will call you back.",
    },
}


class PromptError(Exception):
    """The prompt texts in the config cannot be used (unknown name, bad placeholder...)."""

    title = "Prompts"


@dataclass(frozen=True)
class PromptSettings:
    """The `[prompts]` part of the config."""

    language: str = "zh"
    centre: str = "客服中心"
    voice: str = ""
    """espeak-ng voice; empty = the language's default (zh → cmn, en → en)."""
    rate: int = 160
    texts: Mapping[str, str] = field(default_factory=dict)
    """Overrides of `DEFAULT_TEXTS[language]`, by prompt name."""
    cache_dir: str = "var/prompts"
    engine: str = "pyttsx3"
    """"pyttsx3" (one render per child process) or "espeak-ng" (the fallback)."""


def _fill(name: str, template: str, centre: str, agent_id: str) -> str:
    allowed = {"centre", "agent_id"}
    try:
        for _, field_name, _, _ in string.Formatter().parse(template):
            if field_name is not None and field_name not in allowed:
                raise PromptError(
                    f"prompts.texts.{name}: unknown placeholder {{{field_name}}}; "
                    "expected {centre} or {agent_id}"
                )
        return template.format(centre=centre, agent_id=agent_id)
    except (ValueError, IndexError) as exc:
        raise PromptError(f"prompts.texts.{name}: {exc} in {template!r}") from exc


class PromptBook:
    """Every prompt rendered and kept in memory; what the call flow plays."""

    def __init__(self, settings: PromptSettings, cache: PromptCache) -> None:
        if settings.language not in DEFAULT_TEXTS:
            raise PromptError(
                f"prompts.language: {settings.language!r}; expected one of "
                f"{', '.join(sorted(DEFAULT_TEXTS))}"
            )
        unknown = sorted(set(settings.texts) - set(PROMPT_NAMES))
        if unknown:
            raise PromptError(
                f"prompts.texts: unknown prompt {', '.join(unknown)}; "
                f"expected {', '.join(PROMPT_NAMES)}"
            )
        self.settings = settings
        self.cache = cache
        self.voice = settings.voice or LANGUAGE_VOICES[settings.language]
        self.templates = {**DEFAULT_TEXTS[settings.language], **settings.texts}
        for name, template in self.templates.items():
            if not template.strip():
                raise PromptError(f"prompts.texts.{name}: empty")
            _fill(name, template, settings.centre, "0")
        self._prompts: dict[str, Prompt] = {}

    @classmethod
    def load(
        cls,
        settings: PromptSettings,
        agent_ids: Iterable[str] = (),
        engine: SpeechEngine | None = None,
        base: Path | None = None,
    ) -> PromptBook:
        """Build the book and render every prompt now (a TTS failure stops start-up)."""
        cache_dir = Path(settings.cache_dir)
        if base is not None and not cache_dir.is_absolute():
            cache_dir = base / cache_dir
        book = cls(settings, PromptCache(engine or make_engine(settings.engine), cache_dir))
        book.render_all(agent_ids)
        return book

    def _spec(self, name: str, agent_id: str = "") -> PromptText:
        text = _fill(name, self.templates[name], self.settings.centre, agent_id)
        label = f"{name}:{agent_id}" if agent_id else name
        return PromptText(label, text, self.voice, self.settings.rate)

    def specs(self, agent_ids: Iterable[str] = ()) -> list[PromptText]:
        """What `render_all` renders: every prompt but `greeting`, one greeting per agent."""
        specs = [self._spec(n) for n in PROMPT_NAMES if n != "greeting"]
        return specs + [self._spec("greeting", a) for a in sorted(set(agent_ids)) if a]

    def render_all(self, agent_ids: Iterable[str] = ()) -> None:
        for name, prompt in self.cache.render_all(self.specs(agent_ids)).items():
            self._prompts[name] = prompt

    def get(self, name: str) -> Prompt:
        """A prompt by name (`greeting` needs `greeting_for`)."""
        if name == "greeting":
            raise PromptError("the greeting carries an agent ID: use greeting_for(agent_id)")
        if name not in self._prompts:
            if name not in self.templates:
                raise PromptError(f"no prompt named {name!r}")
            self._prompts[name] = self.cache.get(self._spec(name))
        return self._prompts[name]

    def greeting_for(self, agent_id: str) -> Prompt:
        """The greeting with this agent's ID; `greeting_auto` when there is no ID."""
        if not agent_id:
            return self.get("greeting_auto")
        key = f"greeting:{agent_id}"
        prompt = self._prompts.get(key)
        if prompt is None:
            log.warning("greeting for agent %s was not rendered at start-up", agent_id)
            prompt = self.cache.get(self._spec("greeting", agent_id))
            self._prompts[key] = prompt
        return prompt
