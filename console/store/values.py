"""Plain, frozen values that cross the store's boundary (never ORM rows).

The call flow and the screens run on other threads than the session that read a row, so
everything the store hands out is an immutable dataclass built inside the session.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.domain.agent import AgentState
from console.domain.labels import CALL_OUTCOME_LABELS
from console.domain.labels import CATEGORIES as _DOMAIN_CATEGORIES
from console.domain.outcome import CallOutcome

GENESIS = "0" * 64
"""The `prev_hash` of the first record of every chain."""

ANSWERED_BY_AUTO = "auto"
"""`answered_by` when the console answered by itself at the ring limit."""
ANSWERED_BY_GATE_POST = "gate_post"
"""`answered_by` when the gate post answered a forwarded call."""
NOT_AGENTS = (ANSWERED_BY_AUTO, ANSWERED_BY_GATE_POST)
"""`answered_by` values that are no agent's ID."""
ANSWERED_BY_ZH = {ANSWERED_BY_AUTO: "自动应答", ANSWERED_BY_GATE_POST: "门岗"}
"""How exports name the console and the gate post in 接听人."""


OUTCOME_ZH: dict[CallOutcome, str] = {o: zh for o, (zh, _en) in CALL_OUTCOME_LABELS.items()}
"""The record's outcome → its Chinese label (the domain's one table)."""

# Stored category value → Chinese label (duty rules §3 step 4): the domain's one table.
CATEGORIES = _DOMAIN_CATEGORIES


class AgentRole(enum.Enum):
    """What an agent ID may do."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    GATE_POST = "gate_post"


class FollowUpStatus(enum.Enum):
    """A follow-up (首问负责) is open until its owner closes it."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


CALL_FACTS: tuple[str, ...] = (
    "sip_call_id",
    "caller_number",
    "caller_display",
    "answered_at",
    "ended_at",
    "rings",
    "answered_by",
    "category",
    "caller_name",
    "contact",
    "address",
    "content",
    "action",
    "result",
    "satisfaction",
    "forwarded_to",
    "forward_method",
    "forward_result",
    "forwarded_at",
    "follow_up",
    "recording",
    "notes",
    "step",
    "end_reason",
)
"""Facts the call flow may set while a call is open (`update_open_call`, `seal_call`)."""

AMENDABLE: tuple[str, ...] = (
    *(f for f in CALL_FACTS if f not in ("sip_call_id", "step", "end_reason")),
    "outcome",
)
"""Fields a correction (amendment) may change; the original stays as it was sealed."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of the duty record as stored (amendments applied if asked for).

    Slotted: a review builds hundreds of these per query, and a slotted instance is
    filled several times faster than an instance dict (see
    `console.store.statements.records_from`).
    """

    key: str
    line: str
    ring_at: datetime
    sip_call_id: str | None = None
    caller_number: str | None = None
    caller_display: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    rings: int | None = None
    seconds_to_answer: float | None = None
    handling_seconds: float | None = None
    answered_by: str | None = None
    outcome: CallOutcome | None = None
    category: str | None = None
    caller_name: str | None = None
    contact: str | None = None
    address: str | None = None
    content: str | None = None
    action: str | None = None
    result: str | None = None
    satisfaction: int | None = None
    forwarded_to: str | None = None
    forward_method: str | None = None
    forward_result: str | None = None
    forwarded_at: datetime | None = None
    follow_up: str | None = None
    recording: str | None = None
    notes: str | None = None
    step: str | None = None
    end_reason: str | None = None
    sealed_at: datetime | None = None
    seq: int | None = None
    row_hash: str | None = None
    seat: str | None = None
    """The seat that took the call (None: written before seats had names)."""
    amended_fields: tuple[str, ...] = ()
    """Names of fields whose value here comes from an amendment."""

    @property
    def sealed(self) -> bool:
        return self.sealed_at is not None


@dataclass(frozen=True)
class Amendment:
    """A correction of one field of a sealed call: who, when and why."""

    key: str
    call_key: str
    field: str
    old_value: str | None
    new_value: str | None
    who: str
    why: str
    at: datetime


@dataclass(frozen=True)
class Agent:
    """An agent ID (工号) as the screens see it; never carries the secret."""

    agent_id: str
    name: str
    role: AgentRole
    active: bool = True
    locked_until: datetime | None = None


@dataclass(frozen=True)
class AgentStateChange:
    """One line of the agent state log."""

    agent_id: str
    state: AgentState
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Handover:
    """A shift handover (交接班): written by the outgoing agent, accepted, signed off."""

    key: str
    outgoing: str
    written_at: datetime
    notes: str
    open_items: str
    chain_heads: str
    """The anchors printed on the handover: `line:seq:hash` per chain, one per line."""
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    """A promise to get back to the caller, owned by the first agent (首问负责)."""

    key: str
    call_key: str | None
    owner: str
    description: str
    due_at: datetime
    status: FollowUpStatus
    created_at: datetime
    closed_at: datetime | None = None
    closing_note: str | None = None


@dataclass(frozen=True)
class EventReport:
    """An emergency (突发事件) report escalated to the supervisor."""

    key: str
    call_key: str | None
    reporter: str
    summary: str
    at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """An export, verification, override or purge, with who and what."""

    at: datetime
    action: str
    who: str
    detail: str


