"""Retention: archive months older than the retention period, verify, purge that prefix only.

The duty rules keep records three years and archive monthly (§5). Three years is a rule,
not a setting: a longer retention may be asked for, a shorter one is refused, and so is any
month younger than three years, whatever the flags. `archive` writes every link of each
chain that is wholly older than the cut-off month to a JSON-lines archive with its own
SHA-256, re-reads and re-verifies the archive, then records a checkpoint per chain (last
seq and hash) and deletes exactly those links. Checkpoints are written here only, each the
next link of the chain of checkpoints (`~checkpoints`), so `verify` notices a forged or a
deleted one. The database keeps the rule too (migration 0002): it deletes a row only when
a checkpoint covers it and it is older than three years by the database's clock, and it
accepts a checkpoint only as the next link, ending on a real record, covering nothing
younger than three years.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from console.store.audit import audit_row
from console.store.chain import canonical_columns, canonical_value, link_hash, row_content
from console.store.errors import ArchiveRefused, InvalidFact, UnsoundArchiveRefused
from console.store.links import claim
from console.store.models import (
    CHAINED,
    CHECKPOINT_CHAIN,
    RETENTION_YEARS,
    AmendmentRow,
    ChainHeadRow,
    CheckpointRow,
    SignatureRow,
)
from console.store.record import DutyRecord
from console.store.values import GENESIS

log = logging.getLogger("console.store.archive")

__all__ = ["RETENTION_YEARS", "ArchiveResult", "archive", "retention_cutoff", "verify_archive"]


@dataclass(frozen=True)
class ArchiveResult:
    """The archive written and what was purged per chain."""

    path: Path | None
    digest: str | None
    purged: dict[str, int]
    """Chain → number of links moved to the archive."""


def retention_cutoff(today: date, years: int = RETENTION_YEARS) -> date:
    """First day of the month `years` before `today`'s month: older months may go."""
    return date(today.year - years, today.month, 1)


def check_retention(years: int) -> int:
    """The retention period to use: the rule's three years, or longer if asked; never shorter."""
    if isinstance(years, bool) or not isinstance(years, int) or years < RETENTION_YEARS:
        raise ArchiveRefused(
            f"a retention of {years!r} years is shorter than the {RETENTION_YEARS} years the "
            f"duty rules require (§5): it may be set longer, never shorter; nothing archived"
        )
    return years


def _time_columns(model: Any) -> list[Any]:
    """A record's times; it is as young as the latest (a call: rung, then sealed)."""
    names = {"calls": ("ring_at", "sealed_at"), "handovers": ("written_at",)}
    table = model.__table__
    return [table.c[n] for n in names.get(table.name, ("at",))]


def _latest(times: Any) -> datetime:
    found = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in times if t is not None]
    return max(found)


def _prefix(session: Session, chain: str, start: int, before: datetime) -> int:
    """Largest seq P such that every link start..P (and what hangs on it) is older."""
    links: list[tuple[int, Any, str]] = []
    for model in CHAINED:
        table = model.__table__
        query = select(table.c.seq, table.c.key, *_time_columns(model)).where(
            table.c.chain == chain, table.c.seq >= start
        )
        links.extend((int(r[0]), _latest(r[2:]), r[1]) for r in session.execute(query))
    links.sort()
    # A call (or handover) must not go while an amendment (signature) of it stays.
    latest: dict[str, datetime] = {}
    for key, at in session.execute(
        select(AmendmentRow.call_key, func.max(AmendmentRow.at)).group_by(AmendmentRow.call_key)
    ):
        latest[key] = at
    for key, at in session.execute(
        select(SignatureRow.handover_key, func.max(SignatureRow.at)).group_by(
            SignatureRow.handover_key
        )
    ):
        latest[key] = at
    upto = start - 1
    for seq, at, key in links:
        last = latest.get(key)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if at >= before or (last is not None and last >= before):
            break
        upto = seq
    return upto


