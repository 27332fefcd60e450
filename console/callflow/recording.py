"""Call recording: both directions of a call in a WAV file that is playable at every moment.

The line hands over 20 ms frames through the call's audio tap (`sip.api.Call.tap_audio`) on
its media threads; `Recording.tap` only queues them, and one writer thread (`Recorder`)
writes every open recording. A call is written as 8 kHz 16-bit **stereo: the caller on the
left channel, the console on the right** (prompts, the agent's microphone, silence). Two
channels rather than a mono mix because a review (监听) wants to hear either party alone, a
mix of two loud parties clips, and a test (or a dispute) can check each direction on its own;
it costs 32 kB/s (about 115 MB per hour of calls). A message a caller leaves is a second,
mono file of the caller's direction only.

Sent frames pace the file (the line sends one every 20 ms from answer to end, silence
included); received frames wait in a small jitter queue and are paired with the next sent
frame, so the two channels stay aligned within a frame or two. Nothing the caller said is
thrown away: if the jitter queue overflows (our sender stalled) the oldest caller frame is
written against silence.

Crash safety: the header's sizes are rewritten after every flush (every `FLUSH_FRAMES`), so
a killed process leaves a file whose header covers all but the last half second; at the next
start `Recorder.repair` fixes the header of any file whose sizes disagree with its length
and reports files that are not recordings of ours, leaving them as they are.
"""

from __future__ import annotations

import array
import collections
import hashlib
import logging
import os
import queue
import re
import struct
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from console.callflow.ports import FlowError
from sip.api import AudioDirection

log = logging.getLogger("console.recording")

RATE = 8000
FRAME_BYTES = 320
"""One 20 ms frame of 8 kHz s16le mono."""
SILENCE = bytes(FRAME_BYTES)
HEADER_BYTES = 44
FLUSH_FRAMES = 25
"""Frames (0.5 s) between flushes, each followed by a header rewrite."""
JITTER_FRAMES = 10
"""Caller frames (200 ms) that may wait for a sent frame to pair with."""
QUEUE_FRAMES = 50 * 2 * 60 * 2
"""Frames the writer may fall behind by (two minutes of one call) before frames are dropped."""

Opener = Callable[[Path], BinaryIO]


class RecordingError(FlowError):
    """A recording could not be started (directory unwritable, disk full)."""

    title = "Recording"


def wav_header(data_bytes: int, channels: int) -> bytes:
    """The canonical 44-byte PCM WAV header (RIFF, fmt with 16-bit 8 kHz, data)."""
    block = 2 * channels
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, RATE, RATE * block, block, 16)
        + b"data" + struct.pack("<I", data_bytes)
    )


