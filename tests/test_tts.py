"""Prompts rendered by espeak-ng: real renders, the cache, and the errors."""

from __future__ import annotations

import audioop
import io
import math
import struct
import threading
import wave
from pathlib import Path

import pytest

from sip.api import SipError
from sip.tts import (
    RENDER_ATTEMPTS,
    EspeakNgEngine,
    PromptCache,
    PromptText,
    RenderError,
    TtsError,
    cache_key,
    wav_to_pcm8k,
)

ZH_GREETING = "您好!XX客服中心,工号 1024 为您服务,请问有什么可以帮您?"
EN_GREETING = "Hello, XX service centre, agent 1024 speaking. How may I help you?"


@pytest.fixture(scope="module")
def engine() -> EspeakNgEngine:
    return EspeakNgEngine()


class CountingEngine:
    """The real engine, counting how often it is asked to synthesise."""

    def __init__(self, inner: EspeakNgEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, str, int]] = []

    def resolve_voice(self, voice: str) -> str:
        return self.inner.resolve_voice(voice)

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        self.calls.append((text, voice_id, rate))
        self.inner.render_wav(text, voice_id, rate, path)


class ToneEngine:
    """A fake engine: writes a 22.05 kHz tone whose length follows the text."""

    name = "tone"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()  # PromptCache renders twice in parallel

    def resolve_voice(self, voice: str) -> str:
        if voice not in ("cmn", "en"):
            raise TtsError(f"voice {voice!r} is not installed")
        return voice

    def length(self, text: str, call: int) -> int:
        """Samples of the render number `call` (0-based): 0.1 s per character."""
        return 2205 * len(text)

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        with self._lock:
            call = self.calls
            self.calls += 1
        n = self.length(text, call)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 22050)))
            for i in range(n)
        )
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(frames)


def rms(pcm: bytes) -> int:
    return audioop.rms(pcm, 2)


@pytest.mark.parametrize(
    ("voice", "text", "low", "high"),
    [("cmn", ZH_GREETING, 2.0, 12.0), ("en", EN_GREETING, 2.0, 10.0)],
)
def test_renders_real_speech_of_plausible_length(
    engine: EspeakNgEngine, tmp_path: Path, voice: str, text: str, low: float, high: float
) -> None:
    cache = PromptCache(engine, tmp_path)
    prompt = cache.get(PromptText("greeting", text, voice))
    assert prompt.name == "greeting"
    assert low < prompt.seconds < high
    assert len(prompt.pcm16) % 2 == 0
    assert rms(prompt.pcm16) > 300  # speech, not silence
    short = cache.get(PromptText("short", text[:6], voice))
    assert short.seconds < prompt.seconds


def test_voices_differ_and_rate_changes_duration(engine: EspeakNgEngine, tmp_path: Path) -> None:
    cache = PromptCache(engine, tmp_path)
    zh = cache.get(PromptText("a", "1024", "cmn"))
    en = cache.get(PromptText("a", "1024", "en"))
    assert zh.pcm16 != en.pcm16
    slow = cache.get(PromptText("s", EN_GREETING, "en", rate=120))
    fast = cache.get(PromptText("f", EN_GREETING, "en", rate=240))
    assert slow.seconds > fast.seconds * 1.4


def test_cache_hit_does_not_render_again(engine: EspeakNgEngine, tmp_path: Path) -> None:
    counting = CountingEngine(engine)
    cache = PromptCache(counting, tmp_path)
    spec = PromptText("hold", "请稍候,正在为您转接", "cmn")
    first = cache.get(spec)
    second = cache.get(spec)
    assert len(counting.calls) == 2  # one prompt: two renders that agree
    assert cache.renders == 1 and cache.attempts == 2 and cache.memory_hits == 1
    assert first.pcm16 == second.pcm16
    # A new process (new cache object) finds the rendering on disk.
    again = PromptCache(counting, tmp_path)
    third = again.get(spec)
    assert len(counting.calls) == 2 and again.disk_hits == 1
    assert third.pcm16 == first.pcm16
    # A change of text, voice or rate is a new key and a new render.
    cache.get(PromptText("hold", "请稍候,正在为您转接。", "cmn"))
    cache.get(PromptText("hold", spec.text, "cmn", rate=170))
    assert len(counting.calls) == 6


