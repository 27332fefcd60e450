"""`DutyRecord`: the one object the call flow and the screens use to keep the duty record.

A façade: each method is one rule of the record, kept in a module named for it —

- `console.store.sealing`: a call from its first ring to its seal; a crash's open calls
  sealed as interrupted only when bound (and the outbox's open/update/seal entries);
- `console.store.amendments`: never edited, only amended, with who and why;
- `console.store.reads` over `console.store.statements`: what the screens, figures and
  exports read, by statements compiled once per filter shape;
- `console.store.agents`: personal IDs, secrets, lockout, states; `console.store.seats`:
  one process per seat name; `console.store.shifts`: handovers, follow-ups, event reports;
- `console.store.audit`: the audit log's alarms and the security log;
- `console.store.links` (appending to a chain, anchors) and `console.store.walk` (verify's
  walk of every chain); `console.store.archive` keeps retention;
- `console.store.core`: sessions, transactions, the outbox hand-off and the alarms, which
  `DutyRecord` inherits. `console.store.facts` checks every fact before it is written.

The rule modules never import this one (an import-linter contract); here they are composed,
and the outbox's entries are dispatched to the rule that applies them (`apply_entry`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from console.store import agents as _agents
from console.store import amendments as _amendments
from console.store import audit as _audit
from console.store import callbacks as _callbacks
from console.store import links as _links
from console.store import reads as _reads
from console.store import sealing as _sealing
from console.store import seats as _seats
from console.store import shifts as _shifts
from console.store import walk as _walk
from console.store.core import RecordCore, StoreAlarm, unused_session
from console.store.facts import coerce_fact, cut_mark, cut_text
from console.store.statements import ReadStatement
from console.store.values import (
    Agent,
    AgentRole,
    AgentState,
    AgentStateChange,
    Amendment,
    Anchor,
    AuditEntry,
    CallerCall,
    CallFilter,
    CallOutcome,
    CallRecord,
    EventReport,
    FollowUp,
    FollowUpStatus,
    Handover,
    Kpis,
    SeatInfo,
    SecuritySummary,
    VerifyReport,
)

__all__ = ["DutyRecord", "StoreAlarm", "coerce_fact", "cut_mark", "cut_text"]

_T = TypeVar("_T")


class DutyRecord(RecordCore):
    """The duty record: calls from the first ring to the seal, amendments, agents, shifts.

    `url` is a SQLAlchemy URL or a plain file path (SQLite). `tz` is the duty line's local
    time zone (calls per hour, day boundaries). `on_alarm` hears of outages.
    """

    # ---------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Stop the writer (what it can't apply in 5 s stays in the outbox), then the engine."""
        if self.writer is not None:
            self.writer.stop()
            self.writer = None
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None
        self.release_seat()
        self.engine.dispose()

    def __enter__(self) -> DutyRecord:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def apply_entry(self, op: str, args: dict[str, Any], live: bool = False) -> None:
        """Apply one outbox entry in its own transaction (the writer's thread).

        `live`: first attempt of a write made in this run, so a change to a call that is
        already sealed is refused (`SealedRecordError`) rather than taken as a replay.
        """
        with self._write_lock:
            payload = {**args, "live": True} if live else args
            if op in _CORE_APPLY:
                self._run(
                    unused_session,
                    core=lambda c: _CORE_APPLY[op](self, c, payload),
                    core_engine=self._single_engine if op in _ONE_STATEMENT else None,
                )
            else:
                self._run(lambda s: _APPLY[op](self, s, payload))

    # ---------------------------------------------------------------- calls

    def open_call(
        self,
        line: str,
        ring_at: datetime | None = None,
        *,
        caller_number: str | None = None,
        caller_display: str | None = None,
        sip_call_id: str | None = None,
        seat: str | None = None,
    ) -> str:
        """Create the call's row at the first ring; returns its key (also before it is applied).

        `seat` names the seat taking the call, so its start-up seals only its own calls
        (`seal_interrupted_on_start(seat=...)`) when several seats share the record.
        """
        return _sealing.open_call(
            self,
            line,
            ring_at,
            caller_number=caller_number,
            caller_display=caller_display,
            sip_call_id=sip_call_id,
            seat=seat,
        )

    def update_open_call(self, key: str, **facts: Any) -> None:
        """Record facts known while the call is open (answered_at, answered_by, step, ...)."""
        _sealing.update_open_call(self, key, **facts)

    def seal_call(self, key: str, outcome: CallOutcome | str, **facts: Any) -> None:
        """Seal the call with its outcome and last facts; from now on it is unalterable."""
        _sealing.seal_call(self, key, outcome, **facts)

    def seal_interrupted_on_start(
        self, lines: Iterable[str] | None = None, seat: str | None = None
    ) -> list[str]:
        """Seal calls left open by a crash as *interrupted*; returns their keys.

        Pass this seat's lines and name when several seats share the database: only the
        calls this seat opened are sealed, never one another seat is handling now (all
        seats of a hotline write one line name, issue 13). Calls without a seat were
        written before seats had names (migration 0003), by a run that is gone: they are
        sealed too.
        """
        return _sealing.seal_interrupted_on_start(self, lines, seat)

    # ---------------------------------------------------------------- seats

    def claim_seat(self, name: str, host: str | None = None, pid: int | None = None) -> None:
        """Say that seat `name` runs here now, before its start-up seals what it left open.

        Refused with `SeatInUse` (one line, what to do): the name is held by another live
        process on this host, or by a seat on another host that never stopped (two seats
        under one name would seal each other's calls); on SQLite, any seat of another host
        that never stopped (a SQLite file has no locking between machines: PostgreSQL is the
        way). A seat that crashed on this host is taken over; `close` marks it stopped.
        """
        _seats.claim_seat(self, name, host, pid)

    def release_seat(self, name: str | None = None) -> bool:
        """Mark a seat stopped: this record's own claim, or `name` (a seat that is gone).

        Returns whether a running seat was marked. A failure is logged, never raised when
        releasing this record's own claim (it runs at shutdown).
        """
        return _seats.release_seat(self, name)

    def seats(self) -> list[SeatInfo]:
        """Every seat that used this record: name, host, pid, started, stopped (None: running)."""
        return _seats.seats(self)

    # ---------------------------------------------------------------- amendments

    def get_call(self, key: str, amended: bool = True) -> CallRecord:
        """One call; with `amended`, the latest amendment of each field applied."""
        return _reads.get_call(self, key, amended)

    def amend(self, call_key: str, field: str, new_value: Any, who: str, why: str) -> Amendment:
        """Correct one field of a sealed call by a new, chained amendment row."""
        return _amendments.amend(self, call_key, field, new_value, who, why)

    def amendments(self, call_key: str) -> list[Amendment]:
        return _amendments.amendments(self, call_key)

    # ---------------------------------------------------------------- review

    def calls(self, flt: CallFilter | None = None, amended: bool = True) -> list[CallRecord]:
        """Sealed and open calls matching the filter, oldest ring first."""
        return _reads.calls(self, flt, amended)

    def read(
        self,
        sql: ReadStatement,
        values: dict[str, Any],
        then: Callable[[Connection, Sequence[Any]], _T],
    ) -> _T:
        """Run a compiled read with `values` and hand its rows (the driver's tuples) to `then`.

        The statement goes to the driver's cursor on a pooled connection through
        SQLAlchemy's own cursor-execute path (its cursor events, logging and disconnect
        handling: the connection is invalidated on a lost server), but with no execution
        context, result object or transaction of its own: a single SELECT reads one
        snapshot by itself (SQLite's implicit read transaction; autocommit on PostgreSQL,
        as the figures). What `then` reads on `conn` (amendments, rare) is a second
        statement. Driver failures become `StoreError`s.
        """
        return _reads.read(self, sql, values, then)

    def iter_sealed_calls(
        self, flt: CallFilter, batch: int = 1000
    ) -> Generator[tuple[CallRecord, list[Amendment]], None, None]:
        """Sealed calls matching `flt` (limit ignored), oldest ring first, with amendments.

        Each record carries its values as sealed; its amendments (oldest first) come beside
        it, not applied. One query for the whole period — every call LEFT JOINed to its
        amendments (rare), read `batch` rows at a time (a server-side cursor on PostgreSQL)
        — so an export of a month neither asks once per call nor holds the month in memory.
        The read transaction stays open while the caller consumes the iterator; closing it
        early (or an exception in the consumer) ends the transaction. Driver failures
        mid-read raise the `StoreError` a user can act on (e.g. `DatabaseUnavailable`).
        One row per caller's call, as `kpis` counts them: the leg that speaks for it
        (`console.domain.caller_call`); the other seats' legs are left out.
        """
        return _reads.iter_sealed_calls(self, flt, batch)

    def caller_call(self, key: str, amended: bool = True) -> CallerCall:
        """The caller's call that the leg `key` belongs to: every seat's leg with its SIP
        Call-ID, and the leg that speaks for it (who answered, at which seat)."""
        return _reads.caller_call(self, key, amended)

    def caller_calls(
        self, since: datetime, until: datetime, line: str | None = None
    ) -> list[CallerCall]:
        """The caller's calls that rang in [since, until), oldest first: one per caller,
        whichever seats rang, as `kpis` and the exports count them."""
        return _reads.caller_calls(self, since, until, line)

    def seats_rang(self, since: datetime, until: datetime) -> dict[str, tuple[str, ...]]:
        """SIP Call-ID → seats whose legs rang, for the period's calls rung at two seats or
        more (the exports' 振铃坐席)."""
        return _reads.seats_rang(self, since, until)

    def day_bounds(self, day: Any) -> tuple[datetime, datetime]:
        """[start, end) of a local calendar day, as aware datetimes."""
        return _reads.day_bounds(self, day)

    def gate_post_calls(self, since: datetime, until: datetime) -> list[CallRecord]:
        """The night's forwarded and gate-post calls, for the morning review."""
        return _reads.gate_post_calls(self, since, until)

    def kpis(
        self,
        since: datetime,
        until: datetime,
        ring_limit_seconds: float | None = None,
        flt: CallFilter | None = None,
    ) -> Kpis:
        """Figures for sealed calls that rang in [since, until) (values as sealed).

        Callers, not legs: one count per caller's call whichever seats rang, from the leg
        that speaks for it (`console.domain.caller_call`); a call every leg of which was
        taken elsewhere was answered outside this record and is left out.
        """
        return _reads.kpis(self, since, until, ring_limit_seconds, flt)

    def latest_time(self) -> datetime | None:
        """The latest moment the record holds (a ring, a seal, a state change, an audit
        entry, a follow-up, an amendment); None for an empty record.

        A pretend clock (demos, tests) continues from here instead of starting over, so a
        day's list never mixes runs out of order (issue 11, point 5).
        """
        return _reads.latest_time(self)

    # ---------------------------------------------------------------- agents

    def create_agent(self, agent_id: str, name: str, role: AgentRole, secret: str) -> Agent:
        """Add an agent ID with its secret (stored as a salted scrypt hash)."""
        return _agents.create_agent(self, agent_id, name, role, secret)

    def verify_secret(self, agent_id: str, secret: str) -> Agent:
        """Check a login; counts failures and locks the ID after `lockout_failures`."""
        return _agents.verify_secret(self, agent_id, secret)

    def unlock_agent(self, agent_id: str, supervisor: str) -> Agent:
        """A supervisor lifts a lockout before it ends (duty rules §4: personal IDs, so the
        agent must not borrow another's meanwhile); audited with who lifted it.

        Refused in one line: `supervisor` not an active supervisor ID, an unknown agent ID,
        an ID that is not locked (nothing to lift; nothing is written).
        """
        return _agents.unlock_agent(self, agent_id, supervisor)

    def agents(self) -> list[Agent]:
        return _agents.agents(self)

    def set_agent_state(
        self,
        agent_id: str,
        state: AgentState,
        reason: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Log an agent state change (through the outbox, when one is attached)."""
        _agents.set_agent_state(self, agent_id, state, reason, at)

    def agent_states(
        self, agent_id: str | None = None, since: datetime | None = None
    ) -> list[AgentStateChange]:
        return _agents.agent_states(self, agent_id, since)

    # ---------------------------------------------------------------- shifts

    def write_handover(self, outgoing: str, notes: str, open_items: str) -> Handover:
        """The outgoing agent's handover, stamped with every chain head (also anchored)."""
        return _shifts.write_handover(self, outgoing, notes, open_items)

    def accept_handover(self, key: str, incoming: str) -> Handover:
        return _shifts.accept_handover(self, key, incoming)

    def sign_handover(self, key: str, supervisor: str) -> Handover:
        """The supervisor's daily sign-off (also records anchors of every chain)."""
        return _shifts.sign_handover(self, key, supervisor)

    def handovers(self, since: datetime | None = None) -> list[Handover]:
        return _shifts.handovers(self, since)

    def add_follow_up(
        self, owner: str, description: str, due_at: datetime, call_key: str | None = None
    ) -> FollowUp:
        """A follow-up owned by the first agent (首问负责) until closed; carried across shifts."""
        return _shifts.add_follow_up(self, owner, description, due_at, call_key)

    def file_follow_up(
        self, owner: str, description: str, due_at: datetime, call_key: str | None = None
    ) -> str:
        """`add_follow_up` for the call path: through the outbox when one is attached, so a
        call's end never waits for the database; returns the follow-up's key."""
        return _shifts.file_follow_up(self, owner, description, due_at, call_key)

    def close_follow_up(
        self, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
    ) -> FollowUp:
        return _shifts.close_follow_up(self, key, who, note, status)

    def follow_ups(
        self, owner: str | None = None, status: FollowUpStatus | None = FollowUpStatus.OPEN
    ) -> list[FollowUp]:
        return _shifts.follow_ups(self, owner, status)

    # ---------------------------------------------------------------- callbacks (回访)

    def callback_target(self, follow_up_key: str) -> _callbacks.CallbackTarget:
        """A follow-up with its call's caller number: what a callback may dial."""
        return _callbacks.callback_target(self, follow_up_key)

    def is_supervisor(self, agent_id: str) -> bool:
        """Whether `agent_id` is an active supervisor ID."""
        return _callbacks.is_supervisor(self, agent_id)

    def open_callback(
        self,
        line: str,
        follow_up_key: str,
        number: str,
        agent_id: str,
        *,
        seat: str | None = None,
        sip_call_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """A callback's call row (kind `callback`, linked to its follow-up); returns its key."""
        return _callbacks.open_callback(self, line, follow_up_key, number, agent_id, seat=seat,
                                        sip_call_id=sip_call_id, at=at)

    def callback_answered(self, key: str, at: datetime) -> None:
        _callbacks.callback_answered(self, key, at)

    def seal_callback(
        self, key: str, outcome: CallOutcome, *, ended_at: datetime, end_reason: str,
        action: str, recording: str | None = None, answered_at: datetime | None = None,
    ) -> None:
        """Seal a callback with its outcome (reached / no answer / busy / failed)."""
        _callbacks.seal_callback(self, key, outcome, ended_at=ended_at, end_reason=end_reason,
                                 action=action, recording=recording, answered_at=answered_at)

    def close_by_callback(self, follow_up_key: str, call_key: str, who: str, number: str) -> None:
        """Close the follow-up as done: callback `call_key` reached the caller (outbox)."""
        _callbacks.close_by_callback(self, follow_up_key, call_key, who, number)

    def close_follow_up_by_hand(
        self, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
    ) -> FollowUp:
        """Close by hand as the domain allows: a follow-up with a number to call back closes
        by a callback that reached the caller, or by a supervisor (`InvalidFact` otherwise)."""
        return _callbacks.close_follow_up_by_hand(self, key, who, note, status)

    def callback_tally(
        self, follow_up_keys: list[str]
    ) -> dict[str, tuple[int, CallOutcome | None]]:
        """Per follow-up: its callbacks so far and the latest outcome (one read for a list)."""
        return _callbacks.callback_tally(self, follow_up_keys)

    def callbacks_of(self, follow_up_key: str) -> list[_callbacks.Callback]:
        """The callbacks of one follow-up, oldest first."""
        return _callbacks.callbacks_of(self, follow_up_key)

    def report_event(self, reporter: str, summary: str, call_key: str | None = None) -> str:
        """An emergency report (through the outbox, when one is attached); returns its key."""
        return _shifts.report_event(self, reporter, summary, call_key)

    def event_reports(self) -> list[EventReport]:
        return _shifts.event_reports(self)

    # ---------------------------------------------------------------- audit and security

    def audit(self, action: str, who: str, detail: str) -> None:
        """Log an export, verification, override or purge in the chained audit log."""
        _audit.audit(self, action, who, detail)

    def log_security_event(
        self,
        kind: str,
        source: str,
        method: str,
        count: int,
        detail: str,
        at: datetime | None = None,
    ) -> None:
        """Requests that were no call (a scanner, garbage) in the security log: its own
        chain (`~security`), through the outbox like every fact of the line."""
        _audit.log_security_event(self, kind, source, method, count, detail, at)

    def security_summary(self, since: datetime, until: datetime | None = None) -> SecuritySummary:
        """The security log from `since` (to `until`): requests, hosts, kinds."""
        return _audit.security_summary(self, since, until)

    def raise_alarm(
        self, kind: str, detail: str, who: str = "console", at: datetime | None = None
    ) -> None:
        """An alarm in the audit log (`alarm:<kind>`), written the call path's way: through
        the outbox when one is attached, so raising it never waits for the database."""
        _audit.raise_alarm(self, kind, detail, who, at)

    def audit_log(self) -> list[AuditEntry]:
        """The audit log (its own chain); the security log is `security_log`."""
        return _audit.audit_log(self)

    def audit_entries(self, action: str, since: datetime) -> list[AuditEntry]:
        """The audit log's entries of one `action` (e.g. `alarm:follow_up_unowned`) since
        `since`, oldest first: what a screen lists without reading the whole log."""
        return _audit.audit_entries(self, action, since)

    def security_log(self, since: datetime | None = None) -> list[AuditEntry]:
        """The security log's reports in order (action `security:<kind>`, who: the source)."""
        return _audit.security_log(self, since)

    # ---------------------------------------------------------------- integrity

    def chain_heads(self) -> list[Anchor]:
        """The head of every chain, as anchors to print (MAC'd if the store has a key)."""
        return _links.chain_heads(self)

    def record_anchors(self, purpose: str) -> list[Anchor]:
        """Store the current chain heads as anchors (handover, sign-off, export)."""
        return _links.record_anchors(self, purpose)

    def verify(
        self,
        anchors: Iterable[Anchor] = (),
        batch: int = 5000,
        *,
        progress: Callable[[int, int], None] | None = None,
        progress_every: int = 2000,
    ) -> VerifyReport:
        """Walk every chain; name the first record whose content, link or anchor fails.

        With `progress`, `progress(done, total)` is called before the walk (0, total),
        after every `progress_every` records checked, and once at the end (where a broken
        chain stops the walk, `done` stays short of `total`). `total` is the chained
        records counted in the same read at the start; records sealed meanwhile (a
        PostgreSQL walk reads new rows) raise it, never make `done` pass it.
        """
        return _walk.verify(self, anchors, batch, progress=progress, progress_every=progress_every)


# -------------------------------------------------------------------- outbox operations

_CORE_APPLY: dict[str, Callable[[RecordCore, Connection, dict[str, Any]], None]] = {
    "open": _sealing.apply_open,
    "update": _sealing.apply_update,
    "seal": _sealing.apply_seal,
}
"""Call-path writes that are plain Core statements: run live on a bare connection."""
_ONE_STATEMENT = frozenset({"open", "update"})
"""Call-path writes that send one statement when live (an update that finds nothing reads
once more to say why: still a single write)."""


def _on_session(
    fn: Callable[[RecordCore, Connection, dict[str, Any]], None],
) -> Callable[[RecordCore, Session, dict[str, Any]], None]:
    return lambda store, session, args: fn(store, session.connection(), args)


_APPLY: dict[str, Callable[[RecordCore, Session, dict[str, Any]], None]] = {
    **{op: _on_session(fn) for op, fn in _CORE_APPLY.items()},
    "agent_state": _agents.apply_agent_state,
    "event": _shifts.apply_event,
    "follow_up": _shifts.apply_follow_up,
    "audit": _audit.apply_audit,
    "security": _audit.apply_security,
    "callback_close": _callbacks.apply_callback_close,
}
