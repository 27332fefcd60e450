"""A call is written from its first ring and sealed once; sealed, it is unalterable.

`open_call` writes the call's row at the first ring (bound under the anchor key, so a row
made by hand cannot pass for one of ours), `update_open_call` adds what becomes known while
it is open, `seal_call` gives the outcome and links the call into its line's chain. A start
after a crash seals the calls it left open as *interrupted* (`seal_interrupted_on_start`),
but never a row that no writer of ours opened: sealing it would launder it into the chain.
The `apply_*` functions are the outbox's entries applied exactly once (a replay of an open
finds its row, a replay of a seal finds the call sealed).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from console.store.audit import audit_row
from console.store.chain import canonical_columns, open_binding, open_binding_holds
from console.store.core import RecordCore
from console.store.errors import DatabaseUnavailable, InvalidFact, SealedRecordError, UnknownRecord
from console.store.facts import (
    coerce_fact,
    facts_from_json,
    facts_json,
    from_iso,
    iso,
    new_key,
    refuse_bound,
    seat_name,
)
from console.store.links import HEADS, SET_HEAD, chain_values, insert_for
from console.store.models import CallRow
from console.store.values import CallOutcome

log = logging.getLogger("console.store")

CALLS: Table = CallRow.__table__  # type: ignore[assignment]


_CALL_CANONICAL: tuple[str, ...] = canonical_columns(CallRow)
_CALL_ROW = [CALLS.c.id, CALLS.c.row_hash, *(CALLS.c[name] for name in _CALL_CANONICAL)]
"""Every stored column of a call: what sealing reads to compute the link."""

# Call-path statements built once (building them per call cost more than the SQL).
_CALL_BY_KEY = select(*_CALL_ROW).where(CALLS.c.key == bindparam("b_key"))
_UPDATE_OPEN = update(CALLS).where(CALLS.c.key == bindparam("b_key"), CALLS.c.sealed_at.is_(None))
_SEAL_CALL = update(CALLS).where(CALLS.c.id == bindparam("b_id"), CALLS.c.sealed_at.is_(None))


# PostgreSQL's seal in two statements: the call with its line's head, locked as
# `links.claim` locks it; then the call's UPDATE carrying the head's UPDATE as a CTE.
_CALL_AND_HEAD = (
    select(*_CALL_ROW, HEADS.c.seq.label("head_seq"), HEADS.c.row_hash.label("head_hash"))
    .join_from(CALLS, HEADS, HEADS.c.chain == CALLS.c.line)
    .where(CALLS.c.key == bindparam("b_key"))
    .with_for_update(of=HEADS)
)


@functools.lru_cache(maxsize=64)
def _seal_call_and_head(names: frozenset[str]) -> Any:
    """The call's sealing UPDATE of `names` (values bound as `v_<name>`) with the head's.

    The values are bound under names no column has: SQLAlchemy adds a SET for every
    parameter named like a column, and the head (chain, seq, row_hash) shares names with
    the call. Built once per set of changed columns (a few: the facts a seal brings).
    """
    c = CALLS.c
    return (
        update(CALLS)
        .where(c.id == bindparam("b_id"), c.sealed_at.is_(None))
        .values({c[name]: bindparam(f"v_{name}", type_=c[name].type) for name in sorted(names)})
        .add_cte(SET_HEAD.cte("set_head"))
    )


def open_call(
    store: RecordCore,
    line: str,
    ring_at: datetime | None = None,
    *,
    caller_number: str | None = None,
    caller_display: str | None = None,
    sip_call_id: str | None = None,
    seat: str | None = None,
    kind: str | None = None,
    follow_up_key: str | None = None,
) -> str:
    """Create the call's row at the first ring; returns its key (also before it is applied).

    `seat` names the seat taking the call, so its start-up seals only its own calls
    (`seal_interrupted_on_start(seat=...)`) when several seats share the record.
    `kind` and `follow_up_key` are a callback's (`console.store.callbacks`; None for an
    incoming call): bound with the rest, never changed after.
    """
    if not line or not isinstance(line, str) or line.startswith("~") or ":" in line:
        raise InvalidFact(f"line {line!r}: needs a name without ':' that doesn't start with ~")
    ring_at = ring_at or store._now()
    if ring_at.tzinfo is None:
        raise InvalidFact(f"ring_at {ring_at!r} has no time zone")
    facts = {
        "caller_number": coerce_fact("caller_number", caller_number),
        "caller_display": coerce_fact("caller_display", caller_display),
        "sip_call_id": coerce_fact("sip_call_id", sip_call_id),
    }
    if seat is not None:
        facts["seat"] = seat_name(seat)
    if kind is not None:
        facts["kind"] = kind
        facts["follow_up_key"] = follow_up_key
    key = new_key()
    if store.anchor_key is not None:  # bound now, so a hand-made row can't pass for it
        facts["open_mac"] = open_binding(
            store.anchor_key, {**facts, "key": key, "line": line, "ring_at": ring_at}
        )
    store._submit("open", {"key": key, "line": line, "ring_at": iso(ring_at), "facts": facts})
    return key


def update_open_call(store: RecordCore, key: str, **facts: Any) -> None:
    """Record facts known while the call is open (answered_at, answered_by, step, ...)."""
    clean = {name: coerce_fact(name, value) for name, value in facts.items()}
    if "outcome" in clean:
        raise InvalidFact("the outcome is given when the call is sealed (seal_call)")
    refuse_bound(clean)
    store._submit("update", {"key": key, "facts": facts_json(clean)})


def seal_call(store: RecordCore, key: str, outcome: CallOutcome | str, **facts: Any) -> None:
    """Seal the call with its outcome and last facts; from now on it is unalterable."""
    clean = {name: coerce_fact(name, value) for name, value in facts.items()}
    clean["outcome"] = coerce_fact("outcome", outcome)
    refuse_bound(clean)
    store._submit("seal", {"key": key, "facts": facts_json(clean), "sealed_at": iso(store._now())})


def seal_interrupted_on_start(
    store: RecordCore, lines: Iterable[str] | None = None, seat: str | None = None
) -> list[str]:
    """Seal calls left open by a crash as *interrupted*; returns their keys.

    Pass this seat's lines and name when several seats share the database: only the
    calls this seat opened are sealed, never one another seat is handling now (all
    seats of a hotline write one line name, issue 13). Calls without a seat were
    written before seats had names (migration 0003), by a run that is gone: they are
    sealed too.
    """
    # What the outbox holds from the last run lands first: a call whose seal is
    # still there was not interrupted.
    if not store.settle(30):
        raise DatabaseUnavailable(
            "the outbox's writes from the last run have not reached "
            "the database yet; calls it left open stay open for now"
        )
    wanted = list(lines) if lines is not None else None
    mine = seat_name(seat) if seat is not None else None

    def seal_all(session: Session) -> list[str]:
        conn = session.connection()
        query = select(*_CALL_ROW).where(CALLS.c.sealed_at.is_(None)).order_by(CALLS.c.id)
        if wanted is not None:
            query = query.where(CALLS.c.line.in_(wanted))
        if mine is not None:
            query = query.where(or_(CALLS.c.seat == mine, CALLS.c.seat.is_(None)))
        keys = []
        for row in conn.execute(query).mappings().all():
            if store.anchor_key is not None and not open_binding_holds(
                store.anchor_key, dict(row), row["open_mac"]
            ):  # not opened by a writer of ours: sealing it would launder it
                detail = (
                    f"call {row['key']} (line {row['line']}, rung {row['ring_at']}) is open "
                    "without a valid binding: not made by a writer of ours; left unsealed"
                )
                log.error("ALARM: %s", detail)
                audit_row(store, session, "alarm:unbound_open_call", "console", detail)
                continue
            seal_row(store, conn, dict(row), {"outcome": CallOutcome.INTERRUPTED.value})
            keys.append(row["key"])
        return keys

    keys: list[str] = store._run(seal_all)
    if keys:
        log.warning("sealed %d calls left open by a crash as interrupted", len(keys))
    return keys


def seal_row(
    store: RecordCore,
    conn: Connection,
    row: dict[str, Any],
    facts: dict[str, Any],
    at: datetime | None = None,
    head: tuple[int, str] | None = None,
) -> None:
    """Seal one open call in one UPDATE, its chain link computed in the same transaction.

    `row` holds the call's canonical columns and `id` as stored (Core, no ORM objects).
    With `head` (read and locked with the row, PostgreSQL), the chain head's update
    rides in the call's UPDATE as a CTE: one statement, one round trip.
    """
    content = {name: row[name] for name in _CALL_CANONICAL}
    content.update(facts)
    content["sealed_at"] = at or store._now()
    answered, ended = content["answered_at"], content["ended_at"]
    if answered is not None:
        content["seconds_to_answer"] = round((answered - content["ring_at"]).total_seconds(), 3)
        if ended is not None:
            content["handling_seconds"] = round((ended - answered).total_seconds(), 3)
    new_head = chain_values(conn, content["line"], CallRow.__tablename__, content, head)
    changed = {k: v for k, v in content.items() if k not in row or row[k] != v}
    if head is None:
        done = conn.execute(_SEAL_CALL, {**changed, "b_id": row["id"]})
    else:
        values = {f"v_{name}": value for name, value in changed.items()}
        done = conn.execute(
            _seal_call_and_head(frozenset(changed)), {**values, **new_head, "b_id": row["id"]}
        )
    if done.rowcount != 1:  # sealed by another seat between our read and our write
        raise SealedRecordError(f"call {row['key']} was sealed meanwhile")


def apply_open(store: RecordCore, conn: Connection, args: dict[str, Any]) -> None:
    """The outbox's `open` entry: the call's row, exactly once (a replay finds it)."""
    ring_at = from_iso(args["ring_at"])
    assert ring_at is not None
    values = {
        "key": args["key"],
        "line": args["line"],
        "ring_at": ring_at,
        "ring_hour": ring_at.astimezone(store.tz).hour,
        **args["facts"],
    }
    # A replayed open finds its row there already: nothing to do (exactly once).
    conn.execute(_open_insert(conn.dialect.name), values)


@functools.lru_cache(maxsize=2)
def _open_insert(dialect: str) -> Any:
    """INSERT of a new call row that does nothing if its key is there (a replayed open).

    Built once per dialect; the values come as parameters (their keys pick the columns).
    """
    insert = insert_for(dialect)
    return insert(CALLS).on_conflict_do_nothing(index_elements=[CALLS.c.key])


def _sealed(key: str, sealed_at: datetime) -> SealedRecordError:
    return SealedRecordError(
        f"call {key} was sealed at {sealed_at:%Y-%m-%d %H:%M:%S}; "
        "corrections are amendments (amend)"
    )


def _open_row(conn: Connection, args: dict[str, Any]) -> dict[str, Any] | None:
    """The open call of `args["key"]` as a dict, None if sealed and replayed; else raises."""
    found = conn.execute(_CALL_BY_KEY, {"b_key": args["key"]}).mappings().first()
    if found is None:
        raise UnknownRecord(f"no call with key {args['key']!r}")
    return _still_open(found, args)


def _still_open(found: Any, args: dict[str, Any]) -> dict[str, Any] | None:
    """`found` (a call's row mapping) as a dict if open; None if sealed and replayed."""
    if found["sealed_at"] is not None:
        if args.get("live"):
            raise _sealed(found["key"], found["sealed_at"])
        return None  # replayed after its seal: already applied
    return dict(found)


def apply_update(store: RecordCore, conn: Connection, args: dict[str, Any]) -> None:
    """The outbox's `update` entry: facts of an open call (a replay after the seal does nothing)."""
    facts = facts_from_json(args["facts"])
    if facts:
        done = conn.execute(_UPDATE_OPEN, {**facts, "b_key": args["key"]})
        if done.rowcount == 1:
            return
    _open_row(conn, args)  # says why nothing was updated (unknown, or sealed)


def apply_seal(store: RecordCore, conn: Connection, args: dict[str, Any]) -> None:
    """The outbox's `seal` entry: the call sealed and chained, exactly once."""
    head: tuple[int, str] | None = None
    row: dict[str, Any] | None
    if conn.dialect.name == "postgresql":
        # The call and its line's chain head (locked) in one statement; no row if either
        # is missing (unknown key, or the line's first link): the general path says which.
        found = conn.execute(_CALL_AND_HEAD, {"b_key": args["key"]}).mappings().first()
        if found is not None:
            row = _still_open(found, args)
            if row is None:
                return  # replayed twice
            head = (int(row.pop("head_seq")) + 1, str(row.pop("head_hash")))
    if head is None:
        row = _open_row(conn, args)
        if row is None:
            return  # replayed twice
    assert row is not None
    facts = facts_from_json(args["facts"])
    seal_row(store, conn, row, facts, from_iso(args["sealed_at"]), head)
