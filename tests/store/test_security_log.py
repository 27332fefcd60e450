"""The security log: requests that were no call, chained in their own chain, counted for
supervisors, never in the calls (issue 10, point 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.adapters import StoreCallRecords
from console.domain.security import SecurityKind
from console.store import DutyRecord, InvalidFact, Outbox
from console.store.models import SECURITY_CHAIN

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_refused_requests_are_chained_counted_and_no_calls(db_url: str, tmp_path: Path) -> None:
    store = DutyRecord(db_url, tz=UTC)
    store.attach_outbox(Outbox(tmp_path / "outbox", "seat"))
    records = StoreCallRecords(store)
    records.security_event(SecurityKind.UNTRUSTED_INVITE, "198.51.100.7", "INVITE", 1,
                           "source not trusted", T0)
    records.security_event(SecurityKind.UNTRUSTED_INVITE, "198.51.100.7", "INVITE", 40,
                           "source not trusted", T0 + timedelta(seconds=5))
    records.security_event(SecurityKind.MALFORMED, "203.0.113.9", "?", 3,
                           "unparsable datagram (no start line)", T0 + timedelta(seconds=9))
    assert store.settle(10)
    summary = store.security_summary(T0 - timedelta(hours=1))
    assert summary.requests == 44 and summary.sources == 2
    assert summary.by_kind == {"untrusted_invite": 41, "malformed": 3}
    assert summary.last_at == T0 + timedelta(seconds=9)
    assert store.security_summary(T0 + timedelta(seconds=6)).requests == 3
    assert store.calls() == []  # a sweep of the line is no call: the answer rate is untouched
    report = store.verify()
    assert report.ok and report.chains[SECURITY_CHAIN] == 3
    assert SECURITY_CHAIN in {a.chain for a in store.chain_heads()}  # anchored like the rest
    store.close()


def test_a_security_event_for_no_request_is_refused(tmp_path: Path) -> None:
    store = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=UTC)
    with pytest.raises(InvalidFact, match="at least one request"):
        store.log_security_event("malformed", "127.0.0.1", "?", 0, "x")
    long = "x" * 500
    store.log_security_event("malformed", "127.0.0.1", "?", 1, long, T0)
    assert store.audit_log() == []  # the audit log is the supervisors' actions, not probes
    (entry,) = store.security_log()
    assert entry.action == "security:malformed" and entry.who == "127.0.0.1"
    assert entry.detail.startswith("1 ?: x") and "[cut 500→200]" in entry.detail
    store.close()
