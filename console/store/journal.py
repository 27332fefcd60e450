"""The outage journal: call-path writes kept on local disk while the database is away.

Calls must keep being handled when PostgreSQL is down or SQLite stays locked, so the store
appends each write it could not make to a JSON-lines file, fsyncing every line, and
replays the file in order when the database answers again. Every entry carries the key of
the record it creates or changes, and each replay step checks that key first, so replaying
twice (a crash during replay) writes nothing twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.store.outbox import fsync_dir

log = logging.getLogger("console.store.journal")


@dataclass(frozen=True)
class JournalEntry:
    """One write that waits for the database: the operation and its JSON arguments."""

    n: int
    op: str
    args: dict[str, Any]


class Journal:
    """Append-only, fsynced JSON-lines file of pending writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, op: str, args: dict[str, Any]) -> int:
        """Write one entry durably (fsync of file, and of the directory on creation)."""
        with self._lock:
            n = sum(1 for _ in self._lines()) + 1
            line = json.dumps({"n": n, "op": op, "args": args}, ensure_ascii=False)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_dir(self.path.parent)
            return n

    def entries(self) -> list[JournalEntry]:
        """Every complete entry in order; a torn last line (crash mid-append) is skipped."""
        with self._lock:
            out: list[JournalEntry] = []
            for raw in self._lines():
                try:
                    data = json.loads(raw)
                    out.append(JournalEntry(int(data["n"]), str(data["op"]), dict(data["args"])))
                except (ValueError, KeyError, TypeError):
                    log.warning("journal %s: skipping unreadable line %r", self.path, raw[:80])
            return out

    def pending(self) -> int:
        with self._lock:
            return sum(1 for _ in self._lines())

    @property
    def rejected_path(self) -> Path:
        return self.path.with_suffix(self.path.suffix + ".rejected")

    def set_aside(self, rejected: list[tuple[JournalEntry, str]]) -> None:
        """Keep entries the database refused on replay, with why, for a supervisor to see."""
        with self._lock, self.rejected_path.open("a", encoding="utf-8") as out:
            for entry, why in rejected:
                record = {"n": entry.n, "op": entry.op, "args": entry.args, "why": why}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def clear(self) -> None:
        """Drop the journal after every entry reached the database (kept as `.replayed`)."""
        with self._lock:
            if self.path.exists():
                done = self.path.with_suffix(self.path.suffix + ".replayed")
                with done.open("ab") as out:
                    out.write(self.path.read_bytes())
                    out.flush()
                    os.fsync(out.fileno())
                self.path.unlink()
                fsync_dir(self.path.parent)

    def _lines(self) -> Iterator[str]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                if raw.endswith("\n") and raw.strip():
                    yield raw.rstrip("\n")
