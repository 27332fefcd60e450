"""Call recording (WAV writer and the flow's use of it) and follow-up owners, with fakes.

The files are real WAVs on disk, read back with the standard `wave` module; the failures
are real too: ENOSPC from /dev/full, a directory path that is a file, a torn header left by
a process that died mid-call.
"""

from __future__ import annotations

import array
import math
import struct
import time
import wave
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pytest

from console.callflow import CallFlow, CallStep
from console.callflow.events import FollowUpOpened, RecordingAlarm, StepChanged
from console.callflow.recording import (
    FLUSH_FRAMES,
    FRAME_BYTES,
    HEADER_BYTES,
    JITTER_FRAMES,
    Recorder,
    Recording,
    RecordingError,
    interleave,
    read_header,
    wav_header,
)
from sip.api import AudioDirection, CallStateError
from tests.callflow.fakes import (
    EventLog,
    FakeCall,
    FakeLine,
    FixedStaffing,
    MemoryRecords,
    TinyPrompts,
)
from tests.callflow.test_flow import FAST

RX, TX = AudioDirection.RECEIVED, AudioDirection.SENT
AT = datetime(2026, 3, 2, 10, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


def tone(hz: float, frames: int, amplitude: int = 8000, phase: int = 0) -> list[bytes]:
    """`frames` 20 ms frames of a sine tone, s16le."""
    out = []
    for f in range(frames):
        start = phase + f * 160
        out.append(struct.pack("<160h", *(
            int(amplitude * math.sin(2 * math.pi * hz * (start + i) / 8000)) for i in range(160))))
    return out


def goertzel(samples: list[int], hz: float, rate: int = 8000) -> float:
    """Power of `hz` in `samples`, normalised by the signal's energy (1.0: a pure tone)."""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    energy = sum(x * x for x in samples)
    return 2 * power / (len(samples) * energy) if energy else 0.0


def channels_of(path: Path) -> tuple[list[int], list[int]]:
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getsampwidth()) == (8000, 2)
        data = array.array("h", w.readframes(w.getnframes()))
        if w.getnchannels() == 1:
            return data.tolist(), []
    return data[0::2].tolist(), data[1::2].tolist()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    rec = Recorder(tmp_path / "rec")
    yield rec
    rec.stop()


def finish(rec: Recording) -> None:
    rec.close()
    assert rec.done.wait(5), "the writer did not close the file"


# ---------------------------------------------------------------- the WAV writer


def test_stereo_caller_left_console_right(recorder: Recorder) -> None:
    rec = recorder.open(recorder.file_for(AT, "13900000001", "call-1"), 2, "call-1")
    caller, console = tone(600, 50), tone(1000, 50)
    for rx, tx in zip(caller, console, strict=True):
        rec.tap(RX, rx)
        rec.tap(TX, tx)
    finish(rec)
    left, right = channels_of(rec.path)
    assert len(left) == len(right) == 50 * 160
    assert goertzel(left, 600) > 0.9 and goertzel(left, 1000) < 0.01
    assert goertzel(right, 1000) > 0.9 and goertzel(right, 600) < 0.01
    assert rec.path.parent.name == "2026-03"
    assert rec.path.name.startswith("20260302-100005-13900000001-")


def test_caller_frames_wait_for_our_clock_and_are_never_dropped(recorder: Recorder) -> None:
    rec = recorder.open(recorder.file_for(AT, "1", "c"), 2)
    burst = tone(600, JITTER_FRAMES + 5)
    for frame in burst:  # our sender stalled: 15 caller frames, no sent frame
        rec.tap(RX, frame)
    rec.tap(TX, tone(1000, 1)[0])
    finish(rec)
    left, _ = channels_of(rec.path)
    assert len(left) == len(burst) * 160  # every caller sample is in the file
    assert array.array("h", b"".join(burst)).tolist() == left


def test_message_is_mono_caller_only(recorder: Recorder) -> None:
    rec = recorder.open(recorder.file_for(AT, "1", "c", "message"), 1)
    for rx, tx in zip(tone(600, 10), tone(1000, 10), strict=True):
        rec.tap(TX, tx)
        rec.tap(RX, rx)
    rec.tap(RX, b"\x01\x00" * 7)  # a short frame is padded to 20 ms, not lost
    finish(rec)
    mono, _ = channels_of(rec.path)
    assert len(mono) == 11 * 160 and goertzel(mono[:1600], 600) > 0.9
    assert rec.path.name.endswith("-message.wav")


