"""`verify` against what lies outside the database: the anchor log and the open calls' bindings.

The hash chains (`DutyRecord.verify`) see a changed byte, a gap or a reordering, but not a
tail cut together with `chain_heads`, a rewrite with recomputed hashes, deleted `anchors`
rows or a row INSERTed as an open call. Each of those is named here, one line per finding:

- a cut tail: an anchored (seq, hash) the chain no longer reaches;
- a rewritten record: the record at an anchored seq has another hash;
- missing anchors: the log edited (a MAC or a link fails), cut (the record holds the mark of
  an entry the log no longer has), replaced (a mark's MAC differs), or the record's own
  `anchors` rows fewer than an entry counted;
- rows no writer of ours made: a call whose open binding (`calls.open_mac`) is wrong, an
  open call with none, or a sealed call with none after the line's calls had one.

A missing anchor log is a finding when the record shows it was kept (marks of its entries,
or calls bound under the anchor key, which only a line that keeps the log writes): someone
removed or moved it. A record that shows no sign of one (written before the log existed, or
by tools) gets a note instead, so upgrading an old record is not called tampering.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, func, select, type_coerce

from console.store.anchor_log import LOG_CHAIN, AnchorLog, AnchorLogError, LogEntry
from console.store.chain import open_binding_holds
from console.store.models import AnchorRow, CallRow
from console.store.values import Anchor, VerifyReport

MAX_LISTED = 20
"""Findings of one kind listed one by one; past that, one line says how many more."""


@dataclass(frozen=True)
class LoggedAnchor(Anchor):
    """A chain head taken from the anchor log: its text says which entry it came from."""

    entry: int = 0
    at: str = ""

    def text(self) -> str:
        return f"{super().text()} (anchor log entry {self.entry}, {self.at})"


@dataclass
class IntegrityReport:
    """What `verify` found: the chains' walk and every finding, one line each."""

    chains: VerifyReport
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Not findings: what was not checked, and why."""
    entries: int = 0
    """Anchor log entries whose MAC holds."""

    @property
    def ok(self) -> bool:
        return not self.findings


def logged_anchors(entries: Iterable[LogEntry]) -> list[Anchor]:
    """Each distinct (chain, seq, hash) the log holds, as anchors for the chain walk."""
    seen: set[tuple[str, int, str]] = set()
    result: list[Anchor] = []
    for entry in entries:
        for chain, (seq, row_hash) in entry.heads.items():
            if seq < 1 or (chain, seq, row_hash) in seen:
                continue
            seen.add((chain, seq, row_hash))
            result.append(LoggedAnchor(chain, seq, row_hash, None, entry.n, entry.at))
    return result


def check(
    store: Any,
    anchors: Iterable[Anchor] = (),
    *,
    log_path: Path | None = None,
    key: bytes | None = None,
) -> IntegrityReport:
    """Verify `store` (a `DutyRecord`) against the anchor log at `log_path` under `key`.

    `log_path` None: no log to check (a note says so). A log that exists but no key to read
    it with is `AnchorLogError` (exit 2: cannot check, not a finding). The chain walk gets
    the log's heads with `anchors` (given on the command line).
    """
    findings: list[str] = []
    notes: list[str] = []
    entries: list[LogEntry] = []
    with store.engine.connect() as conn:
        marks: dict[int, list[tuple[str, datetime]]] = {}
        for n, mac, at in conn.execute(
            select(AnchorRow.seq, AnchorRow.row_hash, AnchorRow.at).where(
                AnchorRow.chain == LOG_CHAIN
            )
        ):
            marks.setdefault(int(n), []).append((str(mac), at))
        own = int(
            conn.scalar(
                select(func.count()).select_from(AnchorRow).where(AnchorRow.chain != LOG_CHAIN)
            )
            or 0
        )
        bound = conn.scalar(select(CallRow.id).where(CallRow.open_mac.is_not(None)).limit(1))
    if log_path is None:
        notes.append("anchor log: none checked (no --anchor-log, and no config that keeps one)")
    else:
        anchor_log = AnchorLog(log_path, key or b"")
        if anchor_log.exists():
            if key is None:
                raise AnchorLogError(f"anchor log {log_path} exists but no anchor key to check it")
            reading = anchor_log.read()
            findings.extend(reading.findings)
            entries = reading.entries
            findings.extend(_marks(log_path, entries, marks))
            findings.extend(_own_anchors(entries, own))
        elif marks or bound is not None:
            why = (
                f"{len(marks)} of its entries left their mark in the record"
                if marks
                else "calls in the record were opened by a line that keeps one"
            )
            findings.append(
                f"missing anchors: there is no anchor log at {log_path}, but {why} — "
                "the log was removed or moved (restore it, or give --anchor-log)"
            )
        else:
            notes.append(
                f"anchor log: none at {log_path} yet (this record shows no sign of one: "
                "written before anchoring, or by tools)"
            )
    if key is not None:
        findings.extend(_bindings(store, key, entries))
    else:
        notes.append("open bindings: not checked (no anchor key)")
    report = store.verify([*anchors, *logged_anchors(entries)])
    if report.problem:
        findings.insert(0, report.problem)
    return IntegrityReport(report, findings, notes, len(entries))


def _marks(
    log_path: Path, entries: list[LogEntry], marks: dict[int, list[tuple[str, datetime]]]
) -> list[str]:
    """The record's marks of log entries against the log: a cut or a replaced log."""
    found: list[str] = []
    by_n = {e.n: e for e in entries}
    last = max(by_n, default=0)
    beyond = sorted(n for n in marks if n > last)
    if beyond:
        n = beyond[-1]
        found.append(
            f"missing anchors: anchor log {log_path} ends at entry {last}, but the record "
            f"holds the mark of entry {n} (written {marks[n][-1][1]:%Y-%m-%d %H:%M:%S}) — the "
            "log was cut or replaced"
        )
    replaced = [
        n for n in sorted(marks) if n in by_n and any(m != by_n[n].mac for m, _ in marks[n])
    ]
    if replaced:
        found.append(
            f"missing anchors: anchor log {log_path} entry {replaced[0]} is not the entry the "
            f"record saw ({len(replaced)} such) — the log was replaced"
        )
    return found


