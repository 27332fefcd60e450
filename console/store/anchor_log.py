"""The anchor log: the duty record's chain heads, written outside the database by the line itself.

Anchors kept inside the database go wherever the database goes: cut the tail of a chain
together with `chain_heads`, rewrite a record and recompute the hashes with our own chain
code, or delete the `anchors` rows, and the chains alone still verify. And the anchors there
were written only when a person signed something, so a headless line wrote none.

So every running line (headless or seat) appends the head of every chain to a file of its
own, every few minutes and at a clean shutdown, without anyone involved. Each entry is one
JSON line, fsynced:

    {"n": 7, "at": "2026-12-02T03:00:00.000000Z", "why": "schedule",
     "heads": {"hotline": [41, "<sha256>"], "~admin": [9, "<sha256>"], ...},
     "anchors": 2, "prev": "<mac of entry 6>", "mac": "<HMAC-SHA256>"}

`mac` is an HMAC-SHA256, under a key read from a file that is never stored in the database,
of every other field, `prev` included: the log is a chain of its own, so an edited, reordered
or forged entry fails its MAC or its link. `anchors` counts the record's own `anchors` rows
(handover, sign-off), so deleting those is seen too. A cut log is a valid prefix; to see it,
each entry also leaves a mark in the database (an `anchors` row of chain `LOG_CHAIN`, its seq
the entry's number and its hash the entry's MAC): a mark of an entry the log no longer has is
a finding (`console.store.integrity`). Each entry is logged as well (logger
`console.store.anchor_log`), so a line run under systemd leaves a copy in the journal.

Several processes may share one log (a seat and a `verify`): appends hold an exclusive
`flock` while they read the last entry and write the next.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from console.store.chain import canonical_value
from console.store.errors import StoreError
from console.store.models import AnchorRow, ChainHeadRow

log = logging.getLogger("console.store.anchor_log")

LOG_CHAIN = "~anchor-log"
"""Chain name of the marks an anchor log's entries leave in the record's `anchors` table."""
LOG_PURPOSE = "anchor-log"
START = "0" * 64
"""`prev` of the first entry."""
KEY_BYTES = 32
MIN_KEY_BYTES = 16
_FIELDS = ("n", "at", "why", "heads", "anchors", "prev", "mac")
_ASIDE = (
    "`duty-console verify` names what it holds; move it aside (keep it) to start a new log, "
    "which verify will then report as replaced"
)
_TAIL = 1 << 16
"""Bytes read back from the end to find the last entry (one entry is far smaller)."""

Heads = dict[str, tuple[int, str]]
"""Chain name → (seq, row_hash) of its head."""


class AnchorLogError(StoreError):
    """The anchor log or its key cannot be read or used: the line does not start, `verify`
    cannot check (exit 2). Nothing is created or changed."""

    title = "Anchor log"


def _failed(what: str, path: Path, exc: OSError) -> AnchorLogError:
    return AnchorLogError(f"{what} {path}: {exc.strerror or exc}")


# ------------------------------------------------------------------------------- the key


def load_key(path: Path, *, create: bool = False) -> bytes:
    """The anchor key from `path`; with `create`, a new random key (0600) if there is none.

    The key is the file's text, stripped (as `--hmac-key-file`), at least 16 bytes.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise AnchorLogError(f"anchor key file {path} does not exist") from None
        return _create_key(path)
    except IsADirectoryError:
        raise AnchorLogError(f"anchor key file {path} is a directory") from None
    except OSError as exc:
        raise _failed("cannot read anchor key file", path, exc) from None
    key = data.strip()
    if len(key) < MIN_KEY_BYTES:
        raise AnchorLogError(
            f"anchor key file {path} holds {len(key)} bytes, at least {MIN_KEY_BYTES} needed"
        )
    try:
        if path.stat().st_mode & 0o077:
            log.warning("anchor key file %s can be read by others; chmod 600 it", path)
    except OSError:
        pass
    return key


def _create_key(path: Path) -> bytes:
    key = secrets.token_hex(KEY_BYTES).encode()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it just now: use that one
        return load_key(path)
    except OSError as exc:
        raise _failed("cannot create anchor key file", path, exc) from None
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    _sync_dir(path.parent)
    log.warning("created a new anchor key in %s; keep a copy away from the database", path)
    return key


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ entries


@dataclass(frozen=True)
class LogEntry:
    """One entry of the anchor log."""

    n: int
    at: str
    why: str
    heads: Heads
    anchors: int
    prev: str
    mac: str
    line: int = 0
    """Line number in the file (1-based), for findings."""

    def body(self) -> dict[str, Any]:
        """Every field the MAC covers."""
        return {
            "n": self.n,
            "at": self.at,
            "why": self.why,
            "heads": {c: [s, h] for c, (s, h) in sorted(self.heads.items())},
            "anchors": self.anchors,
            "prev": self.prev,
        }

    def text(self) -> str:
        return json.dumps({**self.body(), "mac": self.mac}, ensure_ascii=False,
                          separators=(",", ":"))


