"""Fake PortAudio streams for the headset tests: the test drives the callback itself.

`FakeStream` is the headset bridge's duplex stream (`tick`: one 20 ms frame of microphone in,
the earpiece frame out); `FakeOutput` is the playback's earpiece stream (`pull`: frames out,
as PortAudio's thread would take them). Both record start, stop and close.
"""

from __future__ import annotations

from console.headset import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    AudioDevice,
    OutputCallback,
    StreamCallback,
)


class _Stream:
    """start / stop / close, recorded as flags."""

    def __init__(self) -> None:
        self.started = self.stopped = self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


class FakeStream(_Stream):
    """The bridge's duplex stream: `callback(mic, out, frames)` as PortAudio calls it."""

    def __init__(self, callback: StreamCallback) -> None:
        super().__init__()
        self.callback = callback

    def tick(self, mic: bytes) -> bytes:
        out = bytearray(FRAME_BYTES)
        self.callback(mic, out, FRAME_SAMPLES)
        return bytes(out)


class FakeOutput(_Stream):
    """An earpiece stream the test pulls audio from, as PortAudio's thread would."""

    def __init__(self, device: AudioDevice, rate: int, channels: int, cb: OutputCallback) -> None:
        super().__init__()
        self.device, self.rate, self.channels, self.callback = device, rate, channels, cb

    def pull(self, frames: int) -> bytes:
        out = bytearray(frames * self.channels * 2)
        self.callback(out, frames)
        return bytes(out)
