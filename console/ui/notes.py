"""The agent's call notes: saved as they are typed, never lost on hang-up or on close.

Every debounced edit is written twice: first to a draft file per call (fsynced, replaced
atomically), then to the duty record — `update_open_call` while the call is open, an
amendment with the reason "after-call work" once the flow has sealed it. The draft file is
what survives a closed console or a database outage.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from console.domain.wrap_up import follow_up_due
from console.store import CallFilter, SealedRecordError, StoreError
from console.ui.errors import WordedError

log = logging.getLogger("console.ui.notes")

_SAFE = re.compile(r"[^A-Za-z0-9._-]")

FINISHED_KEPT = 32
"""How many finished calls `RecordNotes` remembers, to refuse their late saves."""


class NotesError(WordedError):
    """Notes that cannot be kept (an unwritable draft); worded in the seat's language.
    Whether notes can finish the call is the domain's rule (`console.domain.wrap_up`)."""

    title = "Call notes"
    title_key = "notes.error"


@dataclass(frozen=True)
class CallNotes:
    """What the agent records about one call (duty rules §3 step 5); all text."""

    category: str = ""
    """A `console.domain.Category` value, or empty."""
    caller_name: str = ""
    contact: str = ""
    address: str = ""
    content: str = ""
    action: str = ""
    result: str = ""
    """A `console.domain.Outcome` value, or empty."""
    follow_up_due: str = ""
    """"YYYY-MM-DD HH:MM" local time, or empty."""

    def record_facts(self) -> dict[str, str]:
        """The non-empty fields under the duty record's fact names."""
        facts = {
            "category": self.category,
            "caller_name": self.caller_name,
            "contact": self.contact,
            "address": self.address,
            "content": self.content,
            "action": self.action,
            "result": self.result,
            "follow_up": self.follow_up_due,
        }
        return {k: v for k, v in facts.items() if v}

    def due_at(self, tz: dt.tzinfo) -> dt.datetime | None:
        """The follow-up due time, or None; the domain's coded `WrapUpError` for a
        malformed one (`console.domain.wrap_up.follow_up_due`)."""
        return follow_up_due(self.follow_up_due, tz)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallNotes:
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in known})


class DraftBook:
    """Note drafts on disk, one JSON file per call; a newer version always wins."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}

    def path(self, call_id: str) -> Path:
        name = _SAFE.sub("_", call_id)[:120] or "call"
        return self.directory / f"{name}.json"

    def save(self, call_id: str, notes: CallNotes, version: int) -> bool:
        """Write the draft if `version` is newer than the last written; True if written."""
        with self._lock:
            if self._versions.get(call_id, -1) >= version:
                return False
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                target = self.path(call_id)
                tmp = target.with_suffix(".tmp")
                data = {"call_id": call_id, "version": version, "notes": asdict(notes)}
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except OSError as exc:
                raise NotesError("notes.draft_unwritable", call=call_id, detail=exc) from exc
            self._versions[call_id] = version
            return True

    def forget(self, call_id: str) -> None:
        """The call's notes are final (F10): drop its version (the file stays on disk)."""
        with self._lock:
            self._versions.pop(call_id, None)

    def discard(self, call_id: str) -> None:
        """The call's final notes are in the record: its draft file goes (one file per call
        piled up for the seat's life). A draft that cannot be removed is only logged."""
        with self._lock:
            self._versions.pop(call_id, None)
            try:
                self.path(call_id).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("draft for %s not removed: %s", call_id, exc)

    def load(self, call_id: str) -> CallNotes | None:
        try:
            data = json.loads(self.path(call_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("draft for %s unreadable: %s", call_id, exc)
            return None
        return CallNotes.from_dict(data.get("notes", {}))


class RecordNotes:
    """Writes notes into the duty record for a call known by its SIP Call-ID."""

    def __init__(
        self, store: Any, now: Callable[[], dt.datetime] | None = None, who: str = ""
    ) -> None:
        self.store = store
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.who = who
        self._keys: dict[str, str] = {}
        self._written: dict[str, dict[str, str]] = {}
        self._versions: dict[str, int] = {}
        """The newest version of each call's notes written (`write`'s `version`)."""
        self._finished: OrderedDict[str, None] = OrderedDict()
        """Calls whose notes are final (`forget`), the newest `FINISHED_KEPT`: a save of
        theirs still under way writes nothing (it would repeat every fact as an amendment)."""
        self._lock = threading.Lock()

    def finished(self, call_id: str) -> bool:
        """Whether the call's notes were made final (`forget`), among the newest
        `FINISHED_KEPT` such calls."""
        with self._lock:
            return call_id in self._finished

    def forget(self, call_id: str) -> None:
        """The call's notes are final and in the record (F10): drop what is kept about it."""
        with self._lock:
            self._keys.pop(call_id, None)
            self._written.pop(call_id, None)
            self._versions.pop(call_id, None)
            self._finished[call_id] = None
            while len(self._finished) > FINISHED_KEPT:
                self._finished.popitem(last=False)

    def _key(self, call_id: str) -> str | None:
        if call_id in self._keys:
            return self._keys[call_id]
        since = self.now() - dt.timedelta(days=1)
        for record in self.store.calls(CallFilter(since=since)):
            if record.sip_call_id == call_id:
                self._keys[call_id] = record.key
                return record.key
        return None

    def key(self, call_id: str) -> str | None:
        """The duty-record key of the call (blocking on the first lookup: from a worker)."""
        with self._lock:
            return self._key(call_id)

    def write(self, call_id: str, notes: CallNotes, who: str, version: int | None = None) -> str:
        """Put the notes into the record; returns "open", "amended", "unchanged", "no record",
        "finished" (the call's notes were final already: nothing written) or "stale".

        `version` (the form's count of edits): two saves of one call run in two workers,
        and the older could land last and put the older text back; a version no newer than
        the one written is "stale" and writes nothing.
        """
        with self._lock:
            if call_id in self._finished:
                return "finished"
            if version is not None and version <= self._versions.get(call_id, -1):
                return "stale"
            key = self._key(call_id)
            if key is None:
                return "no record"
            facts = notes.record_facts()
            before = self._written.get(call_id, {})
            changed = {k: v for k, v in facts.items() if before.get(k) != v}
            if not changed:
                if version is not None:
                    self._versions[call_id] = version
                return "unchanged"
            try:
                self.store.update_open_call(key, **changed)
                outcome = "open"
            except SealedRecordError:
                for name, value in changed.items():
                    self.store.amend(
                        key, name, value, who=who or "agent", why="话后处理 after-call work"
                    )
                outcome = "amended"
            except StoreError:
                raise
            self._written[call_id] = {**before, **changed}
            if version is not None:
                self._versions[call_id] = version
            return outcome


def merged(notes: CallNotes, **changes: str) -> CallNotes:
    """`notes` with some fields changed (a small helper for forms and tests)."""
    return replace(notes, **changes)
