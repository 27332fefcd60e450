"""The agent's headset: which PortAudio device carries the call, or a clear "no headset".

The console must run on a machine with no audio device at all (prompts, survey,
forwarding and the record still work), so the device is looked up once, failures become
a state the seat screen shows, and `sounddevice` (which needs libportaudio2) is imported
lazily through a small backend protocol that tests replace with an injected device list.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("console.headset")


class HeadsetError(Exception):
    """The audio device cannot be used; `title` is the notification headline."""

    title = "Headset"


class HeadsetState(enum.Enum):
    """What the seat screen shows about the headset."""

    READY = "ready"
    NO_HEADSET = "no_headset"
    """No device with both input and output (or the one configured is missing)."""
    ERROR = "error"
    """PortAudio itself failed (library missing, device busy)."""


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device as `sounddevice.query_devices()` describes it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_samplerate: float

    @property
    def duplex(self) -> bool:
        """A headset needs a microphone and an earpiece."""
        return self.inputs > 0 and self.outputs > 0


class AudioBackend(Protocol):
    """Lists devices; `SoundDeviceBackend` in the product, a list of devices in tests."""

    def devices(self) -> Sequence[AudioDevice]: ...
    def default_device(self) -> int | None: ...


class SoundDeviceBackend:
    """PortAudio through `sounddevice`, imported on first use."""

    def _sd(self) -> Any:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: libportaudio2 missing
            raise HeadsetError(f"PortAudio is not available: {exc}") from exc
        return sounddevice

    def devices(self) -> Sequence[AudioDevice]:
        sd = self._sd()
        try:
            raw = sd.query_devices()
        except Exception as exc:  # PortAudioError has no stable import path
            raise HeadsetError(f"PortAudio could not list devices: {exc}") from exc
        items: list[Mapping[str, Any]] = [raw] if isinstance(raw, Mapping) else list(raw)
        return [
            AudioDevice(
                index=int(d.get("index", i)),
                name=str(d.get("name", "")),
                inputs=int(d.get("max_input_channels", 0)),
                outputs=int(d.get("max_output_channels", 0)),
                default_samplerate=float(d.get("default_samplerate", 0.0)),
            )
            for i, d in enumerate(items)
        ]

    def default_device(self) -> int | None:
        sd = self._sd()
        try:
            value = sd.default.device
            index = value[1] if isinstance(value, list | tuple) else value
        except Exception:
            return None
        return int(index) if isinstance(index, int) and index >= 0 else None


@dataclass(frozen=True)
class HeadsetStatus:
    """The outcome of looking for the headset."""

    state: HeadsetState
    device: AudioDevice | None = None
    detail: str = ""


class Headset:
    """Chooses the headset device from the config (name, index, or the default)."""

    def __init__(
        self,
        backend: AudioBackend | None = None,
        wanted: str | None = None,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self.backend: AudioBackend = backend or SoundDeviceBackend()
        self.wanted = wanted
        self.stream_factory = stream_factory
        """Opens the duplex stream of a call (PortAudio unless a test injects one)."""
        self.status = HeadsetStatus(HeadsetState.NO_HEADSET, detail="not looked up yet")

    def probe(self) -> HeadsetStatus:
        """Look the device up (blocking: call it from a worker); never raises."""
        try:
            devices = list(self.backend.devices())
            self.status = self._choose(devices)
        except HeadsetError as exc:
            self.status = HeadsetStatus(HeadsetState.ERROR, detail=str(exc))
        log.info("headset: %s %s", self.status.state.value, self.status.detail)
        return self.status

    def _choose(self, devices: list[AudioDevice]) -> HeadsetStatus:
        duplex = [d for d in devices if d.duplex]
        if not devices:
            return HeadsetStatus(HeadsetState.NO_HEADSET, detail="no audio device on this machine")
        if self.wanted is not None and self.wanted.strip():
            wanted = self.wanted.strip()
            for device in devices:
                if (wanted.isdigit() and device.index == int(wanted)) or (
                    wanted.casefold() in device.name.casefold()
                ):
                    if not device.duplex:
                        return HeadsetStatus(
                            HeadsetState.NO_HEADSET,
                            device,
                            f"{device.name!r} has no microphone or no earpiece",
                        )
                    return HeadsetStatus(HeadsetState.READY, device, device.name)
            names = ", ".join(d.name for d in devices)
            return HeadsetStatus(
                HeadsetState.NO_HEADSET, detail=f"device {wanted!r} not found (have: {names})"
            )
        default = self.backend.default_device()
        for device in duplex:
            if device.index == default:
                return HeadsetStatus(HeadsetState.READY, device, device.name)
        if duplex:
            return HeadsetStatus(HeadsetState.READY, duplex[0], duplex[0].name)
        return HeadsetStatus(
            HeadsetState.NO_HEADSET, detail="no device with microphone and earpiece"
        )


# ---------------------------------------------------------------- the conversation


SAMPLE_RATE = 8000
"""The line's audio: 8 kHz mono signed 16-bit (as `sip.api.Prompt`)."""
FRAME_SAMPLES = 160
"""20 ms frames, one RTP packet each."""
FRAME_BYTES = FRAME_SAMPLES * 2


