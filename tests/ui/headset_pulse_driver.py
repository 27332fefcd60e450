"""Run the console's headset bridge on the real PulseAudio device, in its own process.

Its own process because PortAudio lists devices once per process (at import), and the
sound server of the test starts after other tests may have imported `sounddevice`.
The caller side is a 600 Hz tone served 20 ms at a time, as the line's `read_audio` does;
what the microphone sends is kept and its 1 kHz power reported. Prints "ready" once the
stream runs, then one JSON line when done.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from console.headset import FRAME_BYTES, Headset, HeadsetBridge, HeadsetState
from tests.ui.soundserver import tone_power

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
    headset = Headset(wanted="pulse")
    status = headset.probe()
    if status.state is not HeadsetState.READY or status.device is None:
        print(json.dumps({"state": status.state.value, "detail": status.detail}), flush=True)
        return 1
    channel = ToneChannel(seconds + 2.0)
    bridge = HeadsetBridge(status.device, channel)
    bridge.start()
    print("ready", flush=True)
    time.sleep(seconds)
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
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
