"""The callers-not-legs probe stays a lookup for legs without a Call-ID (issue 13).

On a team's record (calls of two seats or more) each leg is asked whether another leg of
its Call-ID outranks it. A leg with no Call-ID (a call made before the line kept them, or
by a tool) relied on NULL = NULL being false; but once `ANALYZE` had seen an index of mostly
NULLs, SQLite judged a lookup of it as costly as the whole table and probed each such leg
by scanning the table: a month of 20,000 such legs took 5 minutes for its KPIs. The work is
counted here in SQLite's own virtual-machine steps (a progress handler on every
connection), not in seconds: the team's record must cost about what the same calls cost on
one seat's record, where nothing is probed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text

from console.store import CallOutcome, DutyRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLS = 400


def record_of(path: Path, seats: tuple[str, ...]) -> DutyRecord:
    """`CALLS` sealed answered calls with no Call-ID, spread over `seats`, then ANALYZE."""
    store = DutyRecord(f"sqlite:///{path}", tz=UTC, clock=lambda: T0 + timedelta(days=1))
    for i in range(CALLS):
        at = T0 + timedelta(minutes=i)
        key = store.open_call("hotline", at, caller_number="13800000001",
                              seat=seats[i % len(seats)])
        store.seal_call(key, CallOutcome.ANSWERED, answered_at=at + timedelta(seconds=3),
                        answered_by="1024", ended_at=at + timedelta(seconds=40))
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return store


def steps_for_kpis(store: DutyRecord) -> tuple[int, int]:
    """(SQLite VM steps / 100, calls counted) for one `kpis` over the day."""
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    def hook(dbapi_conn: object, _record: object, _proxy: object) -> None:
        dbapi_conn.set_progress_handler(tick, 100)  # type: ignore[attr-defined]

    store.engine.pool.dispose()  # every connection from here on is checked out anew
    event.listen(store.engine, "checkout", hook)
    try:
        kpis = store.kpis(T0 - timedelta(hours=1), T0 + timedelta(hours=23))
    finally:
        event.remove(store.engine, "checkout", hook)
    return counted[0], kpis.total


def test_legs_without_a_call_id_are_not_probed_by_a_table_scan(tmp_path: Path) -> None:
    one = record_of(tmp_path / "one.db", ("seat-1",))
    team = record_of(tmp_path / "team.db", ("seat-1", "seat-2"))
    try:
        single_steps, single_total = steps_for_kpis(one)
        team_steps, team_total = steps_for_kpis(team)
    finally:
        one.close()
        team.close()
    assert single_total == team_total == CALLS  # each leg with no Call-ID is one caller
    # Linear: a lookup per leg. A scan per leg cost 18 times as many here (6,799 vs 375).
    assert team_steps < 3 * single_steps, (team_steps, single_steps)
