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
import time
import wave
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
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
        output_factory: OutputFactory | None = None,
    ) -> None:
        self.backend: AudioBackend = backend or SoundDeviceBackend()
        self.wanted = wanted
        self.stream_factory = stream_factory
        """Opens the duplex stream of a call (PortAudio unless a test injects one)."""
        self.output_factory = output_factory
        """Opens the earpiece-only stream of a recording's playback (PortAudio by default)."""
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

    def play_file(self, path: str | Path, on_done: Callable[[], None] | None = None) -> Playback:
        """Play a recorded WAV file to the earpiece (blocking start: call it from a worker).

        `HeadsetError` when there is no headset (its detail says why), `RecordingUnreadable`
        when the file is missing, unreadable or not a 16-bit PCM WAV; `on_done` is called
        once, on the audio thread, when the file has been played to its end.
        """
        status = self.status
        if status.state is not HeadsetState.READY or status.device is None:
            raise HeadsetError(
                f"no headset to play the recording on ({status.detail or status.state.value})"
            )
        playback = Playback(status.device, Path(path), self.output_factory, on_done)
        try:
            playback.start()
        except BaseException:
            playback.stop()
            raise
        return playback

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
STREAM_LATENCY = 0.1
"""Seconds PortAudio buffers each way. Its "low" default (a few ms) let a loaded PC miss
the earpiece's deadline: an output underflow, after which ALSA's recovery (through the
PulseAudio plugin) stalled the duplex stream ~1.9 s, microphone included, or for good. At
100 ms underflows are rare; what still stalls, `STALL_SECONDS` reopens."""
STALL_SECONDS = 0.3
"""A running stream with no callback for this long has stalled: it is closed and reopened
(PortAudio calls back every 20 ms; the longest wait seen on a loaded machine was 97 ms)."""
START_GRACE_SECONDS = 1.5
"""A new stream's first callback may take this much longer (opening PortAudio through
PulseAudio took over half a second on a loaded machine): reopening it sooner only starts
the wait again."""


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
            latency=STREAM_LATENCY,
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.channel = channel
        self._factory = stream_factory or sounddevice_stream
        self._clock = clock
        self._stream: DuplexStream | None = None
        self._lock = threading.Lock()
        self._reopening = False
        self._stopped = False
        self.frames_played = 0
        self.frames_sent = 0
        self.underruns = 0
        self.late_callbacks = 0
        """Callbacks that came over 100 ms after the one before (the device or the OS stalled)."""
        self.longest_wait = 0.0
        self.reopens = 0
        """Times a stalled stream was closed and opened again."""
        self._last_callback: float | None = None
        self._alive_at = 0.0
        """When the stream last showed life (opened or called back): the stall watch's mark."""
        self.failed = ""

    def start(self) -> None:
        with self._lock:
            if self._stream is None:
                # a stream that never calls back stalls too, after its grace
                self._alive_at = self._clock() + START_GRACE_SECONDS
                self._stream = self._factory(self.device, self._on_audio)
                self._stream.start()

    def stalled(self) -> bool:
        """True when the running stream has not called back for `STALL_SECONDS`."""
        with self._lock:
            if self._stream is None or self._reopening:
                return False
            return self._clock() - self._alive_at > STALL_SECONDS

    def reopen(self) -> bool:
        """Close a stalled stream and open a new one (blocking: from a worker).

        Close, not stop: stopping waits for buffers the stalled stream will never drain.
        False when it was not stalled (any more) or the bridge was stopped meanwhile.
        """
        with self._lock:
            if self._stream is None or self._reopening or self._stopped:
                return False
            waited = self._clock() - self._alive_at
            if waited <= STALL_SECONDS:
                return False
            self._reopening = True
            old, self._stream = self._stream, None
        try:
            try:
                old.close()
            except Exception as exc:  # a stream in trouble may refuse its close too
                log.warning("headset: closing the stalled stream failed: %s", exc)
            with self._lock:
                if self._stopped:  # the call ended while the old stream closed
                    return False
                self._alive_at = self._clock() + START_GRACE_SECONDS
                self._last_callback = None  # the reopen's own wait is not a late callback
                stream = self._factory(self.device, self._on_audio)
                stream.start()
                self._stream = stream
                self.reopens += 1
            log.warning("headset stream stalled for %.0f ms; reopened (%d so far)",
                        waited * 1000, self.reopens)
            return True
        finally:
            with self._lock:
                self._reopening = False

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
            log.info("headset bridge stopped: %d frames played, %d sent, %d underruns, "
                     "%d late callbacks, longest wait %.0f ms, %d reopens", self.frames_played,
                     self.frames_sent, self.underruns, self.late_callbacks,
                     self.longest_wait * 1000, self.reopens)

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _on_audio(self, mic: bytes, out: bytearray | memoryview, frames: int) -> None:
        now = self._clock()
        if self._last_callback is not None:
            wait = now - self._last_callback
            self.longest_wait = max(self.longest_wait, wait)
            if wait > 0.1:
                self.late_callbacks += 1
        self._last_callback = self._alive_at = now
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


# ---------------------------------------------------------------- recordings


class RecordingUnreadable(HeadsetError):
    """A call recording cannot be played: missing, unreadable, or not a WAV we can play."""

    title = "录音无法播放 Recording"