def test_header_is_rewritten_while_recording(recorder: Recorder) -> None:
    """A process killed mid-call leaves a playable file up to the last flush."""
    rec = recorder.open(recorder.file_for(AT, "1", "c"), 2)
    for frame in tone(600, FLUSH_FRAMES * 2 + 3):
        rec.tap(TX, frame)
    # no close: what a crash leaves behind, once the writer has flushed twice
    for _ in range(200):
        head = rec.path.read_bytes()[:HEADER_BYTES]
        parsed = read_header(head)
        if parsed and parsed[1] >= FLUSH_FRAMES * 2 * FRAME_BYTES * 2:
            break
        time.sleep(0.01)
    with wave.open(str(rec.path), "rb") as w:
        assert w.getnframes() >= FLUSH_FRAMES * 2 * 160
    finish(rec)


def test_caller_number_and_call_id_cannot_shape_the_path(recorder: Recorder) -> None:
    path = recorder.file_for(AT, "../../etc/passwd;13900000001", "../../x\r\n")
    assert path.parent == recorder.directory / "2026-03"
    assert "/" not in path.name and ".." not in path.name and "\r" not in path.name
    assert recorder.file_for(AT, "", "x").name.split("-")[2] == "unknown"


def test_an_existing_file_is_never_overwritten(recorder: Recorder) -> None:
    path = recorder.file_for(AT, "1", "same")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"evidence")
    rec = recorder.open(path, 2)
    finish(rec)
    assert path.read_bytes() == b"evidence" and rec.path != path and rec.path.exists()


def test_unwritable_directory_is_a_recording_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    recorder = Recorder(tmp_path / "file" / "rec")
    with pytest.raises(RecordingError, match="cannot create"):
        recorder.open(recorder.file_for(AT, "1", "c"))


def test_disk_full_at_start_is_a_recording_error_and_leaves_nothing(tmp_path: Path) -> None:
    made: list[Path] = []

    def full(path: Path) -> BinaryIO:
        made.append(path)
        path.touch()
        return open("/dev/full", "wb")  # every flush: ENOSPC

    recorder = Recorder(tmp_path, opener=full)
    with pytest.raises(RecordingError, match="No space left"):
        recorder.open(recorder.file_for(AT, "1", "c"))
    assert made and not made[0].exists()


class FillsUp:
    """A file that takes `room` bytes and then fails like a full disk."""

    def __init__(self, path: Path, room: int) -> None:
        self.file = path.open("xb")
        self.room = room

    def write(self, data: bytes) -> int:
        if self.file.tell() + len(data) > self.room:
            raise OSError(28, "No space left on device")
        return self.file.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.file, name)


def test_disk_full_mid_call_keeps_a_playable_file_and_reports(tmp_path: Path) -> None:
    problems: list[tuple[Path, str]] = []

    def report(r: Recording, problem: str) -> None:
        time.sleep(0.2)  # a slow handler: `done` must still mean "reported" (CI raced here)
        problems.append((r.path, problem))

    room = HEADER_BYTES + 30 * FRAME_BYTES * 2
    recorder = Recorder(tmp_path, on_error=report,
                        opener=lambda p: FillsUp(p, room))  # type: ignore[arg-type,return-value]
    try:
        rec = recorder.open(recorder.file_for(AT, "1", "c"))
        for frame in tone(600, 100):
            rec.tap(TX, frame)
        assert rec.done.wait(5)
        assert rec.failed == "No space left on device"
        assert problems == [(rec.path, "No space left on device")]
        rec.tap(TX, tone(600, 1)[0])  # ignored from now on
        rec.close()
        _, right = channels_of(rec.path)  # the header covers what reached the disk
        assert FLUSH_FRAMES * 160 <= len(right) <= 30 * 160
    finally:
        recorder.stop()


