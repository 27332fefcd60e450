"""pyttsx3 renders, one per child process: zh and en, same bytes every time, cache, bad input."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

from console.config import ConfigError, loads
from sip.tts import (
    PromptCache,
    PromptText,
    Pyttsx3Engine,
    RenderError,
    TtsError,
    check_against_report,
    make_engine,
)
from sip.tts_render import (
    EXIT_INPUT,
    IncompleteRender,
    Utterance,
    no_cancel_before_speech,
    wav_complete,
)

ZH = PromptText("greeting", "您好!XX客服中心,工号 1024 为您服务,请问有什么可以帮您?", "cmn")
EN = PromptText("thanks", "Thank you for calling. Goodbye.", "en")


@pytest.fixture(scope="module")
def engine() -> Pyttsx3Engine:
    return Pyttsx3Engine(render_timeout=20)


@pytest.mark.parametrize("spec", [ZH, EN], ids=["zh", "en"])
def test_renders_speech_through_pyttsx3(
    engine: Pyttsx3Engine, tmp_path: Path, spec: PromptText
) -> None:
    prompt = PromptCache(engine, tmp_path).get(spec)
    assert 1.0 < prompt.seconds < 15.0  # a sentence, not a click and not a runaway
    assert any(abs(int.from_bytes(prompt.pcm16[i:i + 2], "little", signed=True)) > 1000
               for i in range(0, len(prompt.pcm16), 2))


def test_renders_are_deterministic(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    # Three fresh caches (six fresh processes) say the same thing, byte for byte. The
    # "second variant" an earlier run saw (8.05 s instead of 9.97 s) was the rate lost to
    # runAndWait's cancel (sip.tts_render), not a tolerable wobble.
    caches = [PromptCache(engine, tmp_path / str(i)) for i in range(3)]
    outputs = [cache.get(ZH).pcm16 for cache in caches]
    assert len(outputs[0]) == 159_454  # 9.97 s at rate 160, as `espeak-ng -s 160` says it
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    assert [c.attempts for c in caches] == [2, 2, 2]  # no render needed a retry


def test_second_get_is_a_cache_hit(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    cache = PromptCache(engine, tmp_path)
    first = cache.get(EN)
    second = cache.get(EN)
    assert cache.renders == 1 and cache.memory_hits == 1 and first == second
    again = PromptCache(engine, tmp_path)  # a restart: from disk, no synthesis
    assert again.get(EN) == first and again.renders == 0 and again.disk_hits == 1


def test_the_engine_is_part_of_the_cache_key(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    PromptCache(engine, tmp_path).get(EN)
    espeak = PromptCache(make_engine("espeak-ng"), tmp_path)
    espeak.get(EN)
    assert espeak.renders == 1  # a pyttsx3 render is never served as an espeak-ng one


def test_bad_voice_is_a_clear_error(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="'klingon' is not a pyttsx3/espeak voice"):
        PromptCache(engine, tmp_path).get(PromptText("x", "hello", "klingon"))
    with pytest.raises(TtsError, match="voice: empty"):
        engine.resolve_voice("  ")
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_empty_text_and_bad_rate_are_refused(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    cache = PromptCache(engine, tmp_path)
    with pytest.raises(TtsError, match="empty text"):
        cache.get(PromptText("x", "   ", "en"))
    with pytest.raises(TtsError, match="rate 5"):
        cache.get(PromptText("x", "hello", "en", rate=5))


def test_child_refuses_bad_input_with_its_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    for args, stdin in (
        (["--voice", "gmw/en", "--out", str(out)], b"   "),
        (["--voice", "no/such", "--out", str(out)], b"hello"),
        (["--out", str(out)], b"hello"),
    ):
        done = subprocess.run([sys.executable, "-m", "sip.tts_render", *args], input=stdin,
                              capture_output=True, timeout=30, check=False)
        assert done.returncode == EXIT_INPUT, done.stderr
        assert done.stderr.strip()
    assert not out.exists()


def test_a_cut_wav_is_not_complete(engine: Pyttsx3Engine, tmp_path: Path) -> None:
    wav = tmp_path / "p.wav"
    engine.render_wav("Hello there.", "gmw/en", 160, wav)
    assert wav_complete(wav)
    wav.write_bytes(wav.read_bytes()[:-400])
    assert not wav_complete(wav)
    wav.write_bytes(b"RIFF")
    assert not wav_complete(wav)


def test_unknown_engine_name() -> None:
    with pytest.raises(TtsError, match="expected one of pyttsx3, espeak-ng"):
        make_engine("festival")


def test_config_engine_key(tmp_path: Path) -> None:
    base = (
        'centre = "c"\n[line]\nregistrar = "127.0.0.1"\nextension = "100"\n'
        '[gate_post]\nuri = "sip:8001@127.0.0.1"\n'
    )
    cfg = loads(base, source="t.toml", base_dir=tmp_path)
    assert cfg.prompt_settings().engine == "pyttsx3"
    cfg = loads(base + '[prompts]\nengine = "espeak-ng"\n', source="t.toml", base_dir=tmp_path)
    assert cfg.prompt_settings().engine == "espeak-ng"
    with pytest.raises(ConfigError, match=r"prompts\.engine = 'festival'"):
        loads(base + '[prompts]\nengine = "festival"\n', source="t.toml", base_dir=tmp_path)


def _events(*types: int) -> Any:
    from pyttsx3.drivers import _espeak

    array = (_espeak.EVENT * len(types))()
    for slot, kind in zip(array, types, strict=True):
        slot.type = kind
    return array


def test_samples_that_come_with_the_end_event_reach_the_file(tmp_path: Path) -> None:
    """pyttsx3's driver writes the WAV before appending the terminating callback's samples;
    `last_samples_first` hands them over first, so the render keeps its tail."""
    from pyttsx3.drivers import _espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    from sip.tts_render import last_samples_first

    class Proxy:
        def notify(self, *_: Any, **__: Any) -> None: ...
        def setBusy(self, _: bool) -> None: ...

    driver = EspeakDriver.__new__(EspeakDriver)  # the real _onSynth, no espeak init
    driver._proxy, driver._speaking, driver._looping = Proxy(), True, True
    driver._text_to_say, driver._save_file = "x", str(tmp_path / "out.wav")
    driver._data_buffer = b""
    body = (ctypes.c_short * 4)(1, 2, 3, 4)
    tail = (ctypes.c_short * 3)(5, 6, 7)
    last_samples_first(driver, body, 4, _events(_espeak.EVENT_LIST_TERMINATED))
    last_samples_first(
        driver, tail, 3, _events(_espeak.EVENT_MSG_TERMINATED, _espeak.EVENT_LIST_TERMINATED)
    )
    with wave.open(str(tmp_path / "out.wav")) as w:
        samples = memoryview(w.readframes(w.getnframes())).cast("h").tolist()
    assert samples == [1, 2, 3, 4, 5, 6, 7]  # the stock callback alone loses 5, 6, 7


def test_the_child_reports_what_espeak_synthesised(tmp_path: Path) -> None:
    out = tmp_path / "g.wav"
    done = subprocess.run(
        [sys.executable, "-m", "sip.tts_render", "--voice", "sit/cmn", "--rate", "160",
         "--out", str(out)], input=ZH.text.encode(), capture_output=True, timeout=60,
        check=True,
    )
    report = json.loads(done.stdout.decode().splitlines()[-1])
    with wave.open(str(out)) as w:
        assert report == {"rate": 160, "sample_rate": w.getframerate(),
                          "samples": w.getnframes()}
    check_against_report(out, done.stdout, 160)
    with pytest.raises(RenderError, match="rate 200; espeak 219748 samples at 22050 Hz, rate 160"):
        check_against_report(out, done.stdout, 200)
    with pytest.raises(RenderError, match="espeak None samples"):
        check_against_report(out, b"Audio saved to g.wav\n", 160)


def test_a_render_is_checked_against_espeaks_events() -> None:
    driver = type("Driver", (), {"_speaking": True})()
    spoken = Utterance(driver)
    spoken.rate_at_start, spoken.delivered, spoken.end_sample = 160, 1000, 1000
    spoken.terminated = True
    spoken.check(160, 1000)
    with pytest.raises(IncompleteRender, match="spoken at rate 160, not 200"):
        spoken.check(200, 1000)
    with pytest.raises(IncompleteRender, match="the WAV holds 900 of 1000 samples"):
        spoken.check(160, 900)
    spoken.delivered, spoken.terminated = 800, False
    with pytest.raises(IncompleteRender,
                       match=r"never ended.*delivered 800 samples but counted 1000"):
        spoken.check(160, 800)


def test_a_stop_before_the_utterance_cancels_nothing() -> None:
    """runAndWait calls stop() before synthesis; stock stop() cancels espeak's queue (and
    with it the rate) whenever espeak's thread is busy. Before the utterance it is a no-op."""
    stops: list[bool] = []

    class Driver:
        _speaking = False

        def stop(self) -> None:
            stops.append(self._speaking)

    driver = Driver()
    no_cancel_before_speech(driver)
    driver.stop()
    assert stops == []
    driver._speaking = True
    driver.stop()
    assert stops == [True]  # during the utterance, stop() still stops