def test_missing_voice_is_a_clear_error(engine: EspeakNgEngine, tmp_path: Path) -> None:
    cache = PromptCache(engine, tmp_path)
    with pytest.raises(TtsError, match=r"voice 'klingon' is not installed"):
        cache.get(PromptText("greeting", "hello", "klingon"))
    with pytest.raises(TtsError, match="voice: empty"):
        engine.resolve_voice("  ")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_voice_resolution_accepts_short_names_and_languages(engine: EspeakNgEngine) -> None:
    assert engine.resolve_voice("cmn") == "sit/cmn"
    assert engine.resolve_voice(" EN ") == "gmw/en"
    assert engine.resolve_voice("gmw/en-US") == "gmw/en-us"
    assert engine.resolve_voice("en-us") == "gmw/en-us"
    for bad in ("en;rm -rf /", "-w", "en us"):
        with pytest.raises(TtsError, match="not installed"):
            engine.resolve_voice(bad)


def test_same_text_renders_the_same_bytes(engine: EspeakNgEngine, tmp_path: Path) -> None:
    # pyttsx3 failed exactly this (durations varied with the previous render's rate).
    seen = set()
    for i in range(6):
        cache = PromptCache(engine, tmp_path / str(i))
        cache.get(PromptText("x", "Hello there", "en", rate=200 if i % 2 else 160))
        seen.add(cache.get(PromptText("g", ZH_GREETING, "cmn")).pcm16)
    assert len(seen) == 1


def test_text_that_looks_like_an_option_is_spoken(engine: EspeakNgEngine, tmp_path: Path) -> None:
    prompt = PromptCache(engine, tmp_path).get(PromptText("x", "-w /etc/passwd", "en"))
    assert prompt.seconds > 0.3
    assert not Path("/etc/passwd.wav").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (PromptText("x", "", "en"), "empty text"),
        (PromptText("x", "   ", "en"), "empty text"),
        (PromptText("x", "hello", "en", rate=5), "rate 5 outside"),
        (PromptText("x", "hello", "en", rate=10_000), "rate 10000 outside"),
    ],
)
def test_bad_prompt_specs_are_refused(
    engine: EspeakNgEngine, tmp_path: Path, spec: PromptText, message: str
) -> None:
    with pytest.raises(TtsError, match=message):
        PromptCache(engine, tmp_path).get(spec)


def test_renders_from_worker_threads(engine: EspeakNgEngine, tmp_path: Path) -> None:
    cache = PromptCache(engine, tmp_path)
    results: dict[int, float] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = cache.get(PromptText(f"p{i}", f"第 {i} 号提示", "cmn")).seconds
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(results) == [0, 1, 2, 3]
    assert all(s > 0.3 for s in results.values())
    assert cache.renders == 4


def test_damaged_cache_file_is_rendered_again(tmp_path: Path) -> None:
    fake = ToneEngine()
    spec = PromptText("thanks", "thank you", "en")
    first = PromptCache(fake, tmp_path).get(spec)
    key = cache_key(spec.text, "en", spec.rate, fake.name)
    (tmp_path / f"{key}.s16le").write_bytes(b"\x01\x02\x03")  # odd length: truncated
    again = PromptCache(fake, tmp_path).get(spec)
    assert fake.calls == 4  # two renders that agree, each time
    assert again.pcm16 == first.pcm16
    assert (tmp_path / f"{key}.s16le").read_bytes() == first.pcm16


def test_fake_engine_duration_maps_to_8k(tmp_path: Path) -> None:
    fake = ToneEngine()
    prompt = PromptCache(fake, tmp_path).get(PromptText("t", "abcd", "en"))
    # 4 characters x 0.1 s at 22.05 kHz -> 0.4 s at 8 kHz.
    assert prompt.seconds == pytest.approx(0.4, abs=0.002)


def test_render_all_returns_every_prompt_by_name(tmp_path: Path) -> None:
    fake = ToneEngine()
    specs = [PromptText("a", "one", "en"), PromptText("b", "two!", "cmn")]
    prompts = PromptCache(fake, tmp_path).render_all(specs)
    assert sorted(prompts) == ["a", "b"]
    assert prompts["b"].seconds > prompts["a"].seconds


