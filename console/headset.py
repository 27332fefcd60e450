"""The agent's headset: which PortAudio device carries the call, or a clear "no headset".

The console must run on a machine with no audio device at all (prompts, survey,
forwarding and the record still work), so the device is looked up once, failures become
a state the seat screen shows, and `sounddevice` (which needs libportaudio2) is imported
lazily through a small backend protocol that tests replace with an injected device list.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
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

    def __init__(self, backend: AudioBackend | None = None, wanted: str | None = None) -> None:
        self.backend: AudioBackend = backend or SoundDeviceBackend()
        self.wanted = wanted
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
