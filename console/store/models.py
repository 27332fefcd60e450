"""The duty record's tables in SQLAlchemy 2.0 typed style.

Rows never leave the store: the rule modules (`console.store.sealing`, `reads`, …) turn them
into the frozen values of `console.store.values` inside the session. Tables that are part of
the unalterable record carry the chain columns (`ChainMixin`); the database refuses
UPDATE/DELETE on them once written or sealed (triggers in the Alembic migration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
"""How times are stored in SQLite: naive UTC, sortable as text (what SQLAlchemy uses too)."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive datetimes are refused.

    SQLite keeps them as naive UTC text (sortable); PostgreSQL as `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # On SQLite we format and parse the text ourselves (C-speed `fromisoformat`),
        # in the same sortable layout SQLAlchemy uses: "YYYY-MM-DD HH:MM:SS.ffffff".
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the duty record needs aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # stored as naive UTC: parse it as UTC in one step
            return datetime.fromisoformat(value + "+00:00")
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every duty-record table."""


class ChainMixin:
    """Columns of a record that is linked into a hash chain (one chain per line)."""

    chain: Mapped[str | None] = mapped_column(String(64))
    """Chain name: the line for calls and amendments, `~admin` / `~agents` for the rest."""
    seq: Mapped[int | None] = mapped_column(BigInteger)
    """Position in the chain, 1-based, no gaps."""
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class CallRow(ChainMixin, Base):
    """One call, from the first ring; sealed (and chained) when it ends."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_calls_chain_seq"),
        Index("ix_calls_ring_at", "ring_at"),
        Index("ix_calls_sealed_at", "sealed_at"),
        Index("ix_calls_open_seat", "line", "seat", "sealed_at"),
        Index("ix_calls_sip_call_id", "sip_call_id"),
        Index("ix_calls_seat", "seat"),
        Index("ix_calls_follow_up_key", "follow_up_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    line: Mapped[str] = mapped_column(String(64))
    ring_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ring_hour: Mapped[int] = mapped_column(Integer)
    """Local hour of the ring (0–23) in the store's time zone, for calls-per-hour."""
    sip_call_id: Mapped[str | None] = mapped_column(String(255))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_display: Mapped[str | None] = mapped_column(String(255))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rings: Mapped[int | None] = mapped_column(Integer)
    seconds_to_answer: Mapped[float | None] = mapped_column(Float)
    handling_seconds: Mapped[float | None] = mapped_column(Float)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(16))
    caller_name: Mapped[str | None] = mapped_column(String(255))
    contact: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    forwarded_to: Mapped[str | None] = mapped_column(String(255))
    forward_method: Mapped[str | None] = mapped_column(String(32))
    forward_result: Mapped[str | None] = mapped_column(String(64))
    forwarded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    follow_up: Mapped[str | None] = mapped_column(Text)
    recording: Mapped[str | None] = mapped_column(String(512))
    notes: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(64))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seat: Mapped[str | None] = mapped_column(String(64))
    """The seat that opened the call (migration 0003); None on rows written before it.

    Start-up recovery seals only its own seat's open calls, so a seat that restarts never
    touches a call another seat holds. A NULL seat stays out of the row's hash (chain.py),
    so rows hashed before the column existed still verify.
    """
    open_mac: Mapped[str | None] = mapped_column(String(64))
    """The open call's binding (migration 0004): HMAC under the anchor key of the facts known
    at the first ring (`chain.open_binding`). A row without a valid one was not opened by a
    writer of ours: start-up refuses to seal it, `verify` names it. None on rows written
    before 0004 (and left out of their hash, as `seat`)."""
    kind: Mapped[str | None] = mapped_column(String(16))
    """None for an incoming call; `callback` for a call the seat placed from a follow-up
    (migration 0007; `console.domain.callback`). NULL stays out of the hash, as `seat`."""
    follow_up_key: Mapped[str | None] = mapped_column(String(32))
    """The follow-up a callback calls back (migration 0007); None on every other call."""


class AmendmentRow(ChainMixin, Base):
    """A correction of one field of a sealed call; never changed itself."""

    __tablename__ = "amendments"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_amendments_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    call_key: Mapped[str] = mapped_column(ForeignKey("calls.key"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(64))
    why: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentRow(Base):
    """An agent ID (工号) with its scrypt-hashed secret and lockout counter (mutable)."""

    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(255))
    """`scrypt$n$r$p$salthex$hashhex`."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AgentStateRow(ChainMixin, Base):
    """One agent state change (login, ready, away with reason, ...)."""

    __tablename__ = "agent_states"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_agent_states_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.agent_id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class HandoverRow(ChainMixin, Base):
    """What the outgoing agent wrote, with the chain heads at that moment."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_handovers_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    outgoing: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text)
    open_items: Mapped[str] = mapped_column(Text)
    chain_heads: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SignatureRow(ChainMixin, Base):
    """An acceptance (incoming agent) or sign-off (supervisor) of a handover."""

    __tablename__ = "handover_signatures"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_signatures_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    handover_key: Mapped[str] = mapped_column(ForeignKey("handovers.key"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`accept` or `sign`."""
    agent_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class FollowUpRow(Base):
    """A follow-up work item; its status changes, so it is not part of the sealed chain."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    call_key: Mapped[str | None] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closing_note: Mapped[str | None] = mapped_column(Text)


class EventReportRow(ChainMixin, Base):
    """An emergency report (事件报告)."""

    __tablename__ = "event_reports"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_event_reports_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    call_key: Mapped[str | None] = mapped_column(String(32))
    reporter: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditRow(ChainMixin, Base):
    """An export, verification, override or purge."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    action: Mapped[str] = mapped_column(String(32))
    who: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChainHeadRow(Base):
    """The last link of each chain; updating it serialises writers of that chain."""

    __tablename__ = "chain_heads"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    row_hash: Mapped[str] = mapped_column(String(64))


class AnchorRow(Base):
    """A chain head recorded at a handover or sign-off, optionally with an HMAC."""

    __tablename__ = "anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    row_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CheckpointRow(Base):
    """Where an archived and purged prefix of a chain ended; `verify` resumes from here.

    Checkpoints are links of their own chain (`CHECKPOINT_CHAIN`): `chain` here names the
    chain that was archived, `seq`/`prev_hash`/`row_hash` place the checkpoint in the chain
    of checkpoints, so a forged or deleted checkpoint breaks a link that `verify` walks.
    """

    __tablename__ = "checkpoints"
    __table_args__ = (Index("uq_checkpoints_seq", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(64), index=True)
    """The chain whose prefix up to `upto_seq` was archived and purged."""
    upto_seq: Mapped[int] = mapped_column(BigInteger)
    upto_hash: Mapped[str] = mapped_column(String(64))
    archive_name: Mapped[str] = mapped_column(String(512))
    archive_digest: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    """Position in the chain of checkpoints, 1-based, no gaps."""
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class SeatRow(Base):
    """A seat that uses this record: where it runs and when it last said it was running.

    Not part of the unalterable record (a presence, not a fact). It lets a seat starting on
    a SQLite file see another machine's seat live on the same file and refuse (SQLite has no
    locking between machines over a shared file; several machines need PostgreSQL).
    """

    __tablename__ = "seats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the seat last said it runs (its start; a live board may refresh it)."""
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set by a clean stop; a crashed seat leaves it None (its next start takes it over)."""
    presence: Mapped[str | None] = mapped_column(Text)
    """The seat's latest state for the team board (`console.domain.board.SeatPresence` as
    JSON, `console.store.board`); None until the seat first publishes one."""


class ClaimRow(Base):
    """Which seat answers a caller's call that the PBX forked to several seats (issue 13).

    Taken in one INSERT … ON CONFLICT DO NOTHING: the first seat to insert the caller's
    dialog wins, every other seat sees the winner and does not answer. Coordination, not
    part of the unalterable record; rows older than a day are pruned by the claim thread.
    """

    __tablename__ = "answer_claims"

    line: Mapped[str] = mapped_column(String(64), primary_key=True)
    dialog: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the caller's Call-ID and From tag, the same on every forked branch."""
    seat: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    """The agent who pressed answer; None when the seat answered by itself at the ring limit."""
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


CHAINED: tuple[type[Any], ...] = (
    CallRow,
    AmendmentRow,
    AgentStateRow,
    HandoverRow,
    SignatureRow,
    EventReportRow,
    AuditRow,
)
"""Every table whose rows are links of a chain, in the order `verify` reports them."""

ADMIN_CHAIN = "~admin"
"""Chain of handovers, signatures, event reports and the audit log."""
AGENTS_CHAIN = "~agents"
"""Chain of agent state changes."""
SECURITY_CHAIN = "~security"
"""Chain of the security log: audit rows `security:<kind>` (who: the source address;
detail: "<count> <method>: <reason>"), requests that were no call (issue 10, point 8)."""
CHECKPOINT_CHAIN = "~checkpoints"
"""Chain of the archive checkpoints themselves (`CheckpointRow`), written only by `archive`."""
RETENTION_YEARS = 3
"""Duty rules §5: records are kept three years; the database refuses to delete younger ones."""