def test_writer_behind_drops_frames_counts_them_and_never_blocks(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, queue_frames=5)
    rec = recorder.open(recorder.file_for(AT, "1", "c"))
    for frame in tone(600, 2000):  # queued far faster than 5 frames' room drains
        rec.tap(TX, frame)
    finish(rec)
    _, right = channels_of(rec.path)
    assert len(right) // 160 + rec.dropped == 2000
    recorder.stop()


def test_torn_header_is_repaired_and_foreign_files_reported(tmp_path: Path) -> None:
    month = tmp_path / "2026-03"
    month.mkdir(parents=True)
    torn = month / "torn.wav"  # died after 7 frames and 3 bytes were written, header says 2
    torn.write_bytes(wav_header(2 * 640, 2) + b"\x01\x00" * (7 * 320) + b"\x01\x00\x01")
    good = month / "good.wav"
    good.write_bytes(wav_header(640, 2) + bytes(640))
    foreign = month / "foreign.wav"
    foreign.write_bytes(b"ID3 not a wav at all")
    (tmp_path / "2026-02").mkdir()  # the month before: scanned too
    old = tmp_path / "2025-01"  # older months are not scanned
    old.mkdir()
    (old / "torn.wav").write_bytes(wav_header(0, 2) + bytes(640))
    repaired, unreadable = Recorder(tmp_path).repair()
    assert repaired == [torn] and unreadable == [foreign]
    with wave.open(str(torn), "rb") as w:
        assert w.getnchannels() == 2 and w.getnframes() == 7 * 160
    assert torn.stat().st_size == HEADER_BYTES + 7 * 640
    assert foreign.read_bytes() == b"ID3 not a wav at all"  # reported, never touched
    assert Recorder(tmp_path).repair() == ([], [foreign])


def test_interleave_and_header_round_trip() -> None:
    left = struct.pack("<2h", 1, 2)
    right = struct.pack("<2h", -1, -2)
    assert struct.unpack("<4h", interleave(left, right)) == (1, -1, 2, -2)
    assert read_header(wav_header(1234, 1)) == (1, 1234)
    assert read_header(b"RIFF" + bytes(40)) is None


# ---------------------------------------------------------------- the flow


class RecRig:
    """The flow with a fake line and a real recorder writing into `directory`."""

    def __init__(self, directory: Path, **changes: object) -> None:
        self.records = MemoryRecords()
        self.line = FakeLine()
        self.log = EventLog()
        settings = replace(FAST, recording_dir=str(directory), **changes)  # type: ignore[arg-type]
        self.flow = CallFlow(self.records, FixedStaffing(True), TinyPrompts(), settings,
                             line=self.line)  # type: ignore[arg-type]
        self.line.sink = self.flow.on_line_event
        self.flow.bus.subscribe(self.log)


@pytest.fixture
def rec_rig(tmp_path: Path) -> Iterator[RecRig]:
    rig = RecRig(tmp_path / "rec", record_calls=True, message_seconds=0.4,
                 follow_up_owner="1001", follow_up_hours=8.0)
    yield rig
    rig.flow.stop()


def wait_answered(call: FakeCall) -> None:
    for _ in range(200):
        if call.tap is not None:
            return
        time.sleep(0.01)
    raise AssertionError("the call was never tapped")


def test_auto_answered_call_is_recorded_and_linked_at_answer(rec_rig: RecRig) -> None:
    call = rec_rig.line.ring("13900000001")
    wait_answered(call)
    row = rec_rig.records.rows[call.call_id]
    assert row.recording and row.recording.endswith(".wav")  # linked at answer, call still up
    for rx, tx in zip(tone(600, 30), tone(1000, 30), strict=True):
        call.media(RX, rx)
        call.media(TX, tx)
    rec_rig.log.wait_for(StepChanged, step=CallStep.MESSAGE)
    directory = Path(rec_rig.flow.settings.recording_dir)
    for _ in range(200):  # the message file is opened once the fallback prompt has played
        if list(directory.glob("*/*-message.wav")):
            break
        time.sleep(0.01)
    time.sleep(0.05)  # ... and joins the call's tap right after (the window is 0.4 s)
    for frame in tone(600, 10, phase=4800):  # the caller speaks the message
        call.media(RX, frame)
    call.caller_hangs_up()
    row = rec_rig.records.wait_closed(call.call_id)
    rec_rig.flow.stop()  # the recorder finishes every file
    left, right = channels_of(Path(row.recording))
    assert goertzel(left, 600) > 0.5 and goertzel(right, 1000) > 0.5
    assert row.message_recording and row.message_recording.endswith("-message.wav")
    message, _ = channels_of(Path(row.message_recording))
    assert len(message) >= 10 * 160 and goertzel(message, 600) > 0.9
    assert call.tap is None  # untapped at the end
    # 首问负责: nobody served this caller, so the configured default owner has it
    (reason, owner, due) = row.follow_up_rows[0]
    assert "message" in reason and owner == "1001"
    opened = rec_rig.log.wait_for(FollowUpOpened)
    assert due == opened.due_at and opened.at + timedelta(hours=8) == due