def entry_mac(key: bytes, body: dict[str, Any]) -> str:
    """HMAC-SHA256 of an entry's fields in canonical JSON."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, b"anchor-log\n" + text.encode(), hashlib.sha256).hexdigest()


def parse_entry(text: str, line: int) -> LogEntry:
    """One line of the log; ValueError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        raise ValueError("not an entry (fields differ)")
    n, anchors, heads = data["n"], data["anchors"], data["heads"]
    ok = (
        type(n) is int and n >= 1 and type(anchors) is int and anchors >= 0
        and all(isinstance(data[f], str) for f in ("at", "why", "prev", "mac"))
        and isinstance(heads, dict)
    )
    parsed: Heads = {}
    for chain, value in heads.items() if ok else ():
        if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int
                and isinstance(value[1], str) and len(value[1]) == 64):
            ok = False
            break
        parsed[chain] = (value[0], value[1])
    if not ok:
        raise ValueError("not an entry (a field of the wrong kind)")
    return LogEntry(n, data["at"], data["why"], parsed, anchors, data["prev"], data["mac"], line)


@dataclass(frozen=True)
class LogReading:
    """The whole log as read by `verify`: the entries whose MAC holds, and what is wrong."""

    entries: list[LogEntry]
    findings: list[str]
    lines: int


class AnchorLog:
    """An append-only file of MAC'd chain heads (see the module docstring)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self.key = key

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    # -- reading

    def _lines(self) -> Iterator[tuple[int, str, bool]]:
        """(line number, text, ended by a newline) of every line; AnchorLogError if unreadable."""
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _failed("cannot read anchor log", self.path, exc) from None
        with fh:
            for number, raw in enumerate(fh, 1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = "\ufffd"
                yield number, text.rstrip("\n"), raw.endswith(b"\n")

    def read(self) -> LogReading:
        """Every entry, checked: MAC, number and link to the one before. Findings say which
        line is wrong and how; checking goes on from the next good entry."""
        entries: list[LogEntry] = []
        findings: list[str] = []
        expected, prev = 1, START
        count = 0
        where = f"anchor log {self.path}"
        for number, text, ended in self._lines():
            count = number
            try:
                entry = parse_entry(text, number)
            except ValueError as exc:
                cut = "" if ended else " (an incomplete last line: cut, or a crash while writing)"
                findings.append(f"missing anchors: {where} line {number} is {exc}{cut} — edited")
                continue
            if not hmac.compare_digest(entry.mac, entry_mac(self.key, entry.body())):
                findings.append(
                    f"missing anchors: {where} line {number} (entry {entry.n}): MAC does not "
                    "match — edited or forged (or written under another key)"
                )
                continue
            if entry.n != expected or entry.prev != prev:
                what = "removed" if entry.n > expected else "duplicated or reordered"
                findings.append(
                    f"missing anchors: {where} line {number}: entry {entry.n} where entry "
                    f"{expected} was due — entries {what}"
                )
            entries.append(entry)
            expected, prev = entry.n + 1, entry.mac
        return LogReading(entries, findings, count)

    def last(self) -> LogEntry | None:
        """The last entry, checked (its MAC), for the next append; AnchorLogError if bad."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - _TAIL))
                tail = fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failed("cannot read anchor log", self.path, exc) from None
        if not tail:
            return None
        lines = tail.split(b"\n")
        if lines[-1]:
            raise AnchorLogError(
                f"anchor log {self.path} ends in an incomplete line (cut, or a crash while "
                f"writing); nothing appended. {_ASIDE}"
            )
        number = tail.count(b"\n") if size <= _TAIL else 0
        raw = lines[-2]
        try:
            entry = parse_entry(raw.decode("utf-8"), number)
        except (ValueError, UnicodeDecodeError) as exc:
            raise AnchorLogError(
                f"anchor log {self.path}: its last line is not an entry ({exc}); nothing "
                f"appended. {_ASIDE}"
            ) from None
        if not hmac.compare_digest(entry.mac, entry_mac(self.key, entry.body())):
            raise AnchorLogError(
                f"anchor log {self.path}: its last entry ({entry.n}) has a MAC that does not "
                f"match the anchor key (edited, or another key file); nothing appended. {_ASIDE}"
            )
        return entry

    # -- writing

    def append(self, heads: Heads, anchors: int, why: str, at: datetime) -> LogEntry:
        """Write the next entry (linked to the last one) and fsync it."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            raise _failed("cannot open anchor log", self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = self.last()
            fields = {
                "n": last.n + 1 if last else 1,
                "at": canonical_value(at),
                "why": why,
                "heads": {c: [s, h] for c, (s, h) in sorted(heads.items())},
                "anchors": anchors,
                "prev": last.mac if last else START,
            }
            entry = LogEntry(
                fields["n"], fields["at"], why, dict(sorted(heads.items())), anchors,
                fields["prev"], entry_mac(self.key, fields),
            )
            data = (entry.text() + "\n").encode()
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(28, "short write")
                os.fsync(fd)
            except OSError as exc:
                raise AnchorLogError(
                    f"cannot write anchor log {self.path}: {exc.strerror or exc}"
                ) from None
            if entry.n == 1:
                _sync_dir(self.path.parent)
            return entry
        finally:
            os.close(fd)  # also releases the lock


# ------------------------------------------------------------------- anchoring the record


def snapshot(engine: Engine) -> tuple[Heads, int]:
    """Every chain head and the count of the record's own anchors, in one read."""
    with engine.connect() as conn:
        heads = {
            str(c): (int(s), str(h))
            for c, s, h in conn.execute(
                select(ChainHeadRow.chain, ChainHeadRow.seq, ChainHeadRow.row_hash)
            )
        }
        count = conn.scalar(
            select(func.count()).select_from(AnchorRow).where(AnchorRow.chain != LOG_CHAIN)
        )
    return heads, int(count or 0)


