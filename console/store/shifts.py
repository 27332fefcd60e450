"""Shift handovers, follow-ups and event reports (duty rules §5, 交接班; §3, 首问负责).

The outgoing agent writes what happened and what is open, stamped with every chain head;
the incoming agent accepts it and the supervisor signs it each morning, each signature a
chained record. A follow-up belongs to the first agent until it is closed and carries over
shifts; an urgent event opens a report. What the call path files (follow-ups, event
reports) goes through the outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store.agents import require_agent
from console.store.audit import audit_row
from console.store.core import RecordCore
from console.store.errors import InvalidFact, UnknownRecord
from console.store.facts import from_iso, iso, new_key
from console.store.links import link, stamp_anchors
from console.store.models import (
    ADMIN_CHAIN,
    EventReportRow,
    FollowUpRow,
    HandoverRow,
    SignatureRow,
)
from console.store.values import AgentRole, EventReport, FollowUp, FollowUpStatus, Handover


def write_handover(store: RecordCore, outgoing: str, notes: str, open_items: str) -> Handover:
    """The outgoing agent's handover, stamped with every chain head (also anchored)."""
    if not notes.strip() and not open_items.strip():
        raise InvalidFact("a handover needs notes or open items")

    def add(session: Session) -> Handover:
        require_agent(session, outgoing)
        anchors = stamp_anchors(store, session, "handover")
        row = HandoverRow(
            key=new_key(),
            outgoing=outgoing,
            notes=notes,
            open_items=open_items,
            chain_heads="\n".join(a.text() for a in anchors),
            written_at=store._now(),
        )
        link(session, ADMIN_CHAIN, row)
        session.add(row)
        return handover_of(session, row)

    result: Handover = store._run(add)
    return result


def accept_handover(store: RecordCore, key: str, incoming: str) -> Handover:
    """The incoming agent accepts the handover (duty rules §5: both sign)."""
    return sign(store, key, incoming, "accept")


def sign_handover(store: RecordCore, key: str, supervisor: str) -> Handover:
    """The supervisor's daily sign-off (also records anchors of every chain)."""
    return sign(store, key, supervisor, "sign")


def sign(store: RecordCore, key: str, agent_id: str, kind: str) -> Handover:
    """One chained signature of a handover: `accept` (incoming agent) or `sign` (supervisor)."""

    def add(session: Session) -> Handover:
        agent = require_agent(session, agent_id)
        row = session.scalar(select(HandoverRow).where(HandoverRow.key == key))
        if row is None:
            raise UnknownRecord(f"no handover {key!r}")
        done = {s.kind for s in signatures(session, key)}
        if kind in done:
            raise InvalidFact(f"handover {key} is already {kind}ed")
        if kind == "accept" and agent_id == row.outgoing:
            raise InvalidFact("the incoming agent accepts the handover, not the outgoing one")
        if kind == "sign":
            if agent.role != AgentRole.SUPERVISOR.value:
                raise InvalidFact(f"{agent_id} is not a supervisor; only they sign off")
            stamp_anchors(store, session, "sign-off")
        sig = SignatureRow(
            key=new_key(), handover_key=key, kind=kind, agent_id=agent_id, at=store._now()
        )
        link(session, ADMIN_CHAIN, sig)
        session.add(sig)
        session.flush()
        return handover_of(session, row)

    result: Handover = store._run(add)
    return result


def handovers(store: RecordCore, since: datetime | None = None) -> list[Handover]:
    """Handovers in the order written, with their signatures."""
    query = select(HandoverRow).order_by(HandoverRow.seq)
    if since is not None:
        query = query.where(HandoverRow.written_at >= since)
    result: list[Handover] = store._run(
        lambda s: [handover_of(s, r) for r in s.scalars(query)], write=False
    )
    return result


def handover_of(session: Session, row: HandoverRow) -> Handover:
    """The frozen `Handover` of a row, with who accepted and signed it."""
    sigs = {s.kind: s for s in signatures(session, row.key)}
    accept, sign = sigs.get("accept"), sigs.get("sign")
    return Handover(
        key=row.key,
        outgoing=row.outgoing,
        written_at=row.written_at,
        notes=row.notes,
        open_items=row.open_items,
        chain_heads=row.chain_heads,
        accepted_by=accept.agent_id if accept else None,
        accepted_at=accept.at if accept else None,
        signed_by=sign.agent_id if sign else None,
        signed_at=sign.at if sign else None,
    )


def signatures(session: Session, handover_key: str) -> list[SignatureRow]:
    """A handover's signatures in chain order."""
    return list(
        session.scalars(
            select(SignatureRow)
            .where(SignatureRow.handover_key == handover_key)
            .order_by(SignatureRow.seq)
        )
    )


