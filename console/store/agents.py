"""Personal agent IDs (禁止工号借用): salted scrypt secrets, a lockout after failures, and
every state change (ready, on call, away …) as a chained record.

Duty rules §4: each agent logs in with their own ID and secret; after `lockout_failures`
wrong secrets the ID is locked for `lockout` and only a supervisor lifts it early (audited).
State changes come from the call path and go through the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store.audit import audit_row
from console.store.core import RecordCore
from console.store.errors import AgentLocked, AuthError, InvalidFact, StoreError, UnknownRecord
from console.store.facts import from_iso, iso, new_key
from console.store.links import link
from console.store.models import AGENTS_CHAIN, AgentRow, AgentStateRow
from console.store.values import Agent, AgentRole, AgentState, AgentStateChange

log = logging.getLogger("console.store")


_SCRYPT = (2**14, 8, 1)


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$hash` for an agent secret."""
    n, r, p = _SCRYPT
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether `secret` matches a stored `hash_secret` (constant time); damaged: no match."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def create_agent(
    store: RecordCore, agent_id: str, name: str, role: AgentRole, secret: str
) -> Agent:
    """Add an agent ID with its secret (stored as a salted scrypt hash)."""
    if not agent_id or not agent_id.strip() or len(agent_id) > 64 or ":" in agent_id:
        raise InvalidFact(f"agent ID {agent_id!r}: 1–64 characters, no ':'")
    if agent_id in ("auto", "gate_post"):
        raise InvalidFact(f"agent ID {agent_id!r} is reserved")
    if len(secret) < 4:
        raise InvalidFact("an agent secret needs at least 4 characters")
    if not name.strip():
        raise InvalidFact("an agent needs a name")
    stored = hash_secret(secret)

    def add(session: Session) -> Agent:
        if session.get(AgentRow, agent_id) is not None:
            raise InvalidFact(f"agent ID {agent_id} exists already (no shared IDs)")
        row = AgentRow(
            agent_id=agent_id,
            name=name.strip(),
            role=AgentRole(role).value,
            secret_hash=stored,
            active=True,
            failures=0,
            created_at=store._now(),
        )
        session.add(row)
        return agent_of(row)

    result: Agent = store._run(add)
    return result


def verify_secret(store: RecordCore, agent_id: str, secret: str) -> Agent:
    """Check a login; counts failures and locks the ID after `lockout_failures`."""
    now = store._now()

    def check(session: Session) -> Agent | StoreError:
        row = session.get(AgentRow, agent_id, with_for_update=True)
        if row is None or not row.active:
            return AuthError("unknown agent ID or wrong secret")
        if row.locked_until is not None and row.locked_until > now:
            return AgentLocked(
                f"agent {agent_id} is locked until {row.locked_until.astimezone(store.tz):%H:%M}"
                " after repeated failures; a supervisor can unlock it"
            )
        if check_secret(secret, row.secret_hash):
            row.failures = 0
            row.locked_until = None
            return agent_of(row)
        row.failures += 1
        if row.failures >= store.lockout_failures:
            row.locked_until = now + store.lockout
            row.failures = 0
            log.warning("agent %s locked after repeated failures", agent_id)
            return AgentLocked(f"agent {agent_id} locked for {store.lockout} after failures")
        return AuthError("unknown agent ID or wrong secret")

    outcome = store._run(check)
    if isinstance(outcome, StoreError):
        raise outcome
    assert isinstance(outcome, Agent)
    return outcome


def unlock_agent(store: RecordCore, agent_id: str, supervisor: str) -> Agent:
    """A supervisor lifts a lockout before it ends (duty rules §4: personal IDs, so the
    agent must not borrow another's meanwhile); audited with who lifted it.

    Refused in one line: `supervisor` not an active supervisor ID, an unknown agent ID,
    an ID that is not locked (nothing to lift; nothing is written).
    """

    def unlock(session: Session) -> Agent:
        boss = session.get(AgentRow, supervisor)
        if boss is None or boss.role != AgentRole.SUPERVISOR.value or not boss.active:
            raise InvalidFact(
                f"{supervisor!r} is not an active supervisor ID: only a supervisor unlocks"
            )
        row = session.get(AgentRow, agent_id)
        if row is None:
            raise UnknownRecord(f"no agent {agent_id!r}")
        until = row.locked_until
        if until is None or until <= store._now():
            raise InvalidFact(f"agent {agent_id} is not locked")
        row.locked_until = None
        row.failures = 0
        audit_row(
            store,
            session,
            "unlock",
            supervisor,
            f"agent {agent_id} (locked until {until.astimezone(store.tz):%Y-%m-%d %H:%M})",
        )
        return agent_of(row)

    result: Agent = store._run(unlock)
    return result


def agents(store: RecordCore) -> list[Agent]:
    """Every agent ID, active or not, by ID."""
    result: list[Agent] = store._run(
        lambda s: [agent_of(r) for r in s.scalars(select(AgentRow).order_by(AgentRow.agent_id))],
        write=False,
    )
    return result


def set_agent_state(
    store: RecordCore,
    agent_id: str,
    state: AgentState,
    reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Log an agent state change (through the outbox, when one is attached)."""
    state = AgentState.of(state)
    if state is AgentState.AWAY and not (reason and reason.strip()):
        raise InvalidFact("away (示忙) needs a reason")
    store._submit(
        "agent_state",
        {
            "key": new_key(),
            "agent_id": agent_id,
            "state": state.value,
            "reason": reason,
            "at": iso(at or store._now()),
        },
    )


def agent_states(
    store: RecordCore, agent_id: str | None = None, since: datetime | None = None
) -> list[AgentStateChange]:
    """State changes in the order they were chained, of one agent and/or since a time."""
    query = select(AgentStateRow).order_by(AgentStateRow.seq)
    if agent_id is not None:
        query = query.where(AgentStateRow.agent_id == agent_id)
    if since is not None:
        query = query.where(AgentStateRow.at >= since)
    result: list[AgentStateChange] = store._run(
        lambda s: [
            AgentStateChange(r.agent_id, AgentState.of(r.state), r.at, r.reason)
            for r in s.scalars(query)
        ],
        write=False,
    )
    return result


def require_agent(session: Session, agent_id: str) -> AgentRow:
    """The agent's row, or `UnknownRecord`: a handover or follow-up names a real agent."""
    row = session.get(AgentRow, agent_id)
    if row is None:
        raise UnknownRecord(f"no agent {agent_id!r}")
    return row


def apply_agent_state(store: RecordCore, session: Session, args: dict[str, Any]) -> None:
    """The outbox's `agent_state` entry, exactly once by its key."""
    if session.scalar(select(AgentStateRow.id).where(AgentStateRow.key == args["key"])):
        return
    if session.get(AgentRow, args["agent_id"]) is None:
        raise UnknownRecord(f"no agent {args['agent_id']!r}")
    row = AgentStateRow(
        key=args["key"],
        agent_id=args["agent_id"],
        state=args["state"],
        reason=args["reason"],
        at=from_iso(args["at"]),
    )
    link(session, AGENTS_CHAIN, row)
    session.add(row)


def agent_of(row: AgentRow) -> Agent:
    """The frozen `Agent` of a row (its secret hash stays inside)."""
    return Agent(row.agent_id, row.name, AgentRole(row.role), row.active, row.locked_until)
