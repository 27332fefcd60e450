"""The audit log and the security log: every override, export and alarm, and every request
that was no call, each a chained entry nobody can take back.

The audit log (`~admin` chain) holds what people and the console did to the record
(exports, verifications, unlocks, alarms); the security log (`~security` chain) holds the
requests the line refused that were no caller calling (a scanner, garbage), counted per
source, so they neither become missed calls nor vanish (duty rules §5). The call path's
entries (alarms, security events) go through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store.core import RecordCore
from console.store.errors import InvalidFact
from console.store.facts import cut_text, from_iso, iso, new_key
from console.store.links import link
from console.store.models import ADMIN_CHAIN, SECURITY_CHAIN, AuditRow
from console.store.values import AuditEntry, SecuritySummary


def audit_row(store: RecordCore, session: Session, action: str, who: str, detail: str) -> None:
    """Chain one audit entry in `session`'s transaction (the caller's write)."""
    row = AuditRow(key=new_key(), action=action, who=who, detail=detail, at=store._now())
    link(session, ADMIN_CHAIN, row)
    session.add(row)


def audit(store: RecordCore, action: str, who: str, detail: str) -> None:
    """Log an export, verification, override or purge in the chained audit log."""
    store._run(lambda s: audit_row(store, s, action, who, detail))


def raise_alarm(
    store: RecordCore, kind: str, detail: str, who: str = "console", at: datetime | None = None
) -> None:
    """An alarm in the audit log (`alarm:<kind>`), written the call path's way: through
    the outbox when one is attached, so raising it never waits for the database."""
    store._submit(
        "audit",
        {
            "key": new_key(),
            "action": f"alarm:{kind}",
            "who": who,
            "detail": detail,
            "at": iso(at or store._now()),
        },
    )


def log_security_event(
    store: RecordCore,
    kind: str,
    source: str,
    method: str,
    count: int,
    detail: str,
    at: datetime | None = None,
) -> None:
    """Requests that were no call (a scanner, garbage) in the security log: its own
    chain (`~security`), through the outbox like every fact of the line."""
    if count < 1:
        raise InvalidFact(f"a security event stands for at least one request, not {count}")
    reason = cut_text("detail", detail, 200) if len(detail) > 200 else detail
    store._submit(
        "security",
        {
            "key": new_key(),
            "action": f"security:{kind}"[:32],
            "who": source[:64],
            "detail": f"{count} {method[:16]}: {reason}",
            "at": iso(at or store._now()),
        },
    )


def security_summary(
    store: RecordCore, since: datetime, until: datetime | None = None
) -> SecuritySummary:
    """The security log from `since` (to `until`): requests, hosts, kinds."""
    query = select(AuditRow.at, AuditRow.action, AuditRow.who, AuditRow.detail).where(
        AuditRow.chain == SECURITY_CHAIN, AuditRow.at >= since
    )
    if until is not None:
        query = query.where(AuditRow.at < until)

    def load(session: Session) -> SecuritySummary:
        requests, by_kind, sources, last = 0, dict[str, int](), set[str](), None
        for at, action, who, detail in session.execute(query):
            head = detail.split(" ", 1)[0]
            n = int(head) if head.isdigit() else 1
            kind = action.partition(":")[2]
            requests += n
            by_kind[kind] = by_kind.get(kind, 0) + n
            sources.add(who)
            last = at if last is None or at > last else last
        return SecuritySummary(requests, len(sources), by_kind, last)

    result: SecuritySummary = store._run(load, write=False)
    return result


def audit_log(store: RecordCore) -> list[AuditEntry]:
    """The audit log (its own chain); the security log is `security_log`."""
    query = select(AuditRow).where(AuditRow.chain != SECURITY_CHAIN).order_by(AuditRow.seq)
    result: list[AuditEntry] = store._run(
        lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
        write=False,
    )
    return result


def audit_entries(store: RecordCore, action: str, since: datetime) -> list[AuditEntry]:
    """The audit log's entries of one `action` (e.g. `alarm:follow_up_unowned`) since
    `since`, oldest first: what a screen lists without reading the whole log."""
    query = (
        select(AuditRow)
        .where(AuditRow.chain == ADMIN_CHAIN, AuditRow.action == action, AuditRow.at >= since)
        .order_by(AuditRow.seq)
    )
    result: list[AuditEntry] = store._run(
        lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
        write=False,
    )
    return result


def security_log(store: RecordCore, since: datetime | None = None) -> list[AuditEntry]:
    """The security log's reports in order (action `security:<kind>`, who: the source)."""
    query = select(AuditRow).where(AuditRow.chain == SECURITY_CHAIN).order_by(AuditRow.seq)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    result: list[AuditEntry] = store._run(
        lambda s: [AuditEntry(r.at, r.action, r.who, r.detail) for r in s.scalars(query)],
        write=False,
    )
    return result


def audit_row_into(chain: str) -> Callable[[RecordCore, Session, dict[str, Any]], None]:
    """An outbox entry that becomes an audit row of `chain` (the audit log's alarms, or the
    security log), exactly once by its key."""

    def apply(store: RecordCore, session: Session, args: dict[str, Any]) -> None:
        if session.scalar(select(AuditRow.id).where(AuditRow.key == args["key"])):
            return
        row = AuditRow(
            key=args["key"],
            action=args["action"],
            who=args["who"],
            detail=args["detail"],
            at=from_iso(args["at"]),
        )
        link(session, chain, row)
        session.add(row)

    return apply


apply_audit = audit_row_into(ADMIN_CHAIN)
apply_security = audit_row_into(SECURITY_CHAIN)
