"""Verify's walk: every chain link by link, from its start or its last trusted checkpoint.

Tampering with stored records must be detectable (duty rules §5). Each link's content must
hash to its stored hash over its predecessor's; positions must follow without a gap; the
chain's head must be where the links end; every anchor (in the database, or given) must
match the link at its position; checkpoints (the archive's) must themselves be an unbroken
chain. The first link that fails is named in one line (`VerifyReport.problem`); what lies
outside the database (the anchor log, open-call bindings) is checked by
`console.store.integrity`.
"""

from __future__ import annotations

import heapq
import hmac
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, func, select, true, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from console.store.anchor_log import LOG_CHAIN
from console.store.chain import anchor_mac, canonical_columns, link_hash
from console.store.core import RecordCore
from console.store.engine import classify
from console.store.errors import InvalidFact
from console.store.models import (
    CHAINED,
    CHECKPOINT_CHAIN,
    AnchorRow,
    CallRow,
    ChainHeadRow,
    CheckpointRow,
    UtcDateTime,
)
from console.store.statements import sqlite_time
from console.store.values import GENESIS, Anchor, VerifyReport


def verify(
    store: RecordCore,
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
    if progress is not None and (isinstance(progress_every, bool) or progress_every < 1):
        raise InvalidFact(f"verify: progress_every={progress_every!r}, must be at least 1")
    external = list(anchors)
    with store._session(write=False) as session:
        try:
            return _verify(store, session, external, batch, progress, progress_every)
        except SQLAlchemyError as exc:
            raise classify(exc, store.url) from exc


_Link = tuple[int, str, dict[str, Any], str | None, str | None]
"""(seq, table, content, row_hash, key) of one link, as `verify` walks it."""


@dataclass(frozen=True)
class _BadValue:
    """A stored value that no writer of ours could have stored (a time that is not a time)."""

    column: str
    text: str


def _raw_time(column: str) -> Callable[[Any], Any]:
    """SQLite keeps times as text: read it ourselves so damaged text is a finding, not a crash."""

    def read(value: Any) -> Any:
        if value is None:
            return None
        try:
            return sqlite_time(value)
        except (TypeError, ValueError):
            return _BadValue(column, str(value))

    return read


def _link_columns(session: Session, model: Any, names: Sequence[str]) -> list[Any]:
    """The columns `verify` reads; on SQLite the times as their raw text."""
    table = model.__table__
    sqlite = session.get_bind().dialect.name == "sqlite"
    return [
        type_coerce(table.c[n], String())
        if sqlite and isinstance(table.c[n].type, UtcDateTime)
        else table.c[n]
        for n in names
    ]


_BAD = "~bad"
"""Key of the first `_BadValue` in a link's content, so the walk finds it in one look-up."""


def _readers(session: Session, model: Any, names: Sequence[str]) -> dict[int, Any]:
    if session.get_bind().dialect.name != "sqlite":
        return {}
    table = model.__table__
    return {
        i: _raw_time(n) for i, n in enumerate(names) if isinstance(table.c[n].type, UtcDateTime)
    }


def _rows_of(
    session: Session, model: Any, where: Any, batch: int, key_of: Callable[[dict[str, Any]], Any]
) -> Iterator[_Link]:
    names = canonical_columns(model)
    table = model.__table__
    readers = _readers(session, model, names)
    query = (
        select(*_link_columns(session, model, names), table.c.row_hash)
        .where(where, table.c.seq.is_not(None))
        .order_by(table.c.seq)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(query):
        content = dict(zip(names, row[:-1], strict=True))
        for i, read in readers.items():
            value = content[names[i]] = read(row[i])
            if isinstance(value, _BadValue):
                content[_BAD] = value
        yield content["seq"], table.name, content, row[-1], key_of(content)


def _chain_rows(session: Session, chain: str, batch: int) -> Iterator[_Link]:
    """(seq, table, content, row_hash, key) of every link of one chain, in seq order."""
    yield from heapq.merge(
        *(
            _rows_of(session, m, m.__table__.c.chain == chain, batch, lambda c: c.get("key"))
            for m in CHAINED
        ),
        key=lambda item: item[0],
    )


def _checkpoint_rows(session: Session, batch: int) -> Iterator[_Link]:
    """The links of the chain of checkpoints, in seq order (key: chain and seq covered)."""
    return _rows_of(
        session,
        CheckpointRow,
        true(),
        batch,
        lambda c: f"{c['chain']}..{c['upto_seq']}",
    )


def _verify(
    store: RecordCore,
    session: Session,
    external: list[Anchor],
    batch: int,
    progress: Callable[[int, int], None] | None = None,
    every: int = 2000,
) -> VerifyReport:
    total = 0
    if progress is not None:
        linked: tuple[type[Any], ...] = (*CHAINED, CheckpointRow)
        for model in linked:
            total += int(session.scalar(select(func.count()).where(model.seq.is_not(None))) or 0)
        progress(0, total)
        report = _verify_chains(store, session, external, batch, progress, every, total)
        progress(report.checked, max(total, report.checked))
        return report
    return _verify_chains(store, session, external, batch, None, every, 0)


@dataclass
class _Walk:
    """One chain's walk: where it stands and what it found."""

    chain: str
    expected_seq: int
    prev: str
    count: int = 0
    problem: str | None = None
    hashes: dict[int, str] | None = None
    """With a dict, each seq's verified hash is kept (the chain of checkpoints)."""


def _walk(
    walk: _Walk,
    links: Iterable[_Link],
    anchors: dict[int, list[Anchor]],
    tick: Callable[[], None],
) -> None:
    """Check each link of one chain in order; stop at the first that fails."""
    chain = walk.chain
    for seq, table, content, row_hash, key in links:
        where = f"{table} key={key} seq={seq} (chain {chain})"
        if seq != walk.expected_seq:
            if seq > walk.expected_seq:
                gone = (
                    f"seq {walk.expected_seq}"
                    if seq == walk.expected_seq + 1
                    else f"seq {walk.expected_seq}–{seq - 1}"
                )
                walk.problem = (
                    f"{where}: expected seq {walk.expected_seq} — record(s) missing ({gone})"
                )
            else:
                walk.problem = (
                    f"{where}: expected seq {walk.expected_seq} — record(s) duplicate or reordered"
                )
            return
        bad = content.get(_BAD)
        if bad is not None:
            walk.problem = (
                f"{where}: {bad.column} holds {bad.text[:60]!r}, which is not a time — "
                "changed outside the console, or damaged"
            )
            return
        if content["prev_hash"] != walk.prev:
            walk.problem = f"{where}: link to the previous record is broken"
            return
        computed = link_hash(walk.prev, table, content)
        if computed != row_hash:
            walk.problem = f"{where}: content does not match its hash (changed)"
            return
        for a in anchors.get(seq, ()):
            if a.row_hash != computed:
                walk.problem = f"{where}: differs from anchor {a.text()}"
                return
        if walk.hashes is not None:
            walk.hashes[seq] = computed
        walk.prev = computed
        walk.expected_seq += 1
        walk.count += 1
        tick()


def _walk_end(session: Session, walk: _Walk, anchors: dict[int, list[Anchor]]) -> None:
    """After a clean walk: no anchor past the end, and the head where the links end."""
    if walk.problem is not None:
        return
    last = walk.expected_seq - 1
    beyond = [s for s in anchors if s > last]
    if beyond:
        walk.problem = (
            f"chain {walk.chain} ends at seq {last} but anchor {anchors[max(beyond)][0].text()} "
            "was recorded: records cut off at the end"
        )
        return
    head = session.get(ChainHeadRow, walk.chain)
    if head is not None and (head.seq != last or head.row_hash != walk.prev):
        walk.problem = (
            f"chain {walk.chain}: head says seq {head.seq} but the records end at seq {last}"
        )


def _joined(first: str | None, then: str | None) -> str | None:
    if first is None or then is None:
        return first or then
    return f"{first}; and under it: {then}"


def _verify_checkpoints(
    session: Session,
    anchors: dict[int, list[Anchor]],
    batch: int,
    tick: Callable[[], None],
) -> tuple[_Walk, dict[str, CheckpointRow]]:
    """Walk the chain of checkpoints; the latest checkpoint per chain among those that hold.

    A checkpoint outside the chain, or at or after the first broken link, is not trusted:
    `verify` then walks that chain from the checkpoint before it (or its start), so records
    deleted under a forged checkpoint show up as missing.
    """
    walk = _Walk(CHECKPOINT_CHAIN, 1, GENESIS, hashes={})
    stray = session.scalar(
        select(CheckpointRow.id).where(CheckpointRow.seq.is_(None)).order_by(CheckpointRow.id)
    )
    _walk(walk, _checkpoint_rows(session, batch), anchors, tick)
    _walk_end(session, walk, anchors)
    if walk.problem is not None:
        walk.problem = f"checkpoint not made by the archive (forged or altered?): {walk.problem}"
    elif stray is not None:
        row = session.get(CheckpointRow, stray)
        assert row is not None
        walk.problem = (
            f"checkpoints id={stray} (chain {row.chain} up to seq {row.upto_seq}): checkpoint "
            "outside the chain of checkpoints — not made by the archive (forged?)"
        )
    trusted: dict[str, CheckpointRow] = {}
    good = walk.hashes or {}
    query = select(CheckpointRow).where(CheckpointRow.seq.is_not(None)).order_by(CheckpointRow.seq)
    for row in session.scalars(query):
        if row.seq not in good or good[row.seq] != row.row_hash:
            break
        last = trusted.get(row.chain)
        if last is not None and row.upto_seq <= last.upto_seq:
            walk.problem = walk.problem or (
                f"checkpoints seq={row.seq} (chain {row.chain}): ends at seq {row.upto_seq}, "
                f"not after the checkpoint before it (seq {last.upto_seq})"
            )
            break
        trusted[row.chain] = row
    return walk, trusted


def _verify_chains(
    store: RecordCore,
    session: Session,
    external: list[Anchor],
    batch: int,
    progress: Callable[[int, int], None] | None,
    every: int,
    total: int,
) -> VerifyReport:
    chains: set[str] = set(session.scalars(select(ChainHeadRow.chain)))
    for model in CHAINED:
        chains.update(c for c in session.scalars(select(model.chain).distinct()) if c is not None)
    # A chained row without chain columns (other than a call not yet sealed) is a forgery.
    for model in CHAINED:
        cond = model.seq.is_(None)
        if model is CallRow:
            cond = and_(cond, CallRow.sealed_at.is_not(None))
        stray = session.scalar(select(model.key).where(cond).limit(1))
        if stray is not None:
            return VerifyReport(
                0, {}, f"{model.__tablename__} key={stray}: record outside any chain (forged?)"
            )
    # The anchor log's marks are checked against the log (console.store.integrity).
    stored = [
        Anchor(a.chain, a.seq, a.row_hash, a.mac)
        for a in session.scalars(select(AnchorRow).where(AnchorRow.chain != LOG_CHAIN))
    ]
    if store.hmac_key is not None:
        for a in stored:
            if a.mac is None or not hmac.compare_digest(
                a.mac, anchor_mac(store.hmac_key, a.chain, a.seq, a.row_hash)
            ):
                return VerifyReport(0, {}, f"anchor {a.text()} has no valid HMAC (forged?)")
    for a in external:
        if a.mac is not None and store.hmac_key is not None:
            if not hmac.compare_digest(
                a.mac, anchor_mac(store.hmac_key, a.chain, a.seq, a.row_hash)
            ):
                return VerifyReport(0, {}, f"given anchor {a.text()} has a wrong HMAC")
        chains.add(a.chain)
    chains.discard(CHECKPOINT_CHAIN)
    want: dict[str, dict[int, list[Anchor]]] = {}
    for a in (*stored, *external):
        want.setdefault(a.chain, {}).setdefault(a.seq, []).append(a)
    checked = 0

    def tick() -> None:
        nonlocal checked
        checked += 1
        if progress is not None and checked % every == 0:
            progress(checked, max(total, checked))

    per_chain: dict[str, int] = {}
    points, trusted = _verify_checkpoints(session, want.get(CHECKPOINT_CHAIN, {}), batch, tick)
    if points.count or points.problem:
        per_chain[CHECKPOINT_CHAIN] = points.count
    for chain in sorted(chains):
        checkpoint = trusted.get(chain)
        anchors = want.get(chain, {})
        walk = _Walk(
            chain,
            checkpoint.upto_seq + 1 if checkpoint else 1,
            checkpoint.upto_hash if checkpoint else GENESIS,
        )
        for seq in anchors:
            if checkpoint and seq == checkpoint.upto_seq:
                bad = [a for a in anchors[seq] if a.row_hash != checkpoint.upto_hash]
                if bad:
                    walk.problem = f"chain {chain}: checkpoint differs from anchor {bad[0].text()}"
        if walk.problem is None:
            _walk(walk, _chain_rows(session, chain, batch), anchors, tick)
            _walk_end(session, walk, anchors)
        if walk.problem is not None:
            return VerifyReport(checked, per_chain, _joined(points.problem, walk.problem))
        per_chain[chain] = walk.count
    return VerifyReport(checked, per_chain, points.problem)
