"""One pyttsx3 render in a fresh process: `python -m sip.tts_render --voice V --rate R --out F`.

pyttsx3's espeak driver is racy when several renders share a process (see `sip.tts`): its
rate change, `endLoop` and espeak's own thread interleave with the next utterance. A
process that renders exactly one utterance has nothing to interleave with, so
`sip.tts.Pyttsx3Engine` runs every render here. The text comes on stdin (UTF-8), never on
the command line. `--list-voices` prints the driver's voices as JSON lines instead.

One race remains inside a single utterance, and it made the greeting 1.9 s "short" (8.05 s
instead of 9.97 s): espeak runs in retrieval mode, where `espeak_SetParameter` (the rate) is
only *queued* for espeak's command thread while `espeak_SetVoiceByName` acts at once.
`runAndWait()` then pumps the queued settings, its own `endLoop` (whose `stop()` calls
`espeak_Cancel()` whenever `espeak_IsPlaying()`, i.e. whenever that thread is still busy) and
`Synth` within a fraction of a millisecond. When espeak's thread had not yet applied the
rate, `Cancel` threw the queued rate away and the utterance came out complete but at the
driver's initial rate (200, not 160): a render that is shorter, not cut. So `render` sets
voice and rate itself, waits for espeak to apply them (`espeak_Synchronize`) and confirms
the rate in effect before synthesis, makes a `stop()` before the utterance has started a
no-op (there is nothing to stop), and checks the result against espeak's own events
(`Utterance`) before it reports success.

Exit codes: 0 rendered and checked (the last stdout line is a JSON summary: rate in effect,
sample rate, samples), 2 bad input (empty text, unknown voice), 3 the engine failed or did
not finish within `--timeout` seconds, 4 the render disagrees with espeak's own events.
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

EXIT_OK, EXIT_INPUT, EXIT_ENGINE, EXIT_INCOMPLETE = 0, 2, 3, 4

DRIVER_SAMPLE_RATE = 22050
"""The rate pyttsx3's espeak driver writes into every WAV header (espeak-ng's own rate)."""


class IncompleteRender(Exception):
    """The WAV does not hold what espeak says it synthesised (exit code 4)."""


def _engine() -> Any:
    import pyttsx3

    return pyttsx3.init("espeak")


def espeak_rate_in_effect() -> int:
    """espeak's *current* rate (`espeak_GetParameter(espeakRATE, 1)`).

    pyttsx3's `_espeak.GetParameter` declares one argument of two, so `current` is
    whatever is in the register; this prototype passes both.
    """
    from pyttsx3.drivers import _espeak

    get = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_int)(
        ("espeak_GetParameter", _espeak.dll)
    )
    return int(get(_espeak.RATE, 1))


def apply_settings(driver: Any, voice: str, rate: int) -> None:
    """Set voice and rate on espeak and wait until espeak has applied both.

    The voice is set at once on this thread, so first wait until espeak's command thread
    is idle (nothing it still does can meet the voice change); the rate goes through that
    thread's queue, so wait for the queue to drain (`espeak_Synchronize`) and confirm the
    rate. Raises RuntimeError when espeak does not take it.
    """
    from pyttsx3.drivers import _espeak

    _espeak.Synchronize()
    driver.setProperty("voice", voice)  # the driver's own call, not the engine's queue
    driver.setProperty("rate", rate)
    _espeak.Synchronize()
    in_effect = espeak_rate_in_effect()
    if in_effect != rate:
        raise RuntimeError(f"espeak did not apply rate {rate} (it has {in_effect})")


def no_cancel_before_speech(driver: Any) -> None:
    """Make the driver's `stop()` a no-op until the utterance has started.

    pyttsx3's `runAndWait` always runs `endLoop` -> `stop()` before it starts synthesis;
    stock `stop()` cancels whenever espeak's thread is busy, and a cancel before the
    utterance can only discard settings still queued for it (module docstring).
    """
    stock = driver.stop

    def stop() -> None:
        if driver._speaking:
            stock()

    driver.stop = stop


class Utterance:
    """What espeak itself reported while rendering the one utterance (from its callbacks).

    Installed as espeak's synth callback in front of the driver's `_onSynth` (which it
    still calls, through `last_samples_first`). Written on espeak's thread, read once the
    driver has said "finished-utterance".
    """

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.rate_at_start: int | None = None
        """espeak's rate in effect at the first callback of the utterance."""
        self.delivered = 0
        """Samples espeak handed over while the driver was speaking."""
        self.end_sample = 0
        """espeak's own sample count at its last end-of-clause (`EVENT_END`) event."""
        self.terminated = False
        """espeak sent `EVENT_MSG_TERMINATED` (the end of the utterance)."""

    def install(self) -> None:
        from pyttsx3.drivers import _espeak

        _espeak.SetSynthCallback(self.callback)

    def callback(self, wav: Any, numsamples: int, events: Any) -> int:
        from pyttsx3.drivers import _espeak

        if getattr(self.driver, "_speaking", False):
            if self.rate_at_start is None:
                self.rate_at_start = espeak_rate_in_effect()
            self.delivered += max(numsamples, 0)
            i = 0
            while events[i].type != _espeak.EVENT_LIST_TERMINATED:
                if events[i].type == _espeak.EVENT_END:
                    self.end_sample = max(self.end_sample, int(events[i].sample))
                elif events[i].type == _espeak.EVENT_MSG_TERMINATED:
                    self.terminated = True
                i += 1
        return last_samples_first(self.driver, wav, numsamples, events)

    def check(self, rate: int, frames: int) -> None:
        """Raise IncompleteRender unless the WAV's `frames` are what espeak synthesised."""
        problems = []
        if self.rate_at_start != rate:
            problems.append(f"spoken at rate {self.rate_at_start}, not {rate}")
        if not self.terminated:
            problems.append("espeak never ended the utterance")
        if self.end_sample <= 0:
            problems.append("espeak reported no end of clause")
        elif self.delivered != self.end_sample:
            problems.append(
                f"espeak delivered {self.delivered} samples but counted {self.end_sample}"
            )
        if frames != self.delivered:
            problems.append(f"the WAV holds {frames} of {self.delivered} samples")
        if problems:
            raise IncompleteRender("; ".join(problems))


