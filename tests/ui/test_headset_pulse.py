"""The headset through a real sound server: PulseAudio null sinks, PortAudio's "pulse" device.

The caller's 600 Hz reaches the earpiece sink (recorded from its monitor with parec) and a
1 kHz tone played into the microphone sink reaches the call (what the bridge sent). Then the
"no headset" paths with the same real server: a device name that is not there, and no server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.ui.soundserver import SoundServer, tone_power

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "lab"))
from labpcap import tone_pcm16

ROOT = Path(__file__).resolve().parents[2]


def _driver(sound: SoundServer, seconds: float, longest: float = 0.0) -> subprocess.Popen[str]:
    """The bridge in its own process for `seconds`, or (with `longest`) until told on stdin."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ui.headset_pulse_driver", str(seconds),
         str(max(seconds, longest))],
        cwd=ROOT, env={**os.environ, **sound.env}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_caller_reaches_the_earpiece_and_the_microphone_reaches_the_caller(
    sound: SoundServer,
) -> None:
    mic = sound.play("mic", tone_pcm16(1000.0, 30.0, amplitude=8000))  # killed below
    # The bridge runs 4 s at least, and on until the earpiece has been recorded (parec can
    # take seconds to connect on a loaded machine), at most 20 s.
    driver = _driver(sound, 4.0, longest=20.0)
    try:
        assert driver.stdout is not None
        first = driver.stdout.readline().strip()
        assert first == "ready", f"{first} {driver.stderr.read() if driver.stderr else ''}"
        heard = sound.record_until_tone("earpiece.monitor", 600.0)
        out, _err = driver.communicate("stop\n", timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(5)
        mic.kill()
        mic.wait(5)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["state"] == "ready" and "pulse" in result["device"]
    assert not result["failed"], result
    # About 4 s of 20 ms callbacks; PortAudio over ALSA may group them, so count loosely.
    assert result["frames_played"] >= 50, result
    assert len(heard) >= 8000 * 2, f"parec recorded {len(heard)} bytes"
    assert tone_power(heard, 600.0) > 0.5, "the caller's 600 Hz is not in the earpiece"
    assert result["mic_bytes"] >= 8000 * 2 * 2, result
    assert result["mic_1k_share"] >= 0.6, f"the microphone's 1 kHz did not reach the call: {result}"
    assert result["mic_600"] < 0.1, result  # no echo of the caller into the microphone


def test_a_missing_device_name_is_no_headset_with_the_devices_named(
    sound: SoundServer,
) -> None:
    code = (
        "from console.headset import Headset\n"
        "s = Headset(wanted='Jabra').probe()\n"
        "print(s.state.value); print(s.detail)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **sound.env}, timeout=30)
    state, detail = done.stdout.strip().splitlines()[:2]
    assert state == "no_headset"
    assert "'Jabra' not found" in detail and "pulse" in detail


def test_the_server_gone_mid_call_mutes_nothing_else(sound: SoundServer) -> None:
    """The sound server dies while the bridge runs: the driver still ends cleanly."""
    driver = _driver(sound, 2.0)
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == "ready"
        sound.stop()
        out, err = driver.communicate(timeout=20)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(5)
    assert driver.returncode == 0, err[-800:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["state"] == "ready"