def read_header(head: bytes) -> tuple[int, int] | None:
    """(channels, data size in the header) of one of our WAV files, or None if it isn't one."""
    if len(head) < HEADER_BYTES or head[:4] != b"RIFF" or head[8:16] != b"WAVE" + b"fmt ":
        return None
    size, fmt, channels, rate, _byte_rate, block, bits = struct.unpack_from("<IHHIIHH", head, 16)
    if (size, fmt, rate, bits) != (16, 1, RATE, 16) or channels not in (1, 2):
        return None
    if block != 2 * channels or head[36:40] != b"data":
        return None
    return channels, struct.unpack_from("<I", head, 40)[0]


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono s16le frames of the same length → one stereo frame (left, right)."""
    a, b = array.array("h", left), array.array("h", right)
    out = array.array("h", bytes(len(left) * 2))
    out[0::2] = a
    out[1::2] = b
    return out.tobytes()


def _exclusive(path: Path) -> BinaryIO:
    return path.open("xb")


class Recording:
    """One WAV file being written; `tap` is given to the call as its audio tap."""

    def __init__(self, recorder: Recorder, path: Path, channels: int, file: BinaryIO,
                 call_id: str = "") -> None:
        self.recorder = recorder
        self.call_id = call_id
        """The SIP Call-ID of the call recorded (for the error handler)."""
        self.path = path
        """Where the file is (the duty record keeps it)."""
        self.channels = channels
        """2: the whole call (caller left, console right); 1: a message (the caller only)."""
        self.failed: str | None = None
        """Why writing stopped early (disk full ...); the file keeps what was written."""
        self.dropped = 0
        """Frames lost because the writer fell more than `QUEUE_FRAMES` behind."""
        self.data_bytes = 0
        self.done = threading.Event()
        """Set once the file is closed (after `close()`, or after a write failure)."""
        self._file: BinaryIO | None = file
        self._pending: collections.deque[bytes] = collections.deque()
        self._since_flush = 0
        self._closing = False

    @property
    def seconds(self) -> float:
        return self.data_bytes / (2 * self.channels * RATE)

    # ------------------------------------------------------------ media threads

    def tap(self, direction: AudioDirection, pcm: bytes) -> None:
        """The call's audio tap: queue one frame; never blocks, never raises."""
        if self._closing or self.failed is not None:
            return
        if self.channels == 1 and direction is not AudioDirection.RECEIVED:
            return
        self.recorder._put(self, direction, pcm)

    def close(self) -> None:
        """Write what is queued, fix the header and close; returns at once (see `done`)."""
        if self._closing:
            return
        self._closing = True
        self.recorder._put(self, None, b"")

    # ------------------------------------------------------------ writer thread

    def _frame(self, direction: AudioDirection, pcm: bytes) -> None:
        if len(pcm) != FRAME_BYTES:  # a short or odd frame: pad or cut to 20 ms
            pcm = (pcm + SILENCE)[:FRAME_BYTES]
        if self.channels == 1:
            self._write(pcm)
        elif direction is AudioDirection.RECEIVED:
            self._pending.append(pcm)
            if len(self._pending) > JITTER_FRAMES:  # our side stalled: keep the caller anyway
                self._write(interleave(self._pending.popleft(), SILENCE))
        else:
            caller = self._pending.popleft() if self._pending else SILENCE
            self._write(interleave(caller, pcm))

    def _write(self, data: bytes) -> None:
        file = self._file
        if file is None:
            return
        file.write(data)
        self.data_bytes += len(data)
        self._since_flush += 1
        if self._since_flush >= FLUSH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        file = self._file
        if file is None:
            return
        self._since_flush = 0
        file.flush()
        file.seek(0)
        file.write(wav_header(self.data_bytes, self.channels))
        file.seek(0, os.SEEK_END)
        file.flush()

    def _finish(self) -> None:
        while self._pending and self.channels == 2:
            self._write(interleave(self._pending.popleft(), SILENCE))
        self._flush()
        self._close_file()

    def _close_file(self, finished: bool = True) -> None:
        """Close the file; `done` is set unless the caller still has to report (`finished`)."""
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as exc:
                self.failed = self.failed or _why(exc)
        if finished:
            self.done.set()


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