def test_agent_who_served_owns_the_dissatisfied_follow_up(tmp_path: Path) -> None:
    rig = RecRig(tmp_path / "rec", follow_up_owner="1001", ring_limit_seconds=5.0)
    try:
        call = rig.line.ring()
        assert rig.flow.take_call(call.call_id, "1024")
        rig.log.wait_for(StepChanged, step=CallStep.CONVERSATION)
        rig.flow.finish_call(call.call_id)
        rig.log.wait_for(StepChanged, step=CallStep.SURVEY)
        call.press("3")
        row = rig.records.wait_closed(call.call_id)
        assert [(o, "dissatisfied" in r) for r, o, _ in row.follow_up_rows] == [("1024", True)]
        assert row.recording is None  # record_calls off: the call itself is not recorded
    finally:
        rig.flow.stop()


def test_no_default_owner_leaves_the_owner_empty(tmp_path: Path) -> None:
    rig = RecRig(tmp_path / "rec", message_seconds=0.05)
    try:
        call = rig.line.ring()
        row = rig.records.wait_closed(call.call_id)
        assert row.follow_up_rows and row.follow_up_rows[0][1] is None
    finally:
        rig.flow.stop()


def test_unwritable_directory_alarm_and_the_call_goes_on(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    rig = RecRig(tmp_path / "file" / "rec", record_calls=True)
    try:
        call = rig.line.ring("13900000001")
        alarm = rig.log.wait_for(RecordingAlarm)
        assert "call not recorded" in alarm.detail and "cannot create" in alarm.detail
        call.press("1")
        row = rig.records.wait_closed(call.call_id)
        assert row.answered_by == "auto" and row.recording is None
        assert any("call not recorded" in p for p in row.recording_problems)
        assert any("message not recorded" in p for p in row.recording_problems)
        assert row.message_seconds is not None and row.message_recording is None
        assert row.end_reason == "local_hangup"  # survey, thanks, our BYE: never dropped
        assert [k for k, _ in rig.records.alarms].count("recording_failed") == 2
    finally:
        rig.flow.stop()


def test_a_call_that_cannot_be_tapped_is_an_alarm_not_a_failure(tmp_path: Path) -> None:
    rig = RecRig(tmp_path / "rec", record_calls=True)
    original = FakeLine.ring

    def ring_untappable(self: FakeLine, caller: str = "1") -> FakeCall:
        call = original(self, caller)
        call.tap_error = CallStateError("tap_audio: call has ended")
        return call

    try:
        rig.line.ring = ring_untappable.__get__(rig.line)  # type: ignore[method-assign]
        call = rig.line.ring()
        alarm = rig.log.wait_for(RecordingAlarm)
        assert "has ended" in alarm.detail
        row = rig.records.wait_closed(call.call_id)
        assert row.end_reason == "local_hangup"
    finally:
        rig.flow.stop()


def test_torn_recordings_are_repaired_and_alarmed_at_start(tmp_path: Path) -> None:
    month = tmp_path / "rec" / "2026-03"
    month.mkdir(parents=True)
    (month / "torn.wav").write_bytes(wav_header(0, 2) + bytes(6400))
    rig = RecRig(tmp_path / "rec")
    try:
        rig.flow.start(tick=60)
        kinds = [k for k, _ in rig.records.alarms]
        assert "recording_repaired" in kinds
        with wave.open(str(month / "torn.wav"), "rb") as w:
            assert w.getnframes() == 1600
    finally:
        rig.flow.stop()
