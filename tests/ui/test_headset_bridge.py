"""The headset bridge with an injected duplex stream, frame by frame (the same bridge over a
real PulseAudio server is in test_headset_pulse.py).

The stream fake calls the bridge's callback the way PortAudio does, 20 ms at a time, so the
test checks what reaches the earpiece and what is sent to the caller, frame by frame.
"""

from __future__ import annotations

import pytest

from console.headset import (
    FRAME_BYTES,
    STALL_SECONDS,
    START_GRACE_SECONDS,
    AudioDevice,
    HeadsetBridge,
    HeadsetError,
    sounddevice_stream,
)
from tests.ui.fake_streams import FakeStream

DEVICE = AudioDevice(3, "Jabra USB Headset", inputs=1, outputs=2, default_samplerate=16000.0)


class FakeChannel:
    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.sent: list[bytes] = []
        self.gone = False

    def read_audio(self, max_frames: int) -> bytes:
        if self.gone:
            raise RuntimeError("call ended")
        taken, self.frames = self.frames[:max_frames], self.frames[max_frames:]
        return b"".join(taken)

    def write_audio(self, pcm16: bytes) -> None:
        self.sent.append(pcm16)


def _bridge(
    channel: FakeChannel, clock: list[float] | None = None
) -> tuple[HeadsetBridge, list[FakeStream]]:
    made: list[FakeStream] = []

    def factory(device, callback):  # type: ignore[no-untyped-def]
        assert device is DEVICE
        made.append(FakeStream(callback))
        return made[-1]

    if clock is None:
        return HeadsetBridge(DEVICE, channel, factory), made
    return HeadsetBridge(DEVICE, channel, factory, clock=lambda: clock[0]), made


def test_caller_audio_reaches_the_earpiece_and_the_mic_the_caller() -> None:
    caller = [bytes([i]) * FRAME_BYTES for i in (1, 2)]
    channel = FakeChannel(list(caller))
    bridge, made = _bridge(channel)
    bridge.start()
    bridge.start()  # idempotent: one stream
    assert len(made) == 1 and made[0].started
    mic = b"\x07" * FRAME_BYTES
    assert made[0].tick(mic) == caller[0]
    assert made[0].tick(mic) == caller[1]
    assert made[0].tick(mic) == b"\x00" * FRAME_BYTES  # nothing received: silence
    assert channel.sent == [mic, mic, mic]
    assert (bridge.frames_played, bridge.underruns) == (3, 1)
    bridge.stop()
    assert made[0].stopped and made[0].closed and not bridge.running


def test_short_caller_audio_is_padded_never_stale() -> None:
    channel = FakeChannel([b"\x05" * 100])
    bridge, made = _bridge(channel)
    bridge.start()
    out = made[0].tick(b"")
    assert out == b"\x05" * 100 + b"\x00" * (FRAME_BYTES - 100)
    assert channel.sent == []  # no microphone data, nothing sent


def test_a_channel_failure_mutes_the_bridge_without_raising() -> None:
    channel = FakeChannel([b"\x01" * FRAME_BYTES])
    bridge, made = _bridge(channel)
    bridge.start()
    channel.gone = True
    assert made[0].tick(b"\x02" * FRAME_BYTES) == b"\x00" * FRAME_BYTES
    assert "call ended" in bridge.failed
    assert made[0].tick(b"\x02" * FRAME_BYTES) == b"\x00" * FRAME_BYTES  # stays muted


def test_a_stream_that_stops_calling_back_is_reopened_and_carries_on() -> None:
    """PortAudio through PulseAudio stalled ~1.9 s, or for good, after an underrun on a busy
    PC; the bridge closes such a stream and opens a new one, so the caller hears the agent."""
    clock = [100.0]
    channel = FakeChannel([b"\x01" * FRAME_BYTES] * 3)
    bridge, made = _bridge(channel, clock)
    bridge.start()
    clock[0] += START_GRACE_SECONDS  # a new stream is given time for its first callback
    assert not bridge.stalled()
    made[0].tick(b"\x02" * FRAME_BYTES)
    clock[0] += 0.02
    made[0].tick(b"\x02" * FRAME_BYTES)
    clock[0] += STALL_SECONDS / 2
    assert not bridge.stalled() and not bridge.reopen(), "a short wait is no stall"
    clock[0] += STALL_SECONDS
    assert bridge.stalled()
    assert bridge.reopen()
    assert made[0].closed and not made[0].stopped, "closed (a stop would wait on it)"
    assert len(made) == 2 and made[1].started and bridge.running and bridge.reopens == 1
    assert not bridge.stalled() and not bridge.reopen(), "the new stream has its grace"
    assert made[1].tick(b"\x03" * FRAME_BYTES) == b"\x01" * FRAME_BYTES
    assert channel.sent[-1] == b"\x03" * FRAME_BYTES
    assert bridge.late_callbacks == 0, "the reopen's own wait is not a late callback"
    bridge.stop()
    assert made[1].closed and not bridge.running
    clock[0] += 10
    assert not bridge.stalled() and not bridge.reopen(), "a stopped bridge is never reopened"
    assert len(made) == 2