@dataclass(frozen=True)
class SecuritySummary:
    """The security log over a period, as supervisors see it: how often the line was
    probed, by how many hosts, of which kinds."""

    requests: int
    """Requests refused (each report counts the requests it stands for)."""
    sources: int
    by_kind: dict[str, int]
    """Kind value (`console.domain.security.SecurityKind`) → requests."""
    last_at: datetime | None


@dataclass(frozen=True)
class Anchor:
    """A chain head held outside the database: `line:seq:hash[:hmac]`."""

    chain: str
    seq: int
    row_hash: str
    mac: str | None = None

    def text(self) -> str:
        base = f"{self.chain}:{self.seq}:{self.row_hash}"
        return f"{base}:{self.mac}" if self.mac else base

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """Read `chain:seq:hash[:hmac]`; the chain name may not contain ':'."""
        parts = text.strip().split(":")
        if len(parts) not in (3, 4) or not parts[1].isdigit() or len(parts[2]) != 64:
            from console.store.errors import InvalidFact

            raise InvalidFact(f"{text!r} is not an anchor; expected line:seq:sha256hex[:hmac]")
        return cls(parts[0], int(parts[1]), parts[2], parts[3] if len(parts) == 4 else None)


@dataclass(frozen=True)
class CallFilter:
    """What a review query selects; every field is optional and they combine with AND."""

    since: datetime | None = None
    until: datetime | None = None
    line: str | None = None
    agent: str | None = None
    category: str | None = None
    outcome: CallOutcome | None = None
    satisfaction: int | None = None
    unrated: bool = False
    """Only calls without a survey answer (未评价): the caller gave none, or none was asked."""
    forwarded: bool | None = None
    hours: tuple[int, int] | None = None
    """Local ring hour range [from, to) for a shift, e.g. (8, 17)."""
    limit: int | None = None


@dataclass(frozen=True)
class SeatInfo:
    """A seat that uses the record (`DutyRecord.seats`): where it runs, since when."""

    name: str
    host: str
    pid: int
    started_at: datetime
    stopped_at: datetime | None
    """None while it runs (or after a crash, until its next start takes it over)."""


@dataclass(frozen=True)
class CallerCall:
    """One caller's call, whichever seats rang (issue 13): the leg that speaks for it and
    every leg, oldest ring first (`console.domain.caller_call` says which leg speaks)."""

    call: CallRecord
    """The leg that speaks for the caller: its outcome, who answered at which seat, rings
    and seconds to answer are the caller's."""
    legs: tuple[CallRecord, ...]
    """Every seat's row of this call (one for a single seat), oldest ring first."""

    @property
    def seats_rang(self) -> tuple[str, ...]:
        """The seats whose leg rang, in ring order (a leg written before seats had names
        is left out)."""
        return tuple(dict.fromkeys(leg.seat for leg in self.legs if leg.seat is not None))

    @property
    def answered_by(self) -> str | None:
        """The agent ID, `auto` or `gate_post` that answered; None if nobody did."""
        return self.call.answered_by if self.call.answered_at is not None else None

    @property
    def answered_at_seat(self) -> str | None:
        """The seat whose leg was answered; None if nobody answered (or no seat name)."""
        return self.call.seat if self.call.answered_at is not None else None


@dataclass(frozen=True)
class Kpis:
    """The supervisor's figures for a period (duty rules §6); `answer_rate` is 接通率."""

    since: datetime
    until: datetime
    total: int
    answered: int
    answered_within_limit: int
    missed: int
    abandoned: int
    forwarded: int
    interrupted: int
    avg_seconds_to_answer: float | None
    avg_handling_seconds: float | None
    satisfaction: dict[int | None, int] = field(default_factory=dict)
    """Survey answer (1, 2, 3, or None for no rating) → count, answered calls only."""
    open_follow_ups: int = 0
    overdue_follow_ups: int = 0
    calls_per_hour: dict[int, int] = field(default_factory=dict)
    """Local hour of day of the ring → count."""

    @classmethod
    def from_totals(
        cls,
        since: datetime,
        until: datetime,
        totals: Sequence[Any],
        satisfaction: dict[int | None, int],
        hours: dict[int, int],
        follow_ups: tuple[int, int],
    ) -> Kpis:
        """Build from one totals row (total, answered, within limit, missed, abandoned,
        forwarded, interrupted, avg answer s, avg handling s) — the one shape every KPI
        query returns, so overall and per-agent figures can't drift apart."""
        t = totals
        return cls(
            since=since,
            until=until,
            total=int(t[0]),
            answered=int(t[1]),
            answered_within_limit=int(t[2]),
            missed=int(t[3]),
            abandoned=int(t[4]),
            forwarded=int(t[5]),
            interrupted=int(t[6]),
            avg_seconds_to_answer=None if t[7] is None else round(float(t[7]), 3),
            avg_handling_seconds=None if t[8] is None else round(float(t[8]), 3),
            satisfaction=satisfaction,
            open_follow_ups=follow_ups[0],
            overdue_follow_ups=follow_ups[1],
            calls_per_hour=dict(sorted(hours.items())),
        )

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.total if self.total else None

    @property
    def within_limit_rate(self) -> float | None:
        return self.answered_within_limit / self.answered if self.answered else None


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found: records checked per chain and the first bad one, if any."""

    checked: int
    chains: dict[str, int]
    problem: str | None = None
    """First bad record, named (table, key, seq) with what does not match; None when sound."""

    @property
    def ok(self) -> bool:
        return self.problem is None
