"""Spoken prompts: text rendered once by pyttsx3 (espeak-ng voices), cached, ready for the line.

A call must never wait for speech synthesis, so every prompt is rendered at start-up and
kept in memory as a `sip.api.Prompt` (8 kHz mono s16le, what the line plays). Renders are
also cached on disk by sha256(text, voice, rate, engine) so a restart costs nothing. A
missing engine or voice is a start-up error (`TtsError`), never a silent call.

A render is checked before it is cached, because a bad one would be served to every caller
until the cache is cleared: the pyttsx3 child checks its WAV against espeak's own events
(rate in effect, espeak's sample count; `sip.tts_render`), the parent checks the WAV against
the child's report, and `PromptCache` keeps a prompt only when two fresh renders agree byte
for byte (`RENDER_ATTEMPTS` renders at most). A render that fails a check is a `RenderError`
and is rendered again; a prompt no two renders agree on is a `TtsError` that says so.

Why `espeak-ng -w` and not pyttsx3: pyttsx3 2.99's espeak driver was tried first and
cannot render reliably here (espeak-ng 1.51, Debian 12; measured while writing this):
- `runAndWait()` returns as soon as synthesis has *started*; espeak renders on its own
  thread and the driver writes the WAV later (reading it at once gives nothing);
- its queued `endLoop` calls the driver's `stop()`, whose `Cancel()` kills the *next*
  utterance when espeak still counts as playing: 4-8 of 16 back-to-back renders failed
  ("finished-utterance" with completed=False, or "Error saving WAV file");
- rate changes race with synthesis: the same text came out at 8.05 s or 9.97 s (the
  previous render's rate), once 19.1 s (doubled audio), plus "espeak: No envelope";
- setting an unknown voice is queued and its error swallowed.
Waiting for "finished-utterance" and for espeak to go idle fixed the first two partly, not
the third. Those races need two utterances in one process, so the product renders with
pyttsx3 as issue 4 asks, but ONE render per fresh process (`Pyttsx3Engine` runs
`python -m sip.tts_render`). A single utterance still had one race, the rate queued on
espeak's thread and cancelled by `runAndWait`'s own `stop()` (about 1 render in 20, more
under load, came out at rate 200: the greeting 8.05 s instead of 9.97 s); `sip.tts_render`
explains it and how the child avoids it. Measured here: identical bytes per voice (cmn, en),
~0.15-0.2 s per prompt (interpreter start included), a wedged render killed by a timeout,
the WAV checked complete (header matches size) before use. Note pyttsx3 calls
"finished-utterance" callbacks with keyword arguments only, and a failed save never calls
back at all (hence the timeout). `EspeakNgEngine` (one `espeak-ng -w` process per prompt,
~20 ms, also deterministic) remains as the fallback `[prompts] engine = "espeak-ng"`.
"""

from __future__ import annotations

import audioop
import concurrent.futures
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sip.api import Prompt, SipError

log = logging.getLogger("sip.tts")

SAMPLE_RATE = 8000
"""What the line plays: 8 kHz mono signed 16-bit little-endian (`sip.api.Prompt`)."""

CACHE_FORMAT = "s16le-8k-v1"
"""Part of every cache key: bump it when the conversion changes so old files are not reused."""

LANGUAGE_VOICES: Mapping[str, str] = {"zh": "cmn", "en": "en"}
"""Default espeak-ng voice per prompt language (Mandarin `cmn`, English `en`)."""

MIN_RATE, MAX_RATE = 80, 450
"""Speaking rate bounds (words per minute) that espeak-ng renders intelligibly."""



def _pick_voice(voices: dict[str, str], voice: str, what: str, see: str) -> str:
    """The voice `voice` names in `voices` (any accepted name → voice id); a clear error
    with the nearest names when there is none (checked before any call rings)."""
    wanted = voice.strip().lower()
    if not wanted:
        raise TtsError("voice: empty; expected a voice such as 'cmn' or 'en'")
    found = voices.get(wanted)
    if found is None:
        stem = wanted.split("-")[0][:3]
        near = sorted({n for n in voices if stem and n.startswith(stem)})[:8]
        hint = f" (similar: {', '.join(near)})" if near else ""
        raise TtsError(f"voice {voice!r} is not {what}{hint}{see}")
    return found

