"""One pyttsx3 render in a fresh process: `python -m sip.tts_render --voice V --rate R --out F`.

pyttsx3's espeak driver is racy when several renders share a process (see `sip.tts`): its
rate change, `endLoop` and espeak's own thread interleave with the next utterance. A
process that renders exactly one utterance has nothing to interleave with, so
`sip.tts.Pyttsx3Engine` runs every render here. The text comes on stdin (UTF-8), never on
the command line. `--list-voices` prints the driver's voices as JSON lines instead.

Exit codes: 0 rendered (the WAV is complete), 2 bad input (empty text, unknown voice),
3 the engine failed or did not finish within `--timeout` seconds.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_INPUT, EXIT_ENGINE = 0, 2, 3


def _engine() -> Any:
    import pyttsx3

    engine = pyttsx3.init("espeak")
    keep_last_samples(engine.proxy._driver)
    return engine


def keep_last_samples(driver: Any) -> None:
    """Route espeak's callback through `last_samples_first` for pyttsx3's espeak driver.

    pyttsx3's `EspeakDriver._onSynth` writes the WAV when it meets the "message
    terminated" event and only then appends the samples that came in the same callback,
    so they never reach the file. espeak (retrieval mode, its own thread) hands over its
    last buffer together with that event or before it depending on timing: one loaded CI
    run rendered the greeting 1.9 s short. The wrapper appends such samples first.
    """
    from pyttsx3.drivers import _espeak

    _espeak.SetSynthCallback(lambda wav, n, events: last_samples_first(driver, wav, n, events))


def last_samples_first(driver: Any, wav: Any, numsamples: int, events: Any) -> int:
    """Call `driver._onSynth`, handing it the samples of a terminating callback first."""
    from pyttsx3.drivers import _espeak

    if numsamples > 0 and getattr(driver, "_speaking", False):
        i = 0
        while events[i].type != _espeak.EVENT_LIST_TERMINATED:
            if events[i].type == _espeak.EVENT_MSG_TERMINATED:
                size = numsamples * ctypes.sizeof(ctypes.c_short)
                driver._data_buffer += ctypes.string_at(wav, size)
                return int(driver._onSynth(wav, 0, events))
            i += 1
    return int(driver._onSynth(wav, numsamples, events))


def list_voices() -> int:
    engine = _engine()
    for voice in engine.getProperty("voices"):
        langs = [str(lang) for lang in (voice.languages or [])]
        print(json.dumps({"id": voice.id, "name": voice.name, "languages": langs}))
    return EXIT_OK


def wav_complete(path: Path) -> bool:
    """True when `path` is a WAV whose header matches its size and holds samples."""
    try:
        size = path.stat().st_size
        with wave.open(str(path)) as w:
            frames, width, channels = w.getnframes(), w.getsampwidth(), w.getnchannels()
    except (OSError, wave.Error, EOFError):
        return False
    return frames > 0 and size >= 44 + frames * width * channels


def render(text: str, voice: str, rate: int, out: Path, timeout: float) -> int:
    engine = _engine()
    known = {v.id for v in engine.getProperty("voices")}
    if voice not in known:
        print(f"voice {voice!r} is not a pyttsx3/espeak voice id", file=sys.stderr)
        return EXIT_INPUT
    finished = threading.Event()
    outcome: list[bool] = []

    def on_finished(name: str | None = None, completed: bool = True, **_: Any) -> None:
        # pyttsx3 calls back with keyword arguments only (name=, completed=).
        outcome.append(bool(completed))
        finished.set()

    engine.connect("finished-utterance", on_finished)
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate)
    engine.save_to_file(text, str(out))
    engine.runAndWait()
    deadline = time.monotonic() + timeout
    if not finished.wait(timeout):
        print(f"pyttsx3 did not finish the utterance within {timeout:.0f} s", file=sys.stderr)
        return EXIT_ENGINE
    if outcome and not outcome[0]:
        print("pyttsx3 reported the utterance as not completed", file=sys.stderr)
        return EXIT_ENGINE
    # The driver writes the file after the callback: wait until its header matches its size.
    while not wav_complete(out):
        if time.monotonic() > deadline:
            print("pyttsx3 wrote no complete WAV file", file=sys.stderr)
            return EXIT_ENGINE
        time.sleep(0.01)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sip.tts_render", description=__doc__)
    parser.add_argument("--voice", help="pyttsx3 voice id, e.g. sit/cmn or gmw/en")
    parser.add_argument("--rate", type=int, default=160, help="words per minute")
    parser.add_argument("--out", type=Path, help="the WAV file to write")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--list-voices", action="store_true")
    args = parser.parse_args(argv)
    if args.list_voices:
        return list_voices()
    if not args.voice or args.out is None:
        print("--voice and --out are required", file=sys.stderr)
        return EXIT_INPUT
    text = sys.stdin.buffer.read().decode("utf-8", "replace")
    if not text.strip():
        print("empty text on stdin", file=sys.stderr)
        return EXIT_INPUT
    try:
        return render(text, args.voice, args.rate, args.out, args.timeout)
    except Exception as exc:  # the parent shows this line as the TtsError
        print(f"pyttsx3 failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ENGINE


if __name__ == "__main__":
    sys.exit(main())
