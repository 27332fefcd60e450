"""Recording playback from the call detail: through the (injected) headset, stop, bad files."""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from console.app import DutyConsoleApp
from console.headset import (
    AudioDevice,
    Headset,
    OutputCallback,
    Playback,
    RecordingUnreadable,
)
from console.screens.supervisor.detail import CallDetailScreen
from console.store import CallOutcome, DutyRecord
from console.ui.texts import text
from tests.ui.conftest import START
from tests.ui.fake_streams import FakeOutput
from tests.ui.fakes import HEADSET, FakeAudio
from tests.ui.helpers import login, screen_name, screen_text, until
from tests.ui.supervisor.conftest import SUPERVISOR

Build = Callable[..., DutyConsoleApp]
FRAMES = 400
"""Frames in the test recording (50 ms at 8 kHz)."""


def write_wav(path: Path, channels: int = 2, width: int = 2, frames: int = FRAMES) -> bytes:
    """Caller left (1000 + i), console right (-2000); returns the PCM written."""
    if width == 2:
        samples = array("h")
        for i in range(frames):
            samples.extend([1000 + i, -2000] if channels == 2 else [1000 + i])
        pcm = samples.tobytes()
    else:
        pcm = bytes(range(256))[:frames] * channels
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(8000)
        w.writeframes(pcm)
    return pcm


def recorded_call(store: DutyRecord, recording: str | None) -> str:
    ring = START - dt.timedelta(hours=1)
    key = store.open_call("hotline", ring, caller_number="13900001111")
    store.seal_call(
        key,
        CallOutcome.ANSWERED,
        answered_at=ring + dt.timedelta(seconds=4),
        ended_at=ring + dt.timedelta(seconds=64),
        answered_by="1024",
        recording=recording,
    )
    return key


async def open_detail(pilot, app: DutyConsoleApp, key: str) -> CallDetailScreen:  # type: ignore[no-untyped-def]
    await login(pilot, *SUPERVISOR)
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "supervisor screen")
    screen = CallDetailScreen(key)
    app.push_screen(screen)
    await until(pilot, lambda: screen.detail is not None, "call detail")
    return screen


def headset_with(outputs: list[FakeOutput]) -> Headset:
    def factory(device: AudioDevice, rate: int, channels: int, cb: OutputCallback) -> FakeOutput:
        outputs.append(FakeOutput(device, rate, channels, cb))
        return outputs[-1]

    return Headset(FakeAudio([HEADSET], 0), output_factory=factory)


def status_of(screen: CallDetailScreen) -> str:
    return str(screen.query_one("#play-status").render())