def test_render_all_stops_at_first_bad_voice(tmp_path: Path) -> None:
    fake = ToneEngine()
    with pytest.raises(TtsError, match="'xx'"):
        PromptCache(fake, tmp_path).render_all(
            [PromptText("a", "one", "en"), PromptText("b", "two", "xx")]
        )


def _wav(channels: int, width: int, rate: int, frames: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def test_wav_conversion_handles_stereo_and_8_bit() -> None:
    stereo = _wav(2, 2, 16000, struct.pack("<hh", 1000, 3000) * 1600)  # 0.1 s
    pcm = wav_to_pcm8k(stereo)
    assert len(pcm) == pytest.approx(1600, abs=4)
    assert abs(struct.unpack_from("<h", pcm, 800)[0] - 2000) <= 2
    u8 = _wav(1, 1, 8000, bytes([128 + 64]) * 800)
    pcm8 = wav_to_pcm8k(u8)
    assert len(pcm8) == 1600
    assert struct.unpack_from("<h", pcm8, 0)[0] == 64 << 8


def test_not_a_wav_is_a_tts_error() -> None:
    with pytest.raises(TtsError, match="not a PCM WAV"):
        wav_to_pcm8k(b"RIFF garbage")


class ScriptedEngine(ToneEngine):
    """A fake engine whose renders have scripted lengths (`None`: that render fails)."""

    name = "scripted"

    def __init__(self, seconds: list[float | None]) -> None:
        super().__init__()
        self.seconds = seconds

    def length(self, text: str, call: int) -> int:
        planned = self.seconds[min(call, len(self.seconds) - 1)]
        if planned is None:
            raise RenderError("the render child was killed")
        return int(22050 * planned)


def test_a_short_render_is_rendered_again_and_never_cached(tmp_path: Path) -> None:
    # The issue-14 greeting: one render 8.05 s, the others 9.97 s.
    fake = ScriptedEngine([8.05, 9.97, 9.97])
    cache = PromptCache(fake, tmp_path)
    prompt = cache.get(PromptText("greeting", "hello", "en"))
    assert prompt.seconds == pytest.approx(9.97, abs=0.01)
    assert fake.calls == 3 and cache.attempts == 3 and cache.renders == 1
    [cached] = tmp_path.iterdir()
    assert cached.read_bytes() == prompt.pcm16


def test_a_failed_render_is_rendered_again(tmp_path: Path) -> None:
    fake = ScriptedEngine([None, 2.0, 2.0])
    prompt = PromptCache(fake, tmp_path).get(PromptText("thanks", "bye", "en"))
    assert prompt.seconds == pytest.approx(2.0, abs=0.01) and fake.calls == 3


def test_a_prompt_no_two_renders_agree_on_is_an_error(tmp_path: Path) -> None:
    fake = ScriptedEngine([1.0, 2.0, None, 3.0])
    cache = PromptCache(fake, tmp_path)
    with pytest.raises(TtsError, match=r"'greeting' cannot be rendered completely: no two of "
                       rf"{RENDER_ATTEMPTS} renders agree .*killed.*nothing cached"):
        cache.get(PromptText("greeting", "hello", "en"))
    assert fake.calls == RENDER_ATTEMPTS
    assert list(tmp_path.iterdir()) == []  # nothing cached, nothing half-written
    assert cache.renders == 0


def test_an_unrenderable_prompt_stops_start_up_and_fails_only_its_call(tmp_path: Path) -> None:
    """What the product does with a TtsError, kept: `PromptBook.load` (start-up) raises it;
    a greeting rendered on first use raises it inside the call, and the call flow catches
    every `SipError` for that call only (`CallSession._run`), so the line keeps running."""
    from console.prompts import PromptBook, PromptSettings

    settings = PromptSettings(language="en", voice="en", cache_dir=str(tmp_path))
    with pytest.raises(TtsError, match="cannot be rendered completely"):
        PromptBook.load(settings, ["1024"], engine=ScriptedEngine([1.0, 2.0, 3.0, 4.0]))
    book = PromptBook.load(settings, [], engine=ToneEngine())
    book.cache.engine = ScriptedEngine([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(SipError, match="'greeting:2048' cannot be rendered completely"):
        book.greeting_for("2048")
    assert book.get("thanks").seconds > 0  # what was rendered is still played