def archive(
    store: DutyRecord,
    out_dir: Path,
    who: str,
    before: date | None = None,
    retention_years: int = RETENTION_YEARS,
) -> ArchiveResult:
    """Archive and purge everything before `before` (default: the retention cut-off).

    Today is the store's clock. `retention_years` may lengthen the rule's three years, never
    shorten them (`ArchiveRefused`, logged); `before` may only be earlier than the cut-off.
    """
    try:
        retention_years = check_retention(retention_years)
    except ArchiveRefused as exc:
        store.audit("archive_refused", who, str(exc))
        raise
    today = store._now().astimezone(store.tz).date()
    cutoff = retention_cutoff(today, retention_years)
    before = before or cutoff
    if before.day != 1:
        store.audit("archive_refused", who, f"before={before}: not the first of a month")
        raise ArchiveRefused(f"archive by whole months: {before} is not the first of a month")
    if before > cutoff:
        store.audit("archive_refused", who, f"before={before} is younger than {cutoff}")
        raise ArchiveRefused(
            f"records from {before:%Y-%m} back are younger than the {retention_years}-year "
            f"retention (oldest month that may go ends before {cutoff}); refused and logged"
        )
    if not out_dir.is_dir():
        raise InvalidFact(f"archive directory {out_dir} does not exist")
    before_at = datetime(before.year, before.month, 1, tzinfo=store.tz)
    report = store.verify()
    if not report.ok:
        store.audit("archive_refused", who, f"record does not verify: {report.problem}")
        raise UnsoundArchiveRefused(
            f"the record does not verify, nothing archived: {report.problem}"
        )

    with store._session(write=False) as session:
        chains = sorted(c for c in report.chains if c != CHECKPOINT_CHAIN)
        plan: dict[str, tuple[int, int, str]] = {}
        for chain in chains:
            checkpoint = session.scalars(
                select(CheckpointRow)
                .where(CheckpointRow.chain == chain)
                .order_by(CheckpointRow.upto_seq.desc())
            ).first()
            start = checkpoint.upto_seq + 1 if checkpoint else 1
            prev = checkpoint.upto_hash if checkpoint else GENESIS
            upto = _prefix(session, chain, start, before_at)
            if upto >= start:
                plan[chain] = (start, upto, prev)
        if not plan:
            store.audit("archive", who, f"before={before}: nothing older to archive")
            return ArchiveResult(None, None, {})
        path = out_dir / f"duty-archive-before-{before:%Y-%m}-{today:%Y%m%d}.jsonl"
        if path.exists():
            raise ArchiveRefused(f"{path} exists already; refusing to overwrite an archive")
        heads = _write(session, path, plan)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    checked = verify_archive(path, digest)
    if checked != heads:
        raise ArchiveRefused(f"archive {path} did not verify after writing; nothing purged")

    def purge(session: Session) -> dict[str, int]:
        purged: dict[str, int] = {}
        conn = session.connection()
        for chain, (start, upto, _) in plan.items():
            # The checkpoint is the next link of the chain of checkpoints (the database
            # refuses any other, and any that covers a record younger than three years).
            seq, prev = claim(conn, CHECKPOINT_CHAIN)
            row = CheckpointRow(
                chain=chain,
                upto_seq=upto,
                upto_hash=heads[chain],
                archive_name=path.name,
                archive_digest=digest,
                rows=upto - start + 1,
                at=store._now(),
                seq=seq,
                prev_hash=prev,
            )
            row.row_hash = link_hash(prev, CheckpointRow.__tablename__, row_content(row))
            session.add(row)
            session.flush()
            session.execute(
                update(ChainHeadRow)
                .where(ChainHeadRow.chain == CHECKPOINT_CHAIN)
                .values(seq=seq, row_hash=row.row_hash)
            )
        session.flush()
        # Children before parents (amendments → calls, signatures → handovers).
        order: list[type[Any]] = [
            AmendmentRow,
            SignatureRow,
            *[m for m in CHAINED if m not in (AmendmentRow, SignatureRow)],
        ]
        for chain, (_start, upto, _) in plan.items():
            n = 0
            for model in order:
                result = session.execute(
                    delete(model).where(model.chain == chain, model.seq <= upto)
                )
                n += int(getattr(result, "rowcount", 0) or 0)
            purged[chain] = n
        audit_row(
            store,
            session,
            "archive",
            who,
            f"{path.name} sha256={digest} before={before} "
            + " ".join(f"{c}:{s}-{u}" for c, (s, u, _) in plan.items()),
        )
        return purged

    purged: dict[str, int] = store._run(purge)
    log.warning("archived and purged %s into %s", purged, path)
    return ArchiveResult(path, digest, purged)


def _write(session: Session, path: Path, plan: dict[str, tuple[int, int, str]]) -> dict[str, str]:
    heads: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as fh:
        for chain, (start, upto, prev) in plan.items():
            fh.write(json.dumps({"chain": chain, "from": start, "upto": upto, "prev": prev}) + "\n")
            links: list[tuple[int, str, dict[str, Any], str]] = []
            for model in CHAINED:
                names = canonical_columns(model)
                table = model.__table__
                query = select(*[table.c[n] for n in names], table.c.row_hash).where(
                    table.c.chain == chain, table.c.seq >= start, table.c.seq <= upto
                )
                for row in session.execute(query):
                    content = {n: canonical_value(v) for n, v in zip(names, row[:-1], strict=True)}
                    links.append((content["seq"], table.name, content, row[-1]))
            links.sort(key=lambda item: item[0])
            for _seq, table_name, content, row_hash in links:
                fh.write(
                    json.dumps(
                        {"table": table_name, "content": content, "row_hash": row_hash},
                        ensure_ascii=False,
                        sort_keys=True,
                    )
                    + "\n"
                )
            heads[chain] = links[-1][3]
        fh.flush()
        os.fsync(fh.fileno())
    return heads


def verify_archive(path: Path, digest: str | None = None) -> dict[str, str]:
    """Re-read an archive: its digest, and every chain link in it; returns chain → last hash."""
    data = path.read_bytes()
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        raise ArchiveRefused(f"archive {path.name}: digest does not match")
    heads: dict[str, str] = {}
    chain = ""
    prev = GENESIS
    expected = 0
    for n, raw in enumerate(data.decode("utf-8").splitlines(), 1):
        item = json.loads(raw)
        if "chain" in item:
            chain, prev, expected = item["chain"], item["prev"], item["from"]
            continue
        content = item["content"]
        if content["seq"] != expected or content["prev_hash"] != prev:
            raise ArchiveRefused(f"archive {path.name} line {n}: chain {chain} broken")
        if link_hash(prev, item["table"], content) != item["row_hash"]:
            raise ArchiveRefused(f"archive {path.name} line {n}: content does not match hash")
        prev = item["row_hash"]
        expected += 1
        heads[chain] = prev
    return heads