def _own_anchors(entries: list[LogEntry], own: int) -> list[str]:
    """The record's own `anchors` rows (handover, sign-off) against the counts the log saw."""
    top = max(entries, key=lambda e: e.anchors, default=None)
    if top is None or own >= top.anchors:
        return []
    return [
        f"missing anchors: the record holds {own} anchors rows, but anchor log entry {top.n} "
        f"({top.at}) counted {top.anchors} — anchors rows deleted"
    ]


def _bindings(store: Any, key: bytes, entries: list[LogEntry]) -> list[str]:
    """Calls that no writer of ours opened: a wrong binding, or none where one is due.

    A call without a binding is due one when it is open (every open since the bindings is
    bound; one left open across the upgrade is named too, to be looked at), or when its line
    already has a bound call before it, or when it lies past the line's head in the first
    log entry (the line anchored, so it bound every call after).
    """
    first = entries[0].heads if entries else {}
    sqlite = store.engine.dialect.name == "sqlite"
    ring = type_coerce(CallRow.ring_at, String()) if sqlite else CallRow.ring_at
    query = (
        select(
            CallRow.key, CallRow.line, ring, CallRow.caller_number, CallRow.caller_display,
            CallRow.sip_call_id, CallRow.open_mac, CallRow.sealed_at.is_(None),
            CallRow.chain, CallRow.seq, CallRow.outcome, CallRow.seat,
            CallRow.kind, CallRow.follow_up_key,
        )
        .order_by(CallRow.line, CallRow.seq.is_(None), CallRow.seq, CallRow.id)
        .execution_options(yield_per=5000)
    )
    found: list[str] = []
    more = 0
    bound_lines: set[str] = set()
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            (call_key, line, ring_at, number, display, call_id, mac, is_open, chain, seq,
             outcome, seat, kind, follow_up_key) = row
            if sqlite:
                try:
                    ring_at = datetime.fromisoformat(str(ring_at) + "+00:00")
                except ValueError:
                    continue  # a damaged time: the chain walk names it
            facts = {
                "key": call_key, "line": line, "ring_at": ring_at, "caller_number": number,
                "caller_display": display, "sip_call_id": call_id, "seat": seat,
                "kind": kind, "follow_up_key": follow_up_key,
            }
            state = "open" if is_open else f"sealed {outcome}, seq {seq}"
            where = f"calls key={call_key} (line {line}, {state})"
            problem = None
            if mac is not None:
                if open_binding_holds(key, facts, mac):
                    bound_lines.add(line)
                    continue
                problem = (
                    f"{where}: its open binding does not match — not made by a writer of "
                    "ours (forged, or its caller or ring time changed)"
                )
            elif is_open:
                problem = (
                    f"{where}: open without a binding — not made by a writer of ours "
                    "(INSERTed by hand?); start-up will not seal it"
                )
            elif line in bound_lines or (chain in first and seq is not None
                                         and seq > first[chain][0]):
                problem = (
                    f"{where}: no open binding, though the line bound its calls by then — "
                    "not made by a writer of ours (a forged row sealed as a call)"
                )
            if problem is None:
                continue
            if len(found) < MAX_LISTED:
                found.append(problem)
            else:
                more += 1
    if more:
        found.append(f"… and {more} more calls not made by a writer of ours")
    return found
