"""The duty record: calls, amendments, agents, handovers; append-only and tamper-evident.

Public API (everything else in this package is internal)::

    from console.store import DutyRecord, CallOutcome, CallFilter, AgentRole, AgentState

    record = DutyRecord("var/duty.db", tz=ZoneInfo("Asia/Shanghai"), on_alarm=cb)
    # or DutyRecord("postgresql+psycopg://duty@127.0.0.1:5432/duty") for several seats
    record.seal_interrupted_on_start(lines=["hotline"])     # once at start
    key = record.open_call("hotline", ring_at, caller_number="1380...", sip_call_id="...")
    record.update_open_call(key, answered_at=t, answered_by="1024", rings=2, step="greeting")
    record.seal_call(key, CallOutcome.ANSWERED, ended_at=t2, category="repair",
                     satisfaction=1, content="...", end_reason="remote_bye")
    record.amend(key, "category", "complaint", who="2001", why="misfiled")
    record.get_call(key)            # CallRecord, amendments applied (amended_fields says which)

Calls: `open_call` (at the first ring; returns a key, also while the DB is down),
`update_open_call(key, **facts)` while unsealed, `seal_call(key, outcome, **facts)`,
`seal_interrupted_on_start(lines)`, `get_call`, `amend(call_key, field, value, who, why)`,
`amendments(call_key)`. Facts are the names in `CALL_FACTS`; times must be aware datetimes;
`answered_by` is an agent ID, `"auto"` or `"gate_post"`; `category` a key of `CATEGORIES`
(or its Chinese label); `satisfaction` 1/2/3 or None. A bad fact raises `InvalidFact`,
a sealed call `SealedRecordError`, an unknown key `UnknownRecord`.

Review: `calls(CallFilter(since, until, line, agent, category, outcome, satisfaction,
forwarded, hours, limit))` (every seat's leg), `caller_calls(since, until)` and
`caller_call(key)` → `CallerCall` (one per caller's call, whichever seats rang: the leg that
speaks for it, the legs, seats rang), `day_bounds(date)`, `kpis(since, until, ring_limit_seconds)` →
`Kpis` (answer_rate 接通率, within_limit_rate, averages, satisfaction, follow-ups, calls per
hour), `gate_post_calls(since, until)`.

Agents: `create_agent(id, name, role, secret)` (scrypt), `verify_secret(id, secret)` →
`Agent` or `AuthError` / `AgentLocked` (after `lockout_failures`), `unlock_agent`,
`set_agent_state(id, state, reason)`, `agent_states(id)`.

Shifts: `write_handover(outgoing, notes, open_items)` (stamped with every chain head),
`accept_handover(key, incoming)`, `sign_handover(key, supervisor)`, `handovers()`,
`add_follow_up(owner, description, due_at, call_key)`, `close_follow_up`, `follow_ups`,
`report_event(reporter, summary, call_key)`, `audit(action, who, detail)`, `audit_log()`.

Callbacks (回访, `console.store.callbacks`): `callback_target(follow_up_key)` (the follow-up
with its call's caller number), `open_callback(line, follow_up_key, number, agent_id)` (a call
row of kind `callback` linked to the follow-up), `callback_answered`, `seal_callback(key,
outcome)` (reached / no_answer / busy / failed), `close_by_callback` (the follow-up done,
through the outbox), `close_follow_up_by_hand` (as `console.domain.callback` allows),
`callbacks_of(follow_up_key)`, `callback_tally(keys)`.

Integrity: `chain_heads()` / `record_anchors(purpose)` → `Anchor` (`line:seq:hash[:hmac]`),
`verify(anchors)` → `VerifyReport` (`ok`, `problem` names the first bad record).

Outages: a line or seat attaches an `Outbox` (`attach_outbox`): call-path writes
(open/update/seal, agent state, event report) are appended to it, fsynced, and return at
once; `RecordWriter` applies them in order, exactly once, retrying while the database is
away. `on_alarm(StoreAlarm)` hears `db_down` / `db_back` / `record_refused`. Every failure
is a `StoreError` with a `title`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.store.errors import (
    AgentLocked,
    ArchiveRefused,
    AuthError,
    BadDatabaseUrl,
    CorruptDatabase,
    DatabaseUnavailable,
    ForeignDatabase,
    IntegrityFailure,
    InvalidFact,
    ReadOnlyDatabase,
    SchemaError,
    SealedRecordError,
    SeatInUse,
    StoreError,
    UnknownRecord,
)
from console.store.outbox import Outbox, OutboxError, OutboxStatus
from console.store.values import (
    AMENDABLE,
    ANSWERED_BY_AUTO,
    ANSWERED_BY_GATE_POST,
    CALL_FACTS,
    CATEGORIES,
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

__all__ = [
    "AMENDABLE",
    "ANSWERED_BY_AUTO",
    "ANSWERED_BY_GATE_POST",
    "CALL_FACTS",
    "CATEGORIES",
    "Agent",
    "AgentLocked",
    "AgentRole",
    "AgentState",
    "AgentStateChange",
    "Amendment",
    "Anchor",
    "ArchiveRefused",
    "AuditEntry",
    "AuthError",
    "BadDatabaseUrl",
    "CallFilter",
    "CallOutcome",
    "CallRecord",
    "CallerCall",
    "CorruptDatabase",
    "DatabaseUnavailable",
    "DutyRecord",
    "EventReport",
    "FollowUp",
    "FollowUpStatus",
    "ForeignDatabase",
    "Handover",
    "IntegrityFailure",
    "InvalidFact",
    "Kpis",
    "Outbox",
    "OutboxError",
    "OutboxStatus",
    "ReadOnlyDatabase",
    "SchemaError",
    "SealedRecordError",
    "SeatInUse",
    "SeatInfo",
    "SecuritySummary",
    "StoreAlarm",
    "StoreError",
    "UnknownRecord",
    "VerifyReport",
]


if TYPE_CHECKING:
    from console.store.record import DutyRecord, StoreAlarm


def __getattr__(name: str) -> Any:
    """`DutyRecord` and `StoreAlarm` on first use (PEP 562): the facade pulls in SQLAlchemy
    and every rule module (~0.7 s), which a command that never opens the record (`check`,
    `--help`, the seat's first frame) need not wait for."""
    if name in ("DutyRecord", "StoreAlarm"):
        from console.store import record

        return getattr(record, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
