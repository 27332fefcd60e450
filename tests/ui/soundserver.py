"""A real PulseAudio server for the headset tests: two null sinks stand in for the headset.

`earpiece` is the sink the console plays the caller into (its `.monitor` source is what
the agent would hear); `mic` is a sink the test plays into, and its monitor is the default
source, so PortAudio's "pulse" device records it as the agent's microphone. The server runs
as this user with its own runtime directory, no autospawn and no network modules, and is
stopped by pid.
"""

from __future__ import annotations

import math
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

_SINK = "load-module module-null-sink sink_name={0} rate=8000 channels=1"
DEFAULT_PA = "\n".join([
    _SINK.format("earpiece"),
    _SINK.format("mic"),
    "load-module module-native-protocol-unix",
    "set-default-sink earpiece",
    "set-default-source mic.monitor",
    "",
])


class SoundServer:
    """PulseAudio with null sinks; `env` points clients (PortAudio via ALSA, pacat) at it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runtime = root / "run"
        self.home = root / "home"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "pulseaudio.log"
        self._plays = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            "XDG_RUNTIME_DIR": str(self.runtime),
            "HOME": str(self.home),
            "PULSE_SERVER": f"unix:{self.runtime / 'pulse' / 'native'}",
        }

    def start(self, timeout: float = 10.0) -> SoundServer:
        exe = shutil.which("pulseaudio")
        if exe is None:
            raise RuntimeError("pulseaudio is not installed: run ./scripts/setup")
        self.runtime.mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.root / "default.pa"
        config.write_text(DEFAULT_PA, encoding="utf-8")
        env = {**os.environ, **self.env}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [exe, "-n", "-F", str(config), "--daemonize=no", "--exit-idle-time=-1",
                 "--disallow-exit", "--disable-shm=yes", "--log-target=stderr"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {self.log.read_text()[-800:]}")
            done = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5)
            if done.returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pulseaudio did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def record(self, source: str, seconds: float, timeout: float = 15.0) -> bytes:
        """`seconds` of 8 kHz mono s16le from `source` (parec), counted from the first byte:
        parec may need a while to connect on a loaded machine; bounded by `timeout`."""
        env = {**os.environ, **self.env}
        proc = subprocess.Popen(
            ["parec", f"--device={source}", "--rate=8000", "--channels=1", "--format=s16le",
             "--raw", "--latency-msec=20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        wanted = int(seconds * 8000) * 2
        chunks: list[bytes] = []
        got = 0
        deadline = time.monotonic() + timeout
        try:
            while got < wanted and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(proc.stdout.fileno(), wanted - got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        finally:
            proc.terminate()
            proc.communicate(timeout=5)
        return b"".join(chunks)

    def record_until_tone(
        self, source: str, freq_hz: float, window: float = 1.5, within: float = 12.0
    ) -> bytes:
        """`window` s recordings of `source` until one carries `freq_hz` (bounded, `within`).

        What a console starts into a fresh sink (a stream in a worker, PortAudio on a loaded
        machine) may take seconds to come through; the last window is returned either way.
        """
        heard = b""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            heard = self.record(source, window)
            if len(heard) >= 8000 * 2 and tone_power(heard, freq_hz) > 0.5:
                break
        return heard

    def play(self, sink: str, pcm16: bytes) -> subprocess.Popen[bytes]:
        """Play 8 kHz mono s16le into `sink` (pacat); the caller waits for or kills it.

        Returns as soon as pacat runs: pacat reads the audio from a file at its own pace.
        (Writing it into pacat's stdin pipe blocked until all but a pipe's worth, 64 KiB or
        4 s, had been played, so a "10 s" tone had 4 s left when the test went on, and on
        a loaded machine what the test then started could find the tone over.)
        """
        self._plays += 1
        audio = self.root / f"play-{self._plays}.raw"
        audio.write_bytes(pcm16)
        env = {**os.environ, **self.env}
        with audio.open("rb") as source:
            return subprocess.Popen(
                ["pacat", "--playback", f"--device={sink}", "--rate=8000", "--channels=1",
                 "--format=s16le", "--raw", "--latency-msec=20"],
                env=env, stdin=source, stderr=subprocess.DEVNULL,
            )


def tone_power(pcm16: bytes, freq_hz: float, rate: int = 8000) -> float:
    """Goertzel power of `freq_hz` relative to the signal's energy (1.0: a pure tone)."""
    n = len(pcm16) // 2
    if n == 0:
        return 0.0
    samples = memoryview(pcm16[: n * 2]).cast("h")
    coeff = 2 * math.cos(2 * math.pi * freq_hz / rate)
    s1 = s2 = 0.0
    energy = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
        energy += float(x) * x
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 0.0 if energy == 0 else (2 * power / n) / energy


def tone_share(pcm16: bytes, freq_hz: float, block_s: float = 0.25, rate: int = 8000) -> float:
    """Share of `block_s` blocks of audio (whole blocks only) in which `freq_hz` dominates.

    A loaded machine makes PortAudio's stream skip now and then; each skip breaks the tone's
    phase, and a Goertzel over seconds then sees less of the tone than was sent. Judged
    block by block, a tone that is there stays there; silence or another tone does not.
    """
    size = int(block_s * rate) * 2
    blocks = [pcm16[i:i + size] for i in range(0, len(pcm16) - size + 1, size)]
    if not blocks:
        return 0.0
    return sum(tone_power(b, freq_hz, rate) > 0.5 for b in blocks) / len(blocks)