OutputCallback = Callable[[bytearray | memoryview, int], None]
"""(earpiece output buffer to fill, frames)"""
OutputFactory = Callable[[AudioDevice, int, int, OutputCallback], DuplexStream]
"""(device, sample rate, channels, callback) → a started-on-demand output stream."""


def sounddevice_output(
    device: AudioDevice, rate: int, channels: int, callback: OutputCallback
) -> DuplexStream:
    """An output-only int16 PortAudio stream on `device` (HeadsetError if refused)."""
    sd = SoundDeviceBackend()._sd()

    def on_audio(outdata: Any, frames: int, time: Any, status: Any) -> None:
        if status:
            log.debug("playback stream status: %s", status)
        callback(outdata, frames)

    try:
        stream: DuplexStream = sd.RawOutputStream(
            samplerate=rate,
            blocksize=max(1, rate // 50),
            device=device.index,
            channels=channels,
            dtype="int16",
            callback=on_audio,
        )
    except Exception as exc:  # PortAudioError: unsupported rate, device busy
        raise HeadsetError(f"{device.name}: cannot play {rate} Hz audio: {exc}") from exc
    return stream


def open_wav(path: Path) -> wave.Wave_read:
    """The recording opened for reading; `RecordingUnreadable` names what is wrong."""
    try:
        reader = wave.open(str(path), "rb")
    except FileNotFoundError:
        raise RecordingUnreadable(
            f"{path}: file not found (moved, archived or never written?)"
        ) from None
    except IsADirectoryError:
        raise RecordingUnreadable(f"{path}: is a directory, not a recording") from None
    except OSError as exc:
        raise RecordingUnreadable(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except (wave.Error, EOFError, ValueError) as exc:
        raise RecordingUnreadable(f"{path}: not a playable WAV file ({exc or 'empty'})") from None
    width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
    problem = ""
    if width != 2:
        problem = f"{8 * width}-bit samples (the console plays 16-bit PCM)"
    elif channels not in (1, 2):
        problem = f"{channels} channels (the console plays mono or stereo)"
    elif not 4000 <= rate <= 48000:
        problem = f"sample rate {rate} Hz (4000–48000 expected)"
    elif reader.getnframes() == 0:
        problem = "holds no audio"
    if problem:
        reader.close()
        raise RecordingUnreadable(f"{path}: {problem}")
    return reader


def _downmix(stereo: bytes) -> bytes:
    """Interleaved 16-bit stereo → mono (the mean of both channels)."""
    samples = array("h", stereo[: len(stereo) // 4 * 4])
    left, right = samples[0::2], samples[1::2]
    return array("h", ((a + b) // 2 for a, b in zip(left, right, strict=True))).tobytes()


class Playback:
    """One recording playing to the earpiece; `stop()` from any thread, any time, twice.

    The file is read block by block on the audio thread (a call's recording can be long);
    a stereo recording (caller left, console right) stays stereo on a stereo earpiece and is
    mixed down on a mono one. Past the end the earpiece gets silence and `on_done` runs once.
    """

    def __init__(
        self,
        device: AudioDevice,
        path: Path,
        factory: OutputFactory | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self._wav: wave.Wave_read | None = open_wav(path)
        self.rate = self._wav.getframerate()
        self.file_channels = self._wav.getnchannels()
        self.channels = 1 if device.outputs < self.file_channels else self.file_channels
        self.total_frames = self._wav.getnframes()
        self.frames_played = 0
        self.finished = False
        self._on_done = on_done
        self._lock = threading.Lock()
        self._stream: DuplexStream | None = None
        try:
            self._stream = (factory or sounddevice_output)(
                device, self.rate, self.channels, self._on_audio
            )
        except BaseException:
            self._close_file()
            raise

    @property
    def seconds(self) -> float:
        """Length of the recording."""
        return self.total_frames / self.rate

    @property
    def position(self) -> float:
        """Seconds played so far."""
        return self.frames_played / self.rate

    @property
    def running(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        stream = self._stream
        if stream is None:
            raise HeadsetError(f"{self.path.name}: playback was stopped")
        stream.start()

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        try:
            if stream is not None:
                try:
                    stream.stop()
                finally:
                    stream.close()
        finally:
            self._close_file()

    def _close_file(self) -> None:
        with self._lock:
            wav, self._wav = self._wav, None
        if wav is not None:
            wav.close()

    def _on_audio(self, out: bytearray | memoryview, frames: int) -> None:
        wanted = frames * self.channels * 2
        data = b""
        with self._lock:
            if self._wav is not None and not self.finished:
                try:
                    data = self._wav.readframes(frames)
                except (OSError, EOFError, wave.Error) as exc:  # the file went away mid-play
                    log.warning("playback of %s cut short: %s", self.path, exc)
                    data = b""
        if data and self.channels < self.file_channels:
            data = _downmix(data)
        self.frames_played += len(data) // (2 * self.channels)
        done = len(data) < wanted and not self.finished
        if len(data) < wanted:
            data = data + b"\x00" * (wanted - len(data))
        out[:wanted] = data[:wanted]
        if done:
            self.finished = True
            if self._on_done is not None:
                try:
                    self._on_done()
                except Exception:  # never let the UI's hook kill the audio thread
                    log.exception("playback on_done failed")