class TtsError(SipError):
    """Speech synthesis is unavailable or failed (engine, voice, text or cache)."""

    title = "Text-to-speech"


class RenderError(TtsError):
    """One render failed or came out wrong (crash, timeout, a failed check); worth another try.

    `PromptCache` renders again; bad input (voice, empty text) is a plain `TtsError`.
    """


class SpeechEngine(Protocol):
    """Something that renders text to a WAV file; espeak-ng in the product, fakes in tests."""

    name: str

    def resolve_voice(self, voice: str) -> str:
        """Return the engine's own id for `voice` (id, short name or language); raise TtsError."""
        ...

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        """Write `text` spoken by `voice_id` at `rate` words/minute to the WAV file `path`."""
        ...


class EspeakNgEngine:
    """The `espeak-ng` program, one process per render (see the module docstring for why)."""

    def __init__(self, program: str = "espeak-ng", render_timeout: float = 30.0) -> None:
        self.render_timeout = render_timeout
        found = shutil.which(program)
        if found is None:
            raise TtsError(
                f"the speech engine {program!r} is not installed; "
                "install the espeak-ng package (scripts/setup does)"
            )
        self.program = found
        out = self._run(["--version"], timeout=10.0)
        # "eSpeak NG text-to-speech: 1.51  Data at: ..."
        banner = out.stdout.decode("utf-8", "replace")
        self.version = banner.split("text-to-speech:", 1)[-1].split()[0] if banner else "?"
        self.name = f"espeak-ng {self.version}"
        """Part of the cache key: a new espeak-ng renders the prompts again."""
        self._voices: dict[str, str] = {}
        self._voice_lock = threading.Lock()

    def _run(
        self, args: list[str], stdin: bytes | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                [self.program, *args],
                input=stdin,
                capture_output=True,
                timeout=timeout or self.render_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:  # run() kills the child on timeout
            raise RenderError(f"espeak-ng did not finish within {exc.timeout:.0f} s") from exc
        except OSError as exc:
            raise TtsError(f"espeak-ng cannot run: {exc}") from exc

    def _installed(self) -> dict[str, str]:
        """Every accepted name (language code, voice file, its last part) -> voice file."""
        listing = self._run(["--voices"], timeout=10.0)
        names: dict[str, str] = {}
        for line in listing.stdout.decode("utf-8", "replace").splitlines()[1:]:
            cols = line.split()
            if len(cols) < 5:
                continue
            language, file_id = cols[1].lower(), cols[4].lower()
            for name in (file_id, language, file_id.rsplit("/", 1)[-1]):
                names.setdefault(name, file_id)
        return names

    def resolve_voice(self, voice: str) -> str:
        with self._voice_lock:
            if not self._voices:
                self._voices = self._installed()
        return _pick_voice(
            self._voices, voice, "installed in espeak-ng", "; see `espeak-ng --voices`"
        )

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        if not text.strip():
            raise TtsError("cannot render an empty prompt text")
        # Text goes on stdin (UTF-8, -b 1): a prompt starting with "-" is never an option.
        done = self._run(
            ["-v", voice_id, "-s", str(rate), "-b", "1", "-w", str(path), "--stdin"],
            stdin=text.encode("utf-8"),
        )
        if done.returncode != 0:
            raise RenderError(
                f"espeak-ng failed ({done.returncode}): "
                f"{done.stderr.decode('utf-8', 'replace').strip()[:200]}"
            )
        if not path.exists() or path.stat().st_size <= 44:
            raise RenderError(f"espeak-ng wrote no audio for {text[:40]!r}")


class Pyttsx3Engine:
    """pyttsx3's espeak driver, ONE render per child process (`python -m sip.tts_render`).

    The default engine. Each render is a fresh interpreter, so none of the driver's
    cross-utterance races (module docstring) can happen; the child confirms espeak's rate
    and checks its WAV against espeak's own events, it is killed after `render_timeout`,
    and its WAV is checked here against what it reported before it is used.
    """

    def __init__(self, render_timeout: float = 30.0, python: str | None = None) -> None:
        self.render_timeout = render_timeout
        self.python = python or sys.executable
        try:
            import pyttsx3  # noqa: F401  (only to fail early and clearly)
        except ImportError as exc:
            raise TtsError(
                f"pyttsx3 is not installed ({exc}); run scripts/setup, or set "
                '[prompts] engine = "espeak-ng"'
            ) from exc
        if shutil.which("espeak-ng") is None and shutil.which("espeak") is None:
            raise TtsError(
                "pyttsx3 needs espeak-ng (its espeak driver); install the espeak-ng package "
                "(scripts/setup does)"
            )
        from importlib.metadata import version

        self.name = f"pyttsx3 {version('pyttsx3')} espeak, rate confirmed"
        """Part of the cache key: another pyttsx3 renders the prompts again; "rate
        confirmed" re-renders prompts cached before `sip.tts_render.apply_settings` (some
        were spoken at the driver's default rate 200)."""
        self._voices: dict[str, str] = {}
        self._voice_lock = threading.Lock()

    def _child(
        self, args: list[str], stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        try:
            return subprocess.run(
                [self.python, "-m", "sip.tts_render", *args],
                input=stdin, capture_output=True, timeout=self.render_timeout + 5.0,
                check=False, env=env,
            )
        except subprocess.TimeoutExpired as exc:  # run() kills the child on timeout
            raise RenderError(
                f"pyttsx3 render did not finish within {exc.timeout:.0f} s"
            ) from exc
        except OSError as exc:
            raise TtsError(f"pyttsx3 render process cannot run: {exc}") from exc

    def _installed(self) -> dict[str, str]:
        done = self._child(["--list-voices"])
        if done.returncode != 0:
            raise TtsError(
                "pyttsx3 cannot list its voices: "
                f"{done.stderr.decode('utf-8', 'replace').strip()[-200:]}"
            )
        names: dict[str, str] = {}
        for line in done.stdout.decode("utf-8", "replace").splitlines():
            try:
                voice = json.loads(line)
            except ValueError:
                continue  # pyttsx3's own chatter on stdout
            voice_id = str(voice["id"]).lower()
            for name in (voice_id, voice_id.rsplit("/", 1)[-1],
                         *(str(lang).lower() for lang in voice.get("languages", []))):
                names.setdefault(name, str(voice["id"]))
        return names

    def resolve_voice(self, voice: str) -> str:
        with self._voice_lock:
            if not self._voices:
                self._voices = self._installed()
        return _pick_voice(self._voices, voice, "a pyttsx3/espeak voice", "")

    def render_wav(self, text: str, voice_id: str, rate: int, path: Path) -> None:
        if not text.strip():
            raise TtsError("cannot render an empty prompt text")
        from sip.tts_render import EXIT_INPUT

        done = self._child(
            ["--voice", voice_id, "--rate", str(rate), "--out", str(path),
             "--timeout", f"{self.render_timeout:g}"],
            stdin=text.encode("utf-8"),
        )
        if done.returncode != 0:
            error = TtsError if done.returncode == EXIT_INPUT else RenderError
            raise error(
                f"pyttsx3 render failed ({done.returncode}): "
                f"{done.stderr.decode('utf-8', 'replace').strip()[-200:]}"
            )
        check_against_report(path, done.stdout, rate)


def check_against_report(path: Path, stdout: bytes, rate: int) -> None:
    """Raise RenderError unless the WAV at `path` is what the render child reported.

    The child's last JSON line on stdout is espeak's own account (`sip.tts_render`): the
    rate in effect, the sample rate and the samples espeak counted to its last clause end.
    """
    report: dict[str, int] = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            report = json.loads(line)
        except ValueError:
            continue  # pyttsx3's own chatter ("Audio saved to ...")
    try:
        with wave.open(str(path)) as w:
            frames, sample_rate = w.getnframes(), w.getframerate()
    except (OSError, wave.Error, EOFError) as exc:
        raise RenderError(f"pyttsx3 wrote no readable WAV: {exc}") from exc
    expected = (rate, sample_rate, frames)
    got = (report.get("rate"), report.get("sample_rate"), report.get("samples"))
    if not frames or got != expected:
        raise RenderError(
            f"pyttsx3 render does not match espeak's report: WAV {frames} samples at "
            f"{sample_rate} Hz, rate {rate}; espeak {got[2]} samples at {got[1]} Hz, "
            f"rate {got[0]}"
        )


ENGINES = ("pyttsx3", "espeak-ng")
"""Engine names `[prompts] engine` accepts; the first is the default."""


def make_engine(name: str = "pyttsx3") -> SpeechEngine:
    """The speech engine by config name; a missing one is a `TtsError`."""
    if name == "pyttsx3":
        return Pyttsx3Engine()
    if name == "espeak-ng":
        return EspeakNgEngine()
    raise TtsError(f"prompts.engine: {name!r}; expected one of {', '.join(ENGINES)}")


def wav_to_pcm8k(data: bytes) -> bytes:
    """Convert a PCM WAV file's bytes (any rate, width, channels) to 8 kHz mono s16le."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise TtsError(f"the rendered file is not a PCM WAV: {exc}") from exc
    if width not in (1, 2, 3, 4):
        raise TtsError(f"unsupported WAV sample width {width}")
    if width == 1:  # WAV 8-bit is unsigned
        frames = audioop.bias(frames, 1, -128)
    if width != 2:
        frames = audioop.lin2lin(frames, width, 2)
    if channels == 2:
        frames = audioop.tomono(frames, 2, 0.5, 0.5)
    elif channels != 1:
        raise TtsError(f"unsupported WAV channel count {channels}")
    if rate != SAMPLE_RATE:
        frames, _ = audioop.ratecv(frames, 2, 1, rate, SAMPLE_RATE, None)
    return frames


def cache_key(text: str, voice_id: str, rate: int, engine: str = "") -> str:
    """sha256 of everything that changes the audio: text, voice, rate, engine, format."""
    blob = "\x1f".join((CACHE_FORMAT, engine, voice_id, str(rate), text)).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class PromptText:
    """One prompt to render: its name (for logs and events), the words, voice and rate."""

    name: str
    text: str
    voice: str
    rate: int = 160


RENDER_ATTEMPTS = 4
"""Fresh renders tried per prompt; two of them must agree byte for byte before it is cached."""


class PromptCache:
    """Rendered prompts in memory and on disk, keyed by sha256(text, voice, rate).

    A prompt is rendered (at least) twice, the first two renders in parallel, and cached only
    when two renders agree; a render that fails a check or disagrees is never cached.
    Thread-safe; `renders` counts prompts synthesised (a cache hit leaves it unchanged),
    `attempts` the engine renders behind them.
    """

    def __init__(self, engine: SpeechEngine, cache_dir: Path | str) -> None:
        self.engine = engine
        self.cache_dir = Path(cache_dir)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TtsError(f"prompt cache directory {self.cache_dir}: {exc}") from exc
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.renders = 0
        self.attempts = 0
        self.disk_hits = 0
        self.memory_hits = 0

    def get(self, spec: PromptText) -> Prompt:
        """The prompt for `spec`, rendered now only if neither memory nor disk has it."""
        if not MIN_RATE <= spec.rate <= MAX_RATE:
            raise TtsError(
                f"prompt {spec.name!r}: rate {spec.rate} outside {MIN_RATE}-{MAX_RATE} words/min"
            )
        if not spec.text.strip():
            raise TtsError(f"prompt {spec.name!r}: empty text")
        voice_id = self.engine.resolve_voice(spec.voice)
        key = cache_key(spec.text, voice_id, spec.rate, self.engine.name)
        with self._lock:
            pcm = self._memory.get(key)
            if pcm is not None:
                self.memory_hits += 1
                return Prompt(spec.name, pcm)
            pcm = self._load(key)
            if pcm is not None:
                self.disk_hits += 1
            else:
                pcm = self._render(spec, voice_id, key)
            self._memory[key] = pcm
            return Prompt(spec.name, pcm)

    def render_all(self, specs: list[PromptText]) -> dict[str, Prompt]:
        """Render (or load) every prompt up front; the first failure stops start-up."""
        out: dict[str, Prompt] = {}
        for spec in specs:
            out[spec.name] = self.get(spec)
        log.info(
            "prompts ready: %d (rendered %d, from disk %d)",
            len(out), self.renders, self.disk_hits,
        )
        return out

    def _path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.s16le"

    def _load(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            pcm = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("prompt cache %s unreadable (%s); rendering again", path, exc)
            return None
        if not pcm or len(pcm) % 2:
            log.warning("prompt cache %s is damaged (%d bytes); rendering again", path, len(pcm))
            return None
        return pcm

    def _render_once(self, spec: PromptText, voice_id: str) -> bytes:
        """One fresh render by the engine, as the line plays it (8 kHz s16le)."""
        with self._count_lock:
            self.attempts += 1
        with tempfile.TemporaryDirectory(prefix="tts-") as tmp:
            wav = Path(tmp) / "prompt.wav"
            self.engine.render_wav(spec.text, voice_id, spec.rate, wav)
            pcm = wav_to_pcm8k(wav.read_bytes())
        if not pcm:
            raise RenderError(f"prompt {spec.name!r}: the engine produced no samples")
        return pcm

    def _agreed_render(self, spec: PromptText, voice_id: str) -> bytes:
        """The first render that an earlier render of the same prompt matches byte for byte.

        Up to `RENDER_ATTEMPTS` renders, the first two in parallel; a `RenderError` counts
        as a failed attempt; anything else (bad voice, empty text) stops at once.
        """
        seen: list[bytes] = []
        failures: list[str] = []
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="tts-render") as pool:
            pending = [pool.submit(self._render_once, spec, voice_id) for _ in range(2)]
            started = len(pending)
            while pending:
                try:
                    pcm = pending.pop(0).result()
                except RenderError as exc:
                    failures.append(str(exc))
                    log.warning("prompt %s: a render failed (%s); rendering again",
                                spec.name, exc)
                else:
                    if pcm in seen:
                        return pcm
                    if seen:
                        log.warning(
                            "prompt %s: renders differ (%s s); rendering again", spec.name,
                            ", ".join(f"{len(p) / 16000:.2f}" for p in [*seen, pcm]),
                        )
                    seen.append(pcm)
                if not pending and started < RENDER_ATTEMPTS:
                    pending.append(pool.submit(self._render_once, spec, voice_id))
                    started += 1
        lengths = ", ".join(f"{len(p) / 16000:.2f} s" for p in seen) or "none"
        why = f"; failed: {'; '.join(failures)}" if failures else ""
        raise TtsError(
            f"prompt {spec.name!r} cannot be rendered completely: no two of "
            f"{RENDER_ATTEMPTS} renders agree (lengths {lengths}{why}); nothing cached"
        )

    def _render(self, spec: PromptText, voice_id: str, key: str) -> bytes:
        pcm = self._agreed_render(spec, voice_id)
        self.renders += 1
        path = self._path(key)
        tmp_path = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp_path.write_bytes(pcm)
            os.replace(tmp_path, path)
        except OSError as exc:  # a read-only cache costs a render per start, nothing more
            log.warning("prompt cache %s not written (%s)", path, exc)
        log.info(
            "rendered prompt %s (%s, %.2f s audio)", spec.name, voice_id, len(pcm) / 16000
        )
        return pcm
