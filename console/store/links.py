"""Appending to a chain inside the caller's transaction, and the chains' heads as anchors.

Every chained record (a sealed call, an amendment, an agent state, an audit or security
entry, a handover, a checkpoint) becomes the next link of its chain here: `claim` locks the
chain's head and gives the next position, `chain_values` / `link` compute the link's hash
and move the head, all in the transaction that writes the record, so a link and its head
never disagree. `chain_heads` and `stamp_anchors` read the heads as anchors.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from console.store.chain import anchor_mac, link_hash, row_content
from console.store.core import RecordCore
from console.store.models import AnchorRow, ChainHeadRow
from console.store.values import GENESIS, Anchor

HEADS: Table = ChainHeadRow.__table__  # type: ignore[assignment]


HEAD = select(HEADS.c.seq, HEADS.c.row_hash).where(HEADS.c.chain == bindparam("b_chain"))
HEAD_FOR_UPDATE = HEAD.with_for_update()
SET_HEAD = (
    update(HEADS)
    .where(HEADS.c.chain == bindparam("b_chain"))
    .values(seq=bindparam("b_seq"), row_hash=bindparam("b_hash"))
)


def dialect_insert(conn: Connection) -> Any:
    """The connection's dialect's INSERT (`insert_for`)."""
    return insert_for(conn.dialect.name)


def insert_for(dialect: str) -> Any:
    """The dialect's INSERT (it has ON CONFLICT DO NOTHING); PostgreSQL's loaded on use."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    return sqlite_insert


def claim(conn: Connection, chain: str) -> tuple[int, str]:
    """The next position in `chain` and its predecessor's hash; locks the head.

    SQLite writers already hold the write lock (`BEGIN IMMEDIATE`); PostgreSQL locks
    the head row, so two seats appending to one chain take turns.
    """
    query = HEAD_FOR_UPDATE if conn.dialect.name == "postgresql" else HEAD
    head = conn.execute(query, {"b_chain": chain}).first()
    if head is None:
        conn.execute(
            dialect_insert(conn)(HEADS)
            .values(chain=chain, seq=0, row_hash=GENESIS)
            .on_conflict_do_nothing()
        )
        head = conn.execute(query, {"b_chain": chain}).one()
    return int(head[0]) + 1, str(head[1])


def chain_values(
    conn: Connection,
    chain: str,
    table: str,
    content: dict[str, Any],
    head: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Link `content` (canonical columns of a new link) into `chain`, in this transaction.

    `head` is the chain's next position and predecessor's hash when the caller has
    already read and locked the head. Returns the head's new values (`SET_HEAD`'s
    parameters); the head is written here unless the caller writes it itself.
    """
    seq, prev = head or claim(conn, chain)
    content.update(chain=chain, seq=seq, prev_hash=prev)
    row_hash = link_hash(prev, table, content)
    content["row_hash"] = row_hash
    new_head = {"b_chain": chain, "b_seq": seq, "b_hash": row_hash}
    if head is None:
        conn.execute(SET_HEAD, new_head)
    return new_head


def link(session: Session, chain: str, row: Any) -> None:
    """Link an ORM row (amendments, agent states, admin records) into `chain`."""
    conn = session.connection()
    seq, prev = claim(conn, chain)
    row.chain = chain
    row.seq = seq
    row.prev_hash = prev
    row.row_hash = link_hash(prev, type(row).__tablename__, row_content(row))
    conn.execute(SET_HEAD, {"b_chain": chain, "b_seq": seq, "b_hash": row.row_hash})


def make_anchor(store: RecordCore, chain: str, seq: int, row_hash: str) -> Anchor:
    """A chain head as an anchor, MAC'd when the record has an HMAC key."""
    mac = anchor_mac(store.hmac_key, chain, seq, row_hash) if store.hmac_key else None
    return Anchor(chain, seq, row_hash, mac)


def stamp_anchors(store: RecordCore, session: Session, purpose: str) -> list[Anchor]:
    """Store every chain head as an anchor row for `purpose`, in this transaction."""
    anchors = []
    for head in session.scalars(select(ChainHeadRow).order_by(ChainHeadRow.chain)):
        anchor = make_anchor(store, head.chain, head.seq, head.row_hash)
        session.add(
            AnchorRow(
                chain=anchor.chain,
                seq=anchor.seq,
                row_hash=anchor.row_hash,
                mac=anchor.mac,
                purpose=purpose,
                at=store._now(),
            )
        )
        anchors.append(anchor)
    return anchors


def chain_heads(store: RecordCore) -> list[Anchor]:
    """The head of every chain, as anchors to print (MAC'd if the store has a key)."""
    result: list[Anchor] = store._run(
        lambda s: [
            make_anchor(store, h.chain, h.seq, h.row_hash)
            for h in s.scalars(select(ChainHeadRow).order_by(ChainHeadRow.chain))
        ],
        write=False,
    )
    return result


def record_anchors(store: RecordCore, purpose: str) -> list[Anchor]:
    """Store the current chain heads as anchors (handover, sign-off, export)."""
    result: list[Anchor] = store._run(lambda s: stamp_anchors(store, s, purpose))
    return result
