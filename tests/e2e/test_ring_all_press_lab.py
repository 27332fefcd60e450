"""Two agents press answer in the same 10 ms at two seats of the hotline (issue 13).

Through the lab's Kamailio forking to three seats on one PostgreSQL record (as in
`test_ring_all_lab.py`), ring limit 3 × 2 s: at 1.5 s, the agents at seats 1 and 3 press
answer together (a barrier releases both threads; the presses land within 10 ms). One agent
gets the call: exactly one 200 OK reaches the caller, the other seat answers nothing and
its agent is told at once who did ("1003 @ seat-3"), Kamailio cancels the losing branches
(taken elsewhere), and the record holds one caller's call answered by the winner at the
winner's seat, with the three seats as detail. Bounded: SIPp -timeout 20 s.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import labctl
import pytest

from console.callflow.events import AnsweredElsewhere, CallAnswered
from console.store import AgentRole, CallOutcome, DutyRecord
from tests.e2e.helpers import E2E_SIPP, SHANGHAI, wait_until
from tests.e2e.test_ring_all_lab import (
    MONDAY_10,
    SEATS,
    answers,
    postgres,  # noqa: F401  (the module's PostgreSQL fixture)
    seat_config,
    team,
)
from tests.store.pg import PgServer

pytestmark = pytest.mark.lab

AGENTS = {"seat-1": "1001", "seat-3": "1003"}


def test_two_agents_pressing_answer_in_the_same_10_ms_one_gets_the_call(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    database = postgres.create_database()
    record = DutyRecord(database, tz=SHANGHAI)
    try:
        for agent in AGENTS.values():
            record.create_agent(agent, f"坐席{agent}", AgentRole.AGENT, f"s3cret-{agent}")
    finally:
        record.close()
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    configs = [seat_config(tmp_path / name, lab, name, database, cache, cadence=2.0)
               for name in SEATS]
    with team(configs) as seats:
        by_name = dict(zip(SEATS, seats, strict=True))
        run = lab.sipp_start(E2E_SIPP / "uac_one_answer.xml", timeout=20)
        try:
            wait_until("every seat rings",
                       lambda: all(s.headless.line.calls() for s in seats), 10)
            ringing = {name: by_name[name].headless.line.calls()[0] for name in AGENTS}
            while min(c.ring_elapsed() for c in ringing.values()) < 1.5:
                time.sleep(0.01)
            barrier = threading.Barrier(len(AGENTS))
            took: dict[str, bool] = {}
            pressed: dict[str, float] = {}

            def press(name: str) -> None:
                barrier.wait()
                pressed[name] = time.monotonic()
                took[name] = by_name[name].headless.flow.take_call(
                    ringing[name].call_id, AGENTS[name])

            threads = [threading.Thread(target=press, args=(n,)) for n in AGENTS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(5)
            result = run.wait(timeout=25)
        finally:
            run.stop()
        assert result.ok, result.describe()
        store = seats[0].headless.store
        wait_until("three legs sealed",
                   lambda: sum(c.outcome is not None for c in store.calls()) == 3, 10)
        legs = {leg.seat: leg for leg in store.calls()}
        window = (MONDAY_10 - timedelta(hours=1), MONDAY_10 + timedelta(hours=1))
        callers = store.caller_calls(*window)
        kpis = store.kpis(*window)
        events = {name: (s.of(CallAnswered), s.of(AnsweredElsewhere))
                  for name, s in by_name.items()}
    assert max(pressed.values()) - min(pressed.values()) < 0.010, pressed  # the same 10 ms
    assert sorted(took.values()) == [False, True], took  # one got it, one was told at once
    [winner] = [name for name, won in took.items() if won]
    [loser] = [name for name, won in took.items() if not won]
    assert len(answers(result.messages)) == 1, answers(result.messages)  # one 200 OK
    assert [name for name, (answered, _) in events.items() if answered] == [winner]
    [lost] = events[loser][1]
    assert lost.holder == f"{AGENTS[winner]} @ {winner}"  # the loser's seat says who took it
    assert legs[winner].outcome is CallOutcome.ANSWERED
    assert legs[winner].answered_by == AGENTS[winner]
    for name in SEATS:
        if name != winner:
            assert legs[name].outcome is CallOutcome.TAKEN_ELSEWHERE, legs[name]
    [caller] = callers
    assert (caller.answered_by, caller.answered_at_seat) == (AGENTS[winner], winner)
    assert sorted(caller.seats_rang) == sorted(SEATS)
    assert (kpis.total, kpis.answered, kpis.abandoned, kpis.missed) == (1, 1, 0, 0)