class AudioChannel(Protocol):
    """One call's audio as the headset sees it (the line's side of the bridge)."""

    def read_audio(self, max_frames: int) -> bytes:
        """Caller audio received so far (whole 20 ms frames, at most `max_frames`)."""
        ...

    def write_audio(self, pcm16: bytes) -> None:
        """Microphone audio to send to the caller."""
        ...


class DuplexStream(Protocol):
    """What the bridge needs of a PortAudio stream (`sounddevice.RawStream`)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


StreamCallback = Callable[[bytes, bytearray | memoryview, int], None]
"""(microphone input, earpiece output buffer to fill, frames)"""
StreamFactory = Callable[[AudioDevice, StreamCallback], DuplexStream]


def sounddevice_stream(device: AudioDevice, callback: StreamCallback) -> DuplexStream:
    """A full-duplex 8 kHz mono int16 PortAudio stream on `device` (HeadsetError if refused)."""
    sd = SoundDeviceBackend()._sd()

    def on_audio(indata: Any, outdata: Any, frames: int, time: Any, status: Any) -> None:
        if status:
            log.debug("headset stream status: %s", status)
        callback(bytes(indata), outdata, frames)

    try:
        stream: DuplexStream = sd.RawStream(
            samplerate=SAMPLE_RATE,
            blocksize=FRAME_SAMPLES,
            device=(device.index, device.index),
            channels=1,
            dtype="int16",
            callback=on_audio,
        )
    except Exception as exc:  # PortAudioError: unsupported rate, device busy
        raise HeadsetError(f"{device.name}: cannot open 8 kHz duplex audio: {exc}") from exc
    return stream


class HeadsetBridge:
    """Carries one call: caller audio to the earpiece, the microphone to the caller.

    PortAudio calls `_on_audio` on its own thread every 20 ms; missing caller audio is
    played as silence (never stale audio), and a failing channel only mutes the bridge.
    """

    def __init__(
        self,
        device: AudioDevice,
        channel: AudioChannel,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self.device = device
        self.channel = channel
        self._factory = stream_factory or sounddevice_stream
        self._stream: DuplexStream | None = None
        self._lock = threading.Lock()
        self.frames_played = 0
        self.frames_sent = 0
        self.underruns = 0
        self.failed = ""

    def start(self) -> None:
        with self._lock:
            if self._stream is None:
                self._stream = self._factory(self.device, self._on_audio)
                self._stream.start()

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _on_audio(self, mic: bytes, out: bytearray | memoryview, frames: int) -> None:
        wanted = frames * 2
        data = b""
        if not self.failed:
            try:
                data = self.channel.read_audio(max(1, frames // FRAME_SAMPLES))
                if mic:
                    self.channel.write_audio(mic[:wanted])
                    self.frames_sent += 1
            except Exception as exc:  # the call ended under us: mute, log once
                self.failed = str(exc) or type(exc).__name__
                log.warning("headset bridge muted: %s", self.failed)
        if len(data) < wanted:
            self.underruns += 1
            data = data + b"\x00" * (wanted - len(data))
        out[:wanted] = data[:wanted]
        self.frames_played += 1
