"""PostgreSQL stopped with `pg_ctl stop -m immediate` during calls, then started again
(issue 10, point 2), through the real lab.

Seen before the outbox: the calls were answered, but 60 s after the server was back only 3
of 6 calls were in the record, 18 writes still pending, no `db_back`. Here one call is under
way when the server goes, three more come while it is away: every one is answered at the
ring limit (2 rings × 0.5 s, as without a fault), and within seconds of the server's return
all four are sealed in the record, each once with its facts, `verify` is sound, and the
flow's bus carried `db_down` then `db_back`. Bounded: SIPp -timeout 40 s per call, the
server stopped and started by its own pg_ctl, the console stopped by its own path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import labctl
import pytest

from console.callflow.events import CallAnswered, CallFinished, RecordAlarm
from console.store import CallOutcome
from tests.e2e.helpers import (
    E2E_SIPP,
    at,
    ensure_digit_pcap,
    running_console,
    wait_until,
)
from tests.e2e.labconfig import write_console_toml
from tests.store.pg import PgServer, pg_bindir, pg_server, restart, stop_immediate

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
DURING = 3
"""Calls made while the server is away (one more is under way when it goes)."""


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs the Debian package)")
    with pg_server() as server:
        yield server



def test_postgres_stopped_immediately_during_calls_every_call_is_recorded(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    ensure_digit_pcap(lab, "1")
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, prompt_cache=cache)
    text = config.read_text(encoding="utf-8")
    sqlite_url = f'url = "sqlite:///{config.parent / "duty.db"}"'
    assert sqlite_url in text
    config.write_text(text.replace(sqlite_url, f'url = "{postgres.create_database()}"'),
                      encoding="utf-8")
    with running_console(config, MONDAY_10) as console:
        first = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
        console.wait_for(CallAnswered)
        stop_immediate(postgres)
        try:
            result = first.wait(timeout=45)
            assert result.ok, result.describe()
            for _ in range(DURING):
                run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
                result = run.wait(timeout=45)
                assert result.ok, result.describe()
            wait_until("every call finished", lambda: len(console.of(CallFinished)) == 1 + DURING,
                       10)
            wait_until("db_down", lambda: console.headless.store.database_down, 15)
            assert not console.sealed_calls()  # nothing read while the server is away
        finally:
            postgres.pid = restart(postgres).pid
        back = time.monotonic()
        wait_until("every call sealed", lambda: len(console.sealed_calls()) == 1 + DURING, 15)
        caught_up = time.monotonic() - back
        wait_until("db_back", lambda: not console.headless.store.database_down, 5)
        answers = [e.seconds_to_answer for e in console.of(CallAnswered)]
        calls = console.calls()
        report = console.headless.store.verify()
        kinds = [e.kind for e in console.of(RecordAlarm)]
    # Each call answered at the ring limit, the outage or not (2 rings × 0.5 s).
    assert len(answers) == 1 + DURING and all(1.0 <= s < 1.6 for s in answers), answers
    assert caught_up <= 5.0, f"record complete {caught_up:.2f} s after the server was back"
    assert len(calls) == 1 + DURING  # nothing lost, nothing twice
    assert len({c.sip_call_id for c in calls}) == 1 + DURING
    for call in calls:
        assert call.outcome is CallOutcome.ANSWERED, call
        assert call.answered_by == "auto" and call.rings == 2 and call.satisfaction == 1
        assert call.ended_at is not None and call.caller_number
    assert report.ok, report.problem
    assert kinds == ["db_down", "db_back"]
