"""The prompt book: texts from config, rendered up front, greeting per agent ID."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.prompts import PromptBook, PromptError, PromptSettings
from sip.tts import EspeakNgEngine


class CountingEngine:
    """The real espeak-ng engine, counting renders and remembering texts."""

    def __init__(self) -> None:
        self.inner = EspeakNgEngine()
        self.name = self.inner.name
        self.texts: list[str] = []

    def resolve_voice(self, voice: str) -> str:
        return self.inner.resolve_voice(voice)

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        self.texts.append(text)
        self.inner.render_wav(text, voice_id, rate, path)


def test_all_prompts_rendered_at_load_with_centre_and_agent(tmp_path: Path) -> None:
    engine = CountingEngine()
    settings = PromptSettings(language="zh", centre="幸福物业客服中心", cache_dir=str(tmp_path))
    book = PromptBook.load(settings, agent_ids=["1024", "2048"], engine=engine)
    rendered = len(engine.texts)
    assert any("工号 1024" in t and "幸福物业客服中心" in t for t in engine.texts)
    for name in ("hold", "survey", "survey_retry", "thanks", "after_hours", "fallback", "busy"):
        assert book.get(name).seconds > 0.5
    assert book.greeting_for("1024").seconds > 1.0
    assert book.greeting_for("").name == "greeting_auto"
    assert len(engine.texts) == rendered  # nothing rendered during "calls"
    book.greeting_for("4096")  # unknown at start-up: rendered on first use (twice: a render
    # is cached only when a second one agrees, sip.tts.PromptCache)
    fresh = engine.texts[rendered:]
    assert fresh and all("工号 4096" in t for t in fresh)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (PromptSettings(language="fr"), "prompts.language"),
        (PromptSettings(texts={"welcome": "hi"}), "unknown prompt welcome"),
        (PromptSettings(texts={"hold": "请稍候 {name}"}), "unknown placeholder {name}"),
        (PromptSettings(texts={"hold": "请稍候 {"}), "prompts.texts.hold"),
        (PromptSettings(texts={"thanks": "  "}), "prompts.texts.thanks: empty"),
    ],
)
def test_bad_prompt_settings_are_clear_errors(
    tmp_path: Path, settings: PromptSettings, message: str
) -> None:
    with pytest.raises(PromptError, match=message):
        PromptBook.load(settings, engine=CountingEngine(), base=tmp_path)


def test_greeting_needs_an_agent(tmp_path: Path) -> None:
    book = PromptBook.load(PromptSettings(language="en", cache_dir=str(tmp_path)))
    with pytest.raises(PromptError, match="agent ID"):
        book.get("greeting")
    with pytest.raises(PromptError, match="no prompt named"):
        book.get("nope")