async def test_f5_plays_the_recording_to_the_headset_until_its_end(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    pcm = write_wav(tmp_path / "call.wav")
    key = recorded_call(store, str(tmp_path / "call.wav"))
    outputs: list[FakeOutput] = []
    app = build(headset=headset_with(outputs))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_detail(pilot, app, key)
        await pilot.press("f5")
        await until(pilot, lambda: screen.playback is not None, "playing")
        (out,) = outputs
        assert out.started and (out.rate, out.channels) == (8000, 2)  # stereo stays stereo
        assert out.device == HEADSET
        first = await asyncio.to_thread(out.pull, 160)
        assert first == pcm[: 160 * 4]
        rest = await asyncio.to_thread(out.pull, 400)  # past the end: the rest, then silence
        assert rest == pcm[160 * 4 :] + bytes(160 * 4)
        await until(pilot, lambda: out.closed, "stream closed at the end")
        assert screen.playback is None
        assert text("rv.d.played") in status_of(screen)


async def test_f6_stops_midway_and_closing_the_detail_stops_too(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    write_wav(tmp_path / "call.wav")
    key = recorded_call(store, str(tmp_path / "call.wav"))
    outputs: list[FakeOutput] = []
    app = build(headset=headset_with(outputs))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_detail(pilot, app, key)
        await pilot.press("f5")
        await until(pilot, lambda: screen.playback is not None, "playing")
        await asyncio.to_thread(outputs[0].pull, 80)
        await pilot.press("f6")
        await until(pilot, lambda: outputs[0].closed, "stopped")
        assert outputs[0].stopped and screen.playback is None
        assert text("rv.d.stopped").split("{")[0] in status_of(screen)
        # Play again, then close the detail while it plays: the stream ends with it.
        await pilot.press("f5")
        await until(pilot, lambda: len(outputs) == 2 and screen.playback is not None, "again")
        await pilot.press("escape")
        await until(pilot, lambda: outputs[1].closed, "stopped by closing")
        assert screen_name(app) == "SupervisorScreen"


BAD_FILES: list[tuple[str, Callable[[Path], str], str]] = [
    ("missing", lambda d: str(d / "gone.wav"), "file not found"),
    (
        "garbage",
        lambda d: _write(d / "noise.wav", b"RIFF\x00\x00not a wave at all"),
        "not a playable",
    ),
    ("empty", lambda d: _write(d / "empty.wav", b""), "not a playable"),
    ("directory", lambda d: str(d), "is a directory"),
    ("8-bit", lambda d: _wav(d / "u8.wav", width=1), "8-bit samples"),
    ("no audio", lambda d: _wav(d / "none.wav", frames=0), "holds no audio"),
]


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _wav(path: Path, **kwargs: int) -> str:
    write_wav(path, **kwargs)
    return str(path)


@pytest.mark.parametrize(("name", "make", "why"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
async def test_a_bad_recording_is_a_titled_notification_and_nothing_breaks(
    build: Build,
    store: DutyRecord,
    tmp_path: Path,
    name: str,
    make: Callable[[Path], str],
    why: str,
) -> None:
    key = recorded_call(store, make(tmp_path))
    outputs: list[FakeOutput] = []
    app = build(headset=headset_with(outputs))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_detail(pilot, app, key)
        for _ in range(2):  # and again: the first failure left nothing behind
            app.clear_notifications()
            await pilot.press("f5")
            await until(pilot, lambda: bool(app._notifications), "notification")
            (note,) = app._notifications
            assert note.title == RecordingUnreadable.title and why in str(note.message)
            assert screen.playback is None and outputs == []
        assert app.screen is screen and why in status_of(screen)


async def test_without_a_headset_play_says_so(
    build: Build, store: DutyRecord, tmp_path: Path
) -> None:
    write_wav(tmp_path / "call.wav")
    key = recorded_call(store, str(tmp_path / "call.wav"))
    outputs: list[FakeOutput] = []
    no_headset = Headset(FakeAudio([]), output_factory=lambda *a: outputs.append(a))  # type: ignore[arg-type, func-returns-value]
    app = build(headset=no_headset)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_detail(pilot, app, key)
        await until(pilot, lambda: app.headset_status.detail != "looking", "headset looked up")
        app.clear_notifications()
        await pilot.press("f5")
        await until(pilot, lambda: text("headset.none") in screen_text(app), "no-headset notice")
        assert "no audio device" in screen_text(app)
        assert screen.playback is None and outputs == []


async def test_a_call_without_recording_has_nothing_to_play(
    build: Build, store: DutyRecord
) -> None:
    key = recorded_call(store, None)
    outputs: list[FakeOutput] = []
    app = build(headset=headset_with(outputs))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_detail(pilot, app, key)
        assert screen.query_one("#play-recording").disabled
        await pilot.press("f5")
        await until(pilot, lambda: text("rv.d.no_recording") in screen_text(app), "told")
        assert outputs == []


def test_a_mono_earpiece_gets_the_stereo_recording_mixed_down(tmp_path: Path) -> None:
    write_wav(tmp_path / "call.wav")
    mono = AudioDevice(3, "mono earpiece", inputs=1, outputs=1, default_samplerate=8000.0)
    outputs: list[FakeOutput] = []

    def factory(device: AudioDevice, rate: int, channels: int, cb: OutputCallback) -> FakeOutput:
        outputs.append(FakeOutput(device, rate, channels, cb))
        return outputs[-1]

    ended: list[bool] = []
    playback = Playback(mono, tmp_path / "call.wav", factory, on_done=lambda: ended.append(True))
    playback.start()
    (out,) = outputs
    assert out.channels == 1
    block = array("h", out.pull(10))
    assert list(block) == [(1000 + i - 2000) // 2 for i in range(10)]
    out.pull(FRAMES)
    assert ended == [True] and playback.finished and playback.position == FRAMES / 8000
    out.pull(10)
    assert ended == [True]  # once
    playback.stop()
    playback.stop()  # twice is fine
    assert out.closed