def add_follow_up(
    store: RecordCore, owner: str, description: str, due_at: datetime, call_key: str | None = None
) -> FollowUp:
    """A follow-up owned by the first agent (首问负责) until closed; carried across shifts."""
    if due_at.tzinfo is None:
        raise InvalidFact("due_at needs a time zone")
    if not description.strip():
        raise InvalidFact("a follow-up needs a description")

    def add(session: Session) -> FollowUp:
        require_agent(session, owner)
        row = FollowUpRow(
            key=new_key(),
            call_key=call_key,
            owner=owner,
            description=description,
            due_at=due_at,
            status=FollowUpStatus.OPEN.value,
            created_at=store._now(),
        )
        session.add(row)
        return follow_up_of(row)

    result: FollowUp = store._run(add)
    return result


def file_follow_up(
    store: RecordCore, owner: str, description: str, due_at: datetime, call_key: str | None = None
) -> str:
    """`add_follow_up` for the call path: through the outbox when one is attached, so a
    call's end never waits for the database; returns the follow-up's key."""
    if due_at.tzinfo is None:
        raise InvalidFact("due_at needs a time zone")
    if not description.strip():
        raise InvalidFact("a follow-up needs a description")
    key = new_key()
    store._submit(
        "follow_up",
        {
            "key": key,
            "owner": owner,
            "description": description,
            "due_at": iso(due_at),
            "call_key": call_key,
            "at": iso(store._now()),
        },
    )
    return key


def close_follow_up(
    store: RecordCore, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
) -> FollowUp:
    """Close an open follow-up (done or cancelled) with a note; audited with who closed it."""
    if status is FollowUpStatus.OPEN:
        raise InvalidFact("closing needs status done or cancelled")

    def close(session: Session) -> FollowUp:
        row = session.scalar(select(FollowUpRow).where(FollowUpRow.key == key))
        if row is None:
            raise UnknownRecord(f"no follow-up {key!r}")
        if row.status != FollowUpStatus.OPEN.value:
            raise InvalidFact(f"follow-up {key} is already {row.status}")
        row.status = status.value
        row.closed_at = store._now()
        row.closing_note = note
        audit_row(store, session, "follow_up", who, f"{key} {status.value}: {note}")
        return follow_up_of(row)

    result: FollowUp = store._run(close)
    return result


def follow_ups(
    store: RecordCore, owner: str | None = None, status: FollowUpStatus | None = FollowUpStatus.OPEN
) -> list[FollowUp]:
    """Follow-ups by due time: one owner's and/or of one status (default: open)."""
    query = select(FollowUpRow).order_by(FollowUpRow.due_at)
    if owner is not None:
        query = query.where(FollowUpRow.owner == owner)
    if status is not None:
        query = query.where(FollowUpRow.status == status.value)
    result: list[FollowUp] = store._run(
        lambda s: [follow_up_of(r) for r in s.scalars(query)], write=False
    )
    return result


def follow_up_of(row: FollowUpRow) -> FollowUp:
    """The frozen `FollowUp` of a row."""
    return FollowUp(
        key=row.key,
        call_key=row.call_key,
        owner=row.owner,
        description=row.description,
        due_at=row.due_at,
        status=FollowUpStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        closing_note=row.closing_note,
    )


def report_event(
    store: RecordCore, reporter: str, summary: str, call_key: str | None = None
) -> str:
    """An emergency report (through the outbox, when one is attached); returns its key."""
    if not summary.strip():
        raise InvalidFact("an event report needs a summary")
    key = new_key()
    store._submit(
        "event",
        {
            "key": key,
            "reporter": reporter,
            "summary": summary,
            "call_key": call_key,
            "at": iso(store._now()),
        },
    )
    return key


def event_reports(store: RecordCore) -> list[EventReport]:
    """Every event report, in chain order."""
    result: list[EventReport] = store._run(
        lambda s: [
            EventReport(r.key, r.call_key, r.reporter, r.summary, r.at)
            for r in s.scalars(select(EventReportRow).order_by(EventReportRow.seq))
        ],
        write=False,
    )
    return result


def apply_event(store: RecordCore, session: Session, args: dict[str, Any]) -> None:
    """The outbox's `event` entry, exactly once by its key."""
    if session.scalar(select(EventReportRow.id).where(EventReportRow.key == args["key"])):
        return
    row = EventReportRow(
        key=args["key"],
        call_key=args["call_key"],
        reporter=args["reporter"],
        summary=args["summary"],
        at=from_iso(args["at"]),
    )
    link(session, ADMIN_CHAIN, row)
    session.add(row)


def apply_follow_up(store: RecordCore, session: Session, args: dict[str, Any]) -> None:
    """The outbox's `follow_up` entry, exactly once by its key."""
    if session.scalar(select(FollowUpRow.id).where(FollowUpRow.key == args["key"])):
        return
    require_agent(session, args["owner"])
    session.add(
        FollowUpRow(
            key=args["key"],
            call_key=args["call_key"],
            owner=args["owner"],
            description=args["description"],
            due_at=from_iso(args["due_at"]),
            status=FollowUpStatus.OPEN.value,
            created_at=from_iso(args["at"]),
        )
    )
