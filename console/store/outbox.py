"""The outbox: every fact the call path hands the duty record, on local disk before it counts.

The call path must never wait for the database (duty rules §5: every call recorded, and
§1: answered within the ring limit whatever else fails). So the line appends each write
to this outbox — one JSON line, fsynced — and returns; `RecordWriter` applies the entries
to the database in order on its own thread, retrying with backoff while the database is
away. Every entry carries the key of the record it creates or changes and each apply step
checks that key first, so applying an entry twice (a crash between the commit and the
outbox's compaction) writes nothing twice.

Why not the old journal beside the database: it was written only after a write had failed
(the call had already waited out the busy timeout), it lived on the database's disk (a full
disk took both), and any process that opened the same record replayed and cleared it. The
outbox is written first, lives in its own directory (`[database] outbox_dir`), keeps a
reserve file it can give up when the disk fills, falls back to memory (counted, alarmed)
when even that fails, and belongs to one process: an exclusive `flock` on its lock file,
held for the process's life, so no other process can apply or clear it.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.store.errors import StoreError

log = logging.getLogger("console.store.outbox")

RESERVE_BYTES = 8 * 1024 * 1024
"""Space the outbox keeps for itself (about 20,000 entries, a busy week of calls)."""
COMPACT_BYTES = 256 * 1024
"""An outbox file this large is emptied as soon as every entry in it is applied."""
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


class OutboxError(StoreError):
    """The outbox cannot be used at all (directory unusable, another process owns it)."""

    title = "Outbox"


@dataclass
class OutboxEntry:
    """One write waiting for the database: the operation and its JSON arguments."""

    n: int
    op: str
    args: dict[str, Any]
    replayed: bool = False
    """Read back from disk at start: it may already be in the database."""
    attempts: int = 0
    """How often applying it met an unreachable database."""

    def line(self) -> bytes:
        text = json.dumps({"n": self.n, "op": self.op, "args": self.args}, ensure_ascii=False)
        return (text + "\n").encode("utf-8")


@dataclass(frozen=True)
class OutboxStatus:
    """What the seat and the headless log show about the outbox."""

    pending: int
    """Entries not yet in the database."""
    unsaved: int
    """Entries only in memory (the outbox's disk refused them): lost if the process dies."""
    rejected: int
    """Entries the database refused (kept in the `.rejected` file for a supervisor)."""
    lost: int
    """Entries that could be neither written nor kept: counted, never silent (goal 0)."""


@dataclass
class _State:
    pending: list[OutboxEntry] = field(default_factory=list)
    unsaved: list[OutboxEntry] = field(default_factory=list)
    rejected: int = 0
    lost: int = 0


class Outbox:
    """Append-only, fsynced JSON-lines file of pending writes, owned by this process."""

    def __init__(
        self,
        directory: Path | str,
        owner: str,
        *,
        reserve_bytes: int = RESERVE_BYTES,
        on_change: Callable[[OutboxStatus], None] | None = None,
        max_memory: int = 100_000,
    ) -> None:
        self.directory = Path(directory)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in owner) or "line"
        self.path = self.directory / f"outbox-{safe}.jsonl"
        self.rejected_path = self.path.with_suffix(".rejected.jsonl")
        self.reserve_path = self.path.with_suffix(".reserve")
        self.reserve_bytes = reserve_bytes
        self.max_memory = max_memory
        self._on_change = on_change
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        """Notified on every append (the writer waits on it)."""
        self._state = _State()
        self._n = 0
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._disk_full = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutboxError(f"cannot create outbox directory {self.directory}: "
                              f"{exc.strerror or exc}") from None
        self._take_ownership()
        self._load()
        self._open_file()
        self._keep_reserve()

    # ------------------------------------------------------------ ownership

    def _take_ownership(self) -> None:
        """Hold an exclusive flock for the process's life: one process per outbox."""
        lock_path = self.path.with_suffix(".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise OutboxError(f"cannot open {lock_path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise OutboxError(
                f"outbox {self.path} is in use by another running console (pid {holder}); "
                "each line or seat needs its own outbox_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        """Close the file and give up ownership; pending entries stay for the next start."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = None

    # ------------------------------------------------------------ disk

    def _load(self) -> None:
        """Entries a previous run left (it crashed or stopped with the database away)."""
        if not self.path.exists():
            return
        entries: dict[int, OutboxEntry] = {}
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n") or not raw.strip():
                    continue  # a torn last line: the append it belonged to never returned
                try:
                    data = json.loads(raw)
                    entry = OutboxEntry(int(data["n"]), str(data["op"]), dict(data["args"]),
                                        replayed=True)
                except (ValueError, KeyError, TypeError):
                    log.error("outbox %s: unreadable line kept aside: %r", self.path, raw[:80])
                    self._set_aside_raw(raw, "unreadable outbox line")
                    continue
                entries[entry.n] = entry
        self._state.pending = [entries[n] for n in sorted(entries)]
        self._n = max(entries, default=0)
        if entries:
            log.warning("outbox %s: %d writes from a previous run to apply", self.path,
                        len(entries))

    def _open_file(self) -> None:
        created = not self.path.exists()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise OutboxError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        if created:
            fsync_dir(self.directory)

    def _keep_reserve(self) -> None:
        """(Re)create the reserve file: space to give up when the disk fills."""
        if self.reserve_bytes <= 0 or self.reserve_path.exists():
            return
        try:
            fd = os.open(self.reserve_path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)
            finally:
                os.close(fd)
        except OSError:
            self.reserve_path.unlink(missing_ok=True)  # no room for it yet: try again later

    def _release_reserve(self) -> bool:
        if not self.reserve_path.exists():
            return False
        self.reserve_path.unlink(missing_ok=True)
        log.error("outbox %s: disk full; using the outbox's reserve", self.directory)
        return True

    def _write(self, data: bytes) -> None:
        """Append and fsync; on a full disk give up the reserve once and try again.

        A write that fails leaves nothing in the file: a full disk can take the first bytes
        of a line (the file's last page had room for them), and the entry, written again
        later after those bytes, would share their line and be unreadable at the next start.
        """
        if self._fd is None:
            raise OSError(errno.EBADF, "outbox closed")
        for attempt in (0, 1):
            size = os.fstat(self._fd).st_size
            try:
                written = os.write(self._fd, data)
                if written != len(data):
                    raise OSError(errno.ENOSPC, "short write")
                os.fsync(self._fd)
                return
            except OSError as exc:
                self._cut_back(size)
                if exc.errno not in _DISK_ERRORS or attempt or not self._release_reserve():
                    raise

    def _cut_back(self, size: int) -> None:
        """Drop what a failed append left past `size` (a part of its line)."""
        assert self._fd is not None
        try:
            if os.fstat(self._fd).st_size > size:
                os.ftruncate(self._fd, size)
        except OSError as exc:  # the line stays torn; the next start sets it aside, loudly
            log.critical("outbox %s: cannot cut a torn write back: %s", self.path, exc)

    # ------------------------------------------------------------ the call path

    def append(self, op: str, args: dict[str, Any]) -> OutboxEntry:
        """Keep one write durably; never raises, never waits for more than one fsync.

        If the outbox's own disk refuses even after its reserve, the entry stays in memory
        (`unsaved`, alarmed) and is written when space returns.
        """
        with self._lock:
            self._n += 1
            entry = OutboxEntry(self._n, op, args)
            self._flush_unsaved()
            if self._state.unsaved:
                self._keep_in_memory(entry)
            else:
                try:
                    self._write(entry.line())
                except OSError as exc:
                    log.error("outbox %s: cannot write (%s); keeping the write in memory",
                              self.path, exc.strerror or exc)
                    self._keep_in_memory(entry)
            self._state.pending.append(entry)
            self.changed.notify_all()
            status = self._status()
        self._tell(status)
        return entry

    def _keep_in_memory(self, entry: OutboxEntry) -> None:
        if len(self._state.unsaved) >= self.max_memory:
            self._state.lost += 1  # never silent: counted and shown
            log.critical("outbox: write %d lost (%d kept in memory already)", entry.n,
                         len(self._state.unsaved))
            return
        self._state.unsaved.append(entry)
        self._disk_full = True

    def _flush_unsaved(self) -> None:
        """Write entries kept in memory, oldest first, as far as the disk takes them."""
        while self._state.unsaved:
            entry = self._state.unsaved[0]
            try:
                self._write(entry.line())
            except OSError:
                return
            self._state.unsaved.pop(0)
        if self._disk_full:
            self._disk_full = False
            log.warning("outbox %s: disk writable again; every write is on disk", self.path)

    # ------------------------------------------------------------ the writer

    def pending(self) -> list[OutboxEntry]:
        """Entries not yet applied, oldest first (a copy)."""
        with self._lock:
            return list(self._state.pending)

    def applied(self, entry: OutboxEntry) -> None:
        """`entry` is in the database; forget it."""
        with self._lock:
            if self._state.pending and self._state.pending[0] is entry:
                self._state.pending.pop(0)
            else:
                self._state.pending = [e for e in self._state.pending if e is not entry]
            if entry in self._state.unsaved:
                self._state.unsaved.remove(entry)
            status = self._status()
        self._tell(status)

    def set_aside(self, entry: OutboxEntry, why: str) -> None:
        """The database refused `entry` (unknown key, sealed call): keep it, with why."""
        record = {"n": entry.n, "op": entry.op, "args": entry.args, "why": why}
        self._set_aside_raw(json.dumps(record, ensure_ascii=False).encode() + b"\n", why)
        with self._lock:
            self._state.rejected += 1
        self.applied(entry)

    def _set_aside_raw(self, data: bytes, why: str) -> None:
        try:
            with self.rejected_path.open("ab") as out:
                out.write(data if data.endswith(b"\n") else data + b"\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            log.critical("outbox: cannot keep a refused write (%s): %s", why, exc)

    def retry_unsaved(self) -> None:
        """Write entries kept in memory if the disk takes them now (the writer, retrying
        while the database is away: space may return with no new write to bring them)."""
        with self._lock:
            if not self._state.unsaved:
                return
            self._flush_unsaved()
            status = self._status()
        self._tell(status)

    def maintain(self) -> None:
        """When idle: retry writes kept in memory, compact an applied file, keep a reserve."""
        with self._lock:
            self._flush_unsaved()
            if not self._state.pending and not self._state.unsaved and self._fd is not None:
                try:
                    if os.fstat(self._fd).st_size:
                        os.ftruncate(self._fd, 0)
                        os.fsync(self._fd)
                except OSError as exc:
                    log.warning("outbox %s: cannot compact: %s", self.path, exc)
            if not self._disk_full:
                self._keep_reserve()
            status = self._status()
        self._tell(status)

    def compact_if_large(self) -> None:
        """Empty the file once everything in it is applied and it has grown large."""
        with self._lock:
            if self._state.pending or self._state.unsaved or self._fd is None:
                return
            try:
                if os.fstat(self._fd).st_size >= COMPACT_BYTES:
                    os.ftruncate(self._fd, 0)
                    os.fsync(self._fd)
            except OSError as exc:
                log.warning("outbox %s: cannot compact: %s", self.path, exc)

    def listen(self, on_change: Callable[[OutboxStatus], None]) -> None:
        """Hear every change of the outbox's status (the record raises its alarms)."""
        self._on_change = on_change

    def status(self) -> OutboxStatus:
        with self._lock:
            return self._status()

    def _status(self) -> OutboxStatus:
        s = self._state
        return OutboxStatus(len(s.pending), len(s.unsaved), s.rejected, s.lost)

    def _tell(self, status: OutboxStatus) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(status)
        except Exception:  # a listener's bug must not cost a write
            log.exception("outbox listener failed")


def fsync_dir(path: Path) -> None:
    """Make a file's creation in `path` durable (the directory entry), best effort."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
