"""Every fixed prompt, in both languages, comes out the same length in 20 fresh renders.

Issue 14: a render cached once is what every caller hears, so a render must not depend on
timing. This test renders each prompt the line plays (the texts of `console.toml.example`
for zh, the built-in ones for en, the greeting with an agent ID) 20 times, each in its own
`sip.tts_render` process and without the cache, so `PromptCache`'s "two renders agree"
check cannot hide a bad render, and asserts every length lies within ±20 ms.

All 9 prompts x 2 languages is 360 renders, 66 s on 2 cores; by default the test renders the
greeting and the survey prompt per language (80 renders, ~15 s). `TTS_REPEAT_ALL_PROMPTS=1`
renders every prompt.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import pytest

from console import config as config_mod
from console.prompts import PromptBook, PromptSettings
from sip.tts import PromptCache, PromptText, Pyttsx3Engine, wav_to_pcm8k

RENDERS = 20
ALL_PROMPTS = os.environ.get("TTS_REPEAT_ALL_PROMPTS") == "1"
DEFAULT_PROMPTS = ("greeting:1024", "survey")
"""The greeting every caller hears first, and the survey prompt."""
TOLERANCE_BYTES = 320
"""±20 ms at 8 kHz, 16-bit: 160 samples."""
EXAMPLE = Path(__file__).resolve().parent.parent / "console.toml.example"


def prompt_specs(language: str, cache: PromptCache) -> list[PromptText]:
    """What the product renders at start-up for `language`, from the example config."""
    settings = config_mod.load(EXAMPLE, environ={}).prompt_settings()
    if settings.language != language:  # the example's texts are for its own language
        settings = dataclasses.replace(settings, language=language, texts={}, voice="")
    assert isinstance(settings, PromptSettings)
    return PromptBook(settings, cache).specs(["1024"])


def render_pcm(engine: Pyttsx3Engine, spec: PromptText, voice_id: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tts-repeat-") as tmp:
        wav = Path(tmp) / "p.wav"
        engine.render_wav(spec.text, voice_id, spec.rate, wav)
        return wav_to_pcm8k(wav.read_bytes())


def test_20_fresh_renders_of_every_prompt_have_one_length(tmp_path: Path) -> None:
    engine = Pyttsx3Engine(render_timeout=60)
    cache = PromptCache(engine, tmp_path)  # only to build the specs; nothing is rendered
    jobs: list[tuple[str, PromptText, str]] = []
    for language in ("zh", "en"):
        for spec in prompt_specs(language, cache):
            if ALL_PROMPTS or spec.name in DEFAULT_PROMPTS:
                jobs += [(language, spec, engine.resolve_voice(spec.voice))] * RENDERS
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        pcms = list(pool.map(lambda job: render_pcm(engine, job[1], job[2]), jobs))
    lengths: dict[tuple[str, str], list[int]] = {}
    for (language, spec, _), pcm in zip(jobs, pcms, strict=True):
        lengths.setdefault((language, spec.name), []).append(len(pcm))
    assert len(lengths) == (18 if ALL_PROMPTS else 4)  # 9 prompts (or 2) x zh, en
    spread = {
        f"{lang}/{name}": f"{min(n) / 16000:.3f}-{max(n) / 16000:.3f} s"
        for (lang, name), n in lengths.items() if max(n) - min(n) > TOLERANCE_BYTES
    }
    assert not spread, f"renders differ by more than 20 ms: {spread}"
    assert all(min(n) > 8000 for n in lengths.values())  # each over 0.5 s: speech
    print(f"{len(jobs)} renders in {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_example_config_renders_both_languages(language: str, tmp_path: Path) -> None:
    specs = prompt_specs(language, PromptCache(Pyttsx3Engine(), tmp_path))
    voices = {spec.voice for spec in specs}
    assert voices == {"cmn" if language == "zh" else "en"}
    assert any("1024" in spec.text for spec in specs if spec.name == "greeting:1024")