def last_samples_first(driver: Any, wav: Any, numsamples: int, events: Any) -> int:
    """Call `driver._onSynth`, handing it the samples of a terminating callback first.

    pyttsx3's `EspeakDriver._onSynth` writes the WAV when it meets the "message terminated"
    event and only then appends the samples that came in the same callback, so they would
    never reach the file. espeak-ng 1.51 sends that event in a callback of its own (no
    samples), so this is a guard; `Utterance.check` would catch a lost buffer either way.
    """
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
    driver = engine.proxy._driver
    known = {v.id for v in engine.getProperty("voices")}
    if voice not in known:
        print(f"voice {voice!r} is not a pyttsx3/espeak voice id", file=sys.stderr)
        return EXIT_INPUT
    apply_settings(driver, voice, rate)
    no_cancel_before_speech(driver)
    utterance = Utterance(driver)
    utterance.install()
    finished = threading.Event()
    outcome: list[bool] = []

    def on_finished(name: str | None = None, completed: bool = True, **_: Any) -> None:
        # pyttsx3 calls back with keyword arguments only (name=, completed=).
        outcome.append(bool(completed))
        finished.set()

    engine.connect("finished-utterance", on_finished)
    engine.save_to_file(text, str(out))
    engine.runAndWait()
    deadline = time.monotonic() + timeout
    if not finished.wait(timeout):
        print(f"pyttsx3 did not finish the utterance within {timeout:.0f} s", file=sys.stderr)
        return EXIT_ENGINE
    if outcome and not outcome[0]:
        print("pyttsx3 reported the utterance as not completed", file=sys.stderr)
        return EXIT_ENGINE
    # The driver writes the file before the callback; wait until its header matches its size.
    while not wav_complete(out):
        if time.monotonic() > deadline:
            print("pyttsx3 wrote no complete WAV file", file=sys.stderr)
            return EXIT_ENGINE
        time.sleep(0.01)
    with wave.open(str(out)) as w:
        frames, sample_rate = w.getnframes(), w.getframerate()
    try:
        utterance.check(rate, frames)
    except IncompleteRender as exc:
        print(f"render incomplete: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE
    print(json.dumps({"rate": utterance.rate_at_start, "sample_rate": sample_rate,
                      "samples": utterance.end_sample}))
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
