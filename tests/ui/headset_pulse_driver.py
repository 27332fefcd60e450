"""Run the console's headset bridge on the real PulseAudio device, in its own process.

Its own process because PortAudio lists devices once per process (at import), and the
sound server of the test starts after other tests may have imported `sounddevice`.
The caller side is a 600 Hz tone served 20 ms at a time, as the line's `read_audio` does;
what the microphone sends is kept and its 1 kHz power reported. Prints "ready" once the
stream runs, then one JSON line when done.

`driver SECONDS` runs the bridge for SECONDS; `driver SECONDS MAX` runs it at least SECONDS
and then until a line (or end of file) on stdin, at most MAX: the test says when it has
heard enough, so a loaded machine's slow recorder start never finds the bridge gone.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from console.headset import FRAME_BYTES, Headset, HeadsetBridge, HeadsetState
from tests.ui.soundserver import tone_power, tone_share

sys.path.insert(0, "scripts/lab")
from labpcap import tone_pcm16


class ToneChannel:
    """The call's side of the bridge: a caller saying 600 Hz, and what the agent says."""

    def __init__(self, seconds: float) -> None:
        self.audio = tone_pcm16(600.0, seconds, amplitude=8000)
        self.pos = 0
        self.sent = bytearray()
        self.lock = threading.Lock()

    def read_audio(self, max_frames: int) -> bytes:
        with self.lock:
            chunk = self.audio[self.pos:self.pos + max_frames * FRAME_BYTES]
            self.pos += len(chunk)
            return chunk

    def write_audio(self, pcm16: bytes) -> None:
        with self.lock:
            self.sent += pcm16


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    longest = float(sys.argv[2]) if len(sys.argv) > 2 else seconds
    told = threading.Event()
    if longest > seconds:
        threading.Thread(target=lambda: (sys.stdin.readline(), told.set()), daemon=True).start()
    headset = Headset(wanted="pulse")
    status = headset.probe()
    if status.state is not HeadsetState.READY or status.device is None:
        print(json.dumps({"state": status.state.value, "detail": status.detail}), flush=True)
        return 1
    channel = ToneChannel(longest + 2.0)
    bridge = HeadsetBridge(status.device, channel)
    bridge.start()
    print("ready", flush=True)
    started = time.monotonic()
    time.sleep(seconds)
    told.wait(max(0.0, longest - (time.monotonic() - started)))
    # PortAudio over ALSA's pulse plugin can start slowly on a loaded machine: go on until
    # `seconds` of microphone audio have been sent, still within `longest`.
    while len(channel.sent) < seconds * 8000 * 2 and time.monotonic() - started < longest:
        time.sleep(0.1)
    bridge.stop()
    sent = bytes(channel.sent)
    tail = sent[len(sent) // 2:]  # past the stream's start-up
    print(json.dumps({
        "state": status.state.value,
        "device": status.device.name,
        "frames_played": bridge.frames_played,
        "frames_sent": bridge.frames_sent,
        "underruns": bridge.underruns,
        "failed": bridge.failed,
        "mic_bytes": len(sent),
        "mic_1k": tone_power(tail, 1000.0),
        "mic_600": tone_power(tail, 600.0),
        "mic_1k_share": tone_share(tail, 1000.0),
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