class Recorder:
    """Opens recordings under `directory` and writes them all on one thread.

    `on_error(recording, problem)` is called (on the writer thread) when a file could not be
    written any more; the recording keeps what it had and ignores further frames.
    """

    def __init__(
        self,
        directory: Path,
        on_error: Callable[[Recording, str], None] | None = None,
        opener: Opener = _exclusive,
        queue_frames: int = QUEUE_FRAMES,
    ) -> None:
        self.directory = Path(directory)
        self.on_error = on_error
        self._opener = opener
        self._queue: queue.Queue[tuple[Recording, AudioDirection | None, bytes] | None] = (
            queue.Queue(queue_frames))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.dropped = 0

    # ------------------------------------------------------------ opening

    def file_for(self, at: datetime, caller: str, call_id: str, kind: str = "call") -> Path:
        """`directory/YYYY-MM/YYYYMMDD-HHMMSS-<caller digits>-<call hash>[-kind].wav`.

        Only digits (and a leading +) of the caller number are used and the Call-ID is
        hashed: both come from the caller's SIP headers and must not shape a path.
        """
        digits = re.sub(r"[^0-9]", "", caller)[:20] or "unknown"
        tag = hashlib.sha256(call_id.encode("utf-8", "replace")).hexdigest()[:10]
        suffix = "" if kind == "call" else f"-{kind}"
        return self.directory / f"{at:%Y-%m}" / f"{at:%Y%m%d-%H%M%S}-{digits}-{tag}{suffix}.wav"

    def open(self, path: Path, channels: int = 2, call_id: str = "") -> Recording:
        """Create `path` (never overwriting) with its header; RecordingError if impossible."""
        if channels not in (1, 2):
            raise RecordingError(f"channels {channels!r}: 1 or 2")
        with self._lock:
            if self._stopped:
                raise RecordingError("the recorder is stopped")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create {path.parent}: {_why(exc)}") from None
        file: BinaryIO | None = None
        for n in range(100):
            candidate = path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")
            try:
                file = self._opener(candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                raise RecordingError(f"cannot create {candidate}: {_why(exc)}") from None
            path = candidate
            break
        if file is None:
            raise RecordingError(f"{path}: 100 files of that name exist already")
        try:
            file.write(wav_header(0, channels))
            file.flush()
        except OSError as exc:
            problem = _why(exc)
            try:
                file.close()
            except OSError:
                pass
            try:
                path.unlink()
            except OSError:
                pass
            raise RecordingError(f"cannot write {path}: {problem}") from None
        self._ensure_thread()
        return Recording(self, path, channels, file, call_id)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)
                self._thread.start()

    def _put(self, rec: Recording, direction: AudioDirection | None, pcm: bytes) -> None:
        item = (rec, direction, pcm)
        if direction is None:  # a close must not be lost: wait for room (the writer drains)
            self._queue.put(item)
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            rec.dropped += 1
            self.dropped += 1
            if self.dropped in (1, 100, 10000):
                log.warning("recorder %d frames behind: dropped %d so far",
                            self._queue.maxsize, self.dropped)

    # ------------------------------------------------------------ the writer

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            rec, direction, pcm = item
            if rec.failed is not None or rec.done.is_set():
                continue
            try:
                if direction is None:
                    rec._finish()
                    if rec.dropped:
                        log.warning("recording %s: %d frames dropped", rec.path, rec.dropped)
                else:
                    rec._frame(direction, pcm)
            except OSError as exc:
                self._failed(rec, _why(exc))
            except Exception as exc:  # a bug must not kill the writer of every other call
                log.exception("recording %s failed", rec.path)
                self._failed(rec, f"{type(exc).__name__}: {exc}")

    def _failed(self, rec: Recording, problem: str) -> None:
        rec.failed = problem
        try:  # keep what was written playable
            rec._flush()
        except OSError:
            pass
        rec._close_file(finished=False)
        log.error("recording %s stopped after %.1f s: %s", rec.path, rec.seconds, problem)
        try:
            if self.on_error is not None:
                self.on_error(rec, problem)
        except Exception:
            log.exception("recording error handler failed")
        finally:  # done once reported: who waits for `done` sees the report made
            rec.done.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued (open recordings are closed first) and stop the writer."""
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    # ------------------------------------------------------------ after a crash

    def repair(self, months: int = 2) -> tuple[list[Path], list[Path]]:
        """Fix torn headers in the newest `months` month folders; (repaired, unreadable).

        A file is repaired when its header's sizes disagree with its length (the process
        died between a write and the header rewrite): the sizes are set to the whole frames
        on disk and a trailing partial frame is cut. A `.wav` that is not one of our
        recordings is reported and left alone; nothing is ever deleted.
        """
        repaired: list[Path] = []
        unreadable: list[Path] = []
        if not self.directory.is_dir():
            return repaired, unreadable
        folders = sorted(
            (p for p in self.directory.iterdir()
             if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}", p.name)),
            reverse=True,
        )[:months]
        for folder in folders:
            for path in sorted(folder.glob("*.wav")):
                try:
                    if self._repair_one(path):
                        repaired.append(path)
                except (OSError, ValueError) as exc:
                    log.error("recording %s: %s", path, exc)
                    unreadable.append(path)
        for path in repaired:
            log.warning("recording %s: header repaired after an unclean stop", path)
        return repaired, unreadable

    @staticmethod
    def _repair_one(path: Path) -> bool:
        with path.open("r+b") as file:
            head = file.read(HEADER_BYTES)
            parsed = read_header(head)
            if parsed is None:
                raise ValueError("not a recording of ours (no 8 kHz 16-bit PCM WAV header)")
            channels, stated = parsed
            size = file.seek(0, os.SEEK_END)
            block = 2 * channels
            data = (size - HEADER_BYTES) // block * block
            riff = struct.unpack_from("<I", head, 4)[0]
            if stated == data and riff == 36 + data and size == HEADER_BYTES + data:
                return False
            file.truncate(HEADER_BYTES + data)
            file.seek(0)
            file.write(wav_header(data, channels))
        return True