def mark(engine: Engine, entry: LogEntry, at: datetime) -> None:
    """Leave the entry's mark in the record, so a log cut short is seen (module docstring)."""
    with engine.begin() as conn:
        conn.execute(
            insert(AnchorRow).values(
                chain=LOG_CHAIN, seq=entry.n, row_hash=entry.mac, mac=None,
                purpose=LOG_PURPOSE, at=at,
            )
        )


class Anchoring:
    """The process's one anchoring thread: an entry every `interval` seconds and at `stop`.

    A scheduled entry is skipped while nothing changed since the last one (a quiet night
    adds nothing); start and shutdown always write. A database that is away skips the
    tick (the outbox's alarm says so already); a log that can't be written is logged as an
    error at every tick until it can.
    """

    def __init__(
        self,
        engine: Engine,
        anchor_log: AnchorLog,
        interval: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.log = anchor_log
        self.interval = interval
        self._now = clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last: tuple[Heads, int] | None = None
        self.written = 0
        """Entries this process appended."""

    def anchor(self, why: str) -> LogEntry | None:
        """Append the record's heads now (None: skipped, unchanged or the database away)."""
        with self._lock:
            try:
                state = snapshot(self.engine)
            except SQLAlchemyError as exc:
                log.warning("anchor (%s) skipped: the record cannot be read: %s", why,
                            str(exc).splitlines()[0])
                return None
            if why == "schedule" and state == self._last:
                return None
            at = self._now()
            entry = self.log.append(state[0], state[1], why, at)
            self._last = state
            self.written += 1
            log.info("anchor %d (%s) %s mac %s", entry.n, why,
                     " ".join(f"{c}:{s}:{h[:12]}" for c, (s, h) in entry.heads.items()),
                     entry.mac)
            try:
                mark(self.engine, entry, at)
            except SQLAlchemyError as exc:
                log.warning("anchor %d: its mark in the record is not written: %s", entry.n,
                            str(exc).splitlines()[0])
            return entry

    def start(self) -> None:
        """Anchor once now, then every `interval` seconds from one daemon thread."""
        if self._thread is not None:
            return
        self._safe("start")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="anchor-log", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._safe("schedule")

    def _safe(self, why: str) -> None:
        try:
            self.anchor(why)
        except AnchorLogError as exc:
            log.error("ALARM: %s", exc)
        except Exception:  # a failure here must not end the thread; the log has it
            log.exception("anchor (%s) failed", why)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and write the shutdown entry (after the last calls were sealed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._safe("shutdown")


def open_anchor_log(log_path: Path | None, key_file: Path) -> tuple[bytes, AnchorLog | None]:
    """The anchor key (for the open calls' bindings) and the anchor log, at start-up.

    Called before the duty record is opened, and checked before anything is created: a log
    with entries needs its key (a new key would orphan it, so a missing key is an error, not
    made anew), and its last entry must hold under that key (else the next entry could not
    be linked to it). With neither file there yet, the key is created (0600); the log comes
    with its first entry. `log_path` None: no log is kept (the key still binds open calls).
    """
    if log_path is None:
        log.warning("no anchor log kept ([database] anchor_log = \"\"): tampering with the "
                    "record can only be seen against anchors a person keeps")
        return load_key(key_file, create=True), None
    if log_path.is_dir():
        raise AnchorLogError(f"anchor log {log_path} is a directory")
    has_entries = log_path.is_file() and log_path.stat().st_size > 0
    if has_entries and not key_file.exists():
        raise AnchorLogError(
            f"anchor key file {key_file} is missing but anchor log {log_path} has entries: "
            "restore the key file (a new key would orphan the log); nothing was created"
        )
    if has_entries:
        anchor_log = AnchorLog(log_path, load_key(key_file))
        anchor_log.last()  # readable, whole and ours, or a one-line error now
        return anchor_log.key, anchor_log
    key = load_key(key_file, create=True)
    return key, AnchorLog(log_path, key)
