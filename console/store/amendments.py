"""Never edited, only amended: a correction is a new chained row that says who and why.

Duty rules §5: records are true, complete and unalterable (不得涂改); a sealed call is never
changed in place. `amend` adds an amendment row (field, old and new value, who, why) linked
into the call's line chain; reads apply the latest amendment of each field
(`apply_amendments`) and say which fields were amended (`CallRecord.amended_fields`), while
the figures and exports keep the values as sealed beside their corrections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from console.store.core import RecordCore
from console.store.errors import InvalidFact, UnknownRecord
from console.store.facts import coerce_fact, fact_text, new_key
from console.store.links import link
from console.store.models import AmendmentRow, CallRow
from console.store.statements import AMENDMENT_NAMES, AMENDMENTS, RECORD_NAMES
from console.store.values import AMENDABLE, Amendment, CallOutcome, CallRecord


def amend(
    store: RecordCore, call_key: str, field: str, new_value: Any, who: str, why: str
) -> Amendment:
    """Correct one field of a sealed call by a new, chained amendment row."""
    if field not in AMENDABLE:
        raise InvalidFact(f"{field!r} cannot be amended; amendable: {', '.join(AMENDABLE)}")
    if not who or not who.strip():
        raise InvalidFact("an amendment needs who makes it")
    if not why or not why.strip():
        raise InvalidFact("an amendment needs a reason (why)")
    value = coerce_fact(field, new_value)
    text = fact_text(field, value)

    def add(session: Session) -> Amendment:
        row = session.scalar(select(CallRow).where(CallRow.key == call_key))
        if row is None:
            raise UnknownRecord(f"no call with key {call_key!r}")
        if row.sealed_at is None:
            raise InvalidFact(f"call {call_key} is still open; update it instead of amending")
        current = apply_amendments(
            call_record(row), amendments_of(session, [call_key]).get(call_key, [])
        )
        old = fact_text(field, getattr(current, field))
        if field == "outcome" and current.outcome is not None:
            old = current.outcome.value
        amendment = AmendmentRow(
            key=new_key(),
            call_key=call_key,
            field=field,
            old_value=old,
            new_value=text,
            who=who.strip(),
            why=why.strip(),
            at=store._now(),
        )
        link(session, row.line, amendment)
        session.add(amendment)
        return amendment_of(amendment)

    result: Amendment = store._run(add)
    return result


def amendments(store: RecordCore, call_key: str) -> list[Amendment]:
    """A call's amendments, oldest first."""
    result: list[Amendment] = store._run(
        lambda s: amendments_of(s, [call_key]).get(call_key, []), write=False
    )
    return result


def amendment_of(row: AmendmentRow) -> Amendment:
    """The frozen `Amendment` of a row."""
    return Amendment(
        row.key, row.call_key, row.field, row.old_value, row.new_value, row.who, row.why, row.at
    )


def amendments_of(session: Session, keys: list[str]) -> dict[str, list[Amendment]]:
    """The amendments of these calls by key, oldest first (500 keys a statement)."""
    found: dict[str, list[Amendment]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(AmendmentRow).where(AmendmentRow.call_key.in_(chunk))
        for row in session.scalars(query.order_by(AmendmentRow.seq)):
            found.setdefault(row.call_key, []).append(amendment_of(row))
    return found


def apply_amendments(record: CallRecord, amendments: list[Amendment]) -> CallRecord:
    """`record` as amended: the latest amendment of each field, `amended_fields` naming them."""
    if not amendments:
        return record
    changes: dict[str, Any] = {}
    for a in amendments:
        value: Any = coerce_fact(a.field, a.new_value) if a.new_value is not None else None
        if a.field == "outcome" and value is not None:
            value = CallOutcome(value)
        changes[a.field] = value
    if "answered_at" in changes:
        answered = changes["answered_at"]
        changes["seconds_to_answer"] = (
            None if answered is None else round((answered - record.ring_at).total_seconds(), 3)
        )
    return replace(record, **changes, amended_fields=tuple(sorted(changes)))


_AMENDMENTS_BY_KEY = (
    select(*(AMENDMENTS.c[name] for name in AMENDMENT_NAMES))
    .where(AMENDMENTS.c.call_key.in_(bindparam("keys", expanding=True)))
    .order_by(AMENDMENTS.c.seq)
)


def amendments_by_key(conn: Connection, keys: list[str]) -> dict[str, list[Amendment]]:
    """The amendments of these calls, oldest first, by call key (500 keys a statement)."""
    found: dict[str, list[Amendment]] = {}
    for start in range(0, len(keys), 500):
        for row in conn.execute(_AMENDMENTS_BY_KEY, {"keys": keys[start : start + 500]}):
            found.setdefault(row[1], []).append(Amendment(*row))
    return found


def amended_records(
    conn: Connection, rows: Sequence[Any], records: list[CallRecord]
) -> list[CallRecord]:
    """`records` with their amendments applied, read only for rows whose flag is set."""
    width = len(RECORD_NAMES)
    keys = [row[0] for row in rows if row[width]]
    if not keys:
        return records
    found = amendments_by_key(conn, keys)
    return [apply_amendments(r, found[r.key]) if r.key in found else r for r in records]


def call_record(row: CallRow) -> CallRecord:
    """The frozen `CallRecord` of an ORM row, as sealed (the amend path reads one row)."""
    return CallRecord(
        key=row.key,
        line=row.line,
        ring_at=row.ring_at,
        sip_call_id=row.sip_call_id,
        caller_number=row.caller_number,
        caller_display=row.caller_display,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        rings=row.rings,
        seconds_to_answer=row.seconds_to_answer,
        handling_seconds=row.handling_seconds,
        answered_by=row.answered_by,
        outcome=CallOutcome(row.outcome) if row.outcome else None,
        category=row.category,
        caller_name=row.caller_name,
        contact=row.contact,
        address=row.address,
        content=row.content,
        action=row.action,
        result=row.result,
        satisfaction=row.satisfaction,
        forwarded_to=row.forwarded_to,
        forward_method=row.forward_method,
        forward_result=row.forward_result,
        forwarded_at=row.forwarded_at,
        follow_up=row.follow_up,
        recording=row.recording,
        notes=row.notes,
        step=row.step,
        end_reason=row.end_reason,
        sealed_at=row.sealed_at,
        seq=row.seq,
        row_hash=row.row_hash,
        seat=row.seat,
    )