def test_a_stream_that_never_calls_back_is_reopened_after_its_grace() -> None:
    clock = [0.0]
    bridge, made = _bridge(FakeChannel([]), clock)
    bridge.start()
    clock[0] += START_GRACE_SECONDS + STALL_SECONDS + 0.01
    assert bridge.stalled() and bridge.reopen() and len(made) == 2


def test_a_call_ending_while_the_stalled_stream_closes_opens_nothing() -> None:
    clock = [0.0]
    made: list[FakeStream] = []
    bridge: HeadsetBridge

    class SlowToClose(FakeStream):
        def close(self) -> None:
            bridge.stop()  # the call ends (its own worker) while this close is under way
            super().close()

    def factory(device, callback):  # type: ignore[no-untyped-def]
        made.append(SlowToClose(callback) if not made else FakeStream(callback))
        return made[-1]

    bridge = HeadsetBridge(DEVICE, FakeChannel([]), factory, clock=lambda: clock[0])
    bridge.start()
    clock[0] += START_GRACE_SECONDS + STALL_SECONDS + 0.01
    assert not bridge.reopen()
    assert len(made) == 1 and made[0].closed and not bridge.running


def test_real_portaudio_refuses_a_missing_device_with_a_titled_error() -> None:
    missing = AudioDevice(97, "not here", inputs=1, outputs=1, default_samplerate=8000.0)
    with pytest.raises(HeadsetError) as err:
        sounddevice_stream(missing, lambda mic, out, frames: None)
    assert err.value.title == "Headset" and "not here" in str(err.value)


class AudioCall:
    """A line call that offers its audio (what `sip.api.Call` would need to add)."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.caller_number = "13800000001"
        self.caller_name = "王先生"
        self.channel = FakeChannel([b"\x03" * FRAME_BYTES])

    def read_audio(self, max_frames: int) -> bytes:
        return self.channel.read_audio(max_frames)

    def write_audio(self, pcm16: bytes) -> None:
        self.channel.write_audio(pcm16)


def _seat_with_headset(build, line):  # type: ignore[no-untyped-def]
    """A seat whose headset streams are fakes the test drives, and a line call with audio."""
    from console.headset import Headset
    from tests.ui.fakes import HEADSET, FakeAudio

    streams: list[FakeStream] = []

    def factory(device, callback):  # type: ignore[no-untyped-def]
        streams.append(FakeStream(callback))
        return streams[-1]

    call = AudioCall("c1")
    line.sip_calls.append(call)
    app = build(headset=Headset(FakeAudio([HEADSET], 0), stream_factory=factory))
    return app, call, streams


async def _answer_bridged(pilot, app, flow, clock, streams) -> None:  # type: ignore[no-untyped-def]
    from tests.ui.helpers import login, ring, screen_name, screen_text, until

    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen")
    ring(flow, "c1", "13800000001", clock.now())
    await until(pilot, lambda: "王先生" in screen_text(app), "caller name from the line")
    await pilot.press("enter")
    await until(pilot, lambda: bool(streams) and streams[0].started, "headset bridged")


async def test_answering_bridges_the_headset_and_the_end_unbridges(
    build, flow, clock, line
) -> None:
    from console.callflow.events import CallFinished, CallStep
    from tests.ui.helpers import until

    app, call, streams = _seat_with_headset(build, line)
    async with app.run_test(size=(150, 45)) as pilot:
        await _answer_bridged(pilot, app, flow, clock, streams)
        assert streams[0].tick(b"\x09" * FRAME_BYTES) == b"\x03" * FRAME_BYTES
        assert call.channel.sent == [b"\x09" * FRAME_BYTES]
        flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        # Every stream, not the first: on a loaded machine the seat's headset watch may have
        # found the first one stalled (no tick since) and reopened it before the end came,
        # which closed streams[0] without unbridging anything (ci19).
        await until(pilot, lambda: app.bridges == {} and all(s.closed for s in streams),
                    "unbridged at the end")
        assert not app.headset_watched


async def test_the_seat_reopens_a_headset_stream_that_stalled_mid_call(
    build, flow, clock, line
) -> None:
    """The seat watches its bridges: a stream that stops calling back (as PortAudio did
    after an underrun) is replaced within a second or two, and the call goes on with it."""
    from tests.ui.helpers import until

    app, call, streams = _seat_with_headset(build, line)
    async with app.run_test(size=(150, 45)) as pilot:
        await _answer_bridged(pilot, app, flow, clock, streams)
        streams[0].tick(b"\x09" * FRAME_BYTES)  # then nothing more: the stream has stalled
        await until(pilot, lambda: len(streams) == 2 and streams[1].started, "stream reopened")
        assert streams[0].closed and app.bridges["c1"].reopens == 1
        streams[1].tick(b"\x0a" * FRAME_BYTES)
        assert call.channel.sent == [b"\x09" * FRAME_BYTES, b"\x0a" * FRAME_BYTES]
