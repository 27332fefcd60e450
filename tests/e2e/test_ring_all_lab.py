"""Ring-all through the lab's Kamailio: three seats, one shared PostgreSQL, one answer.

Issue 13: three seats registered as extension 100 (Kamailio forks to every contact of the
AoR in parallel), ring limit 3 × 1 s, nobody at the keys: every seat answered at its own
ring limit, and the caller got two or three 200 OKs (SIPp never ACKed the extra dialogs).
Now the seats claim the caller's call in the shared record and only the winner answers.
SIPp takes a second 200 for a retransmission of the first (it re-ACKs the first dialog),
so the test counts the To tags of the 200 OKs in SIPp's message trace: exactly one. The
record shows one leg answered (auto) and the other two taken elsewhere (Kamailio's CANCEL
carries `Reason: SIP;cause=200`). Bounded: SIPp -timeout 15 s, the seats stop by their
own path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import labctl
import pytest

from console.callflow import ShiftedClock
from console.callflow.events import AnsweredElsewhere, CallAnswered
from console.runner import assemble
from console.store import AgentRole, CallOutcome, DutyRecord
from sip.api import LineStatus
from tests.e2e.helpers import E2E_SIPP, SHANGHAI, ConsoleUnderTest, at, wait_until
from tests.e2e.labconfig import write_console_toml
from tests.store.pg import PgServer, pg_bindir, pg_server

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
SEATS = ("seat-1", "seat-2", "seat-3")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PgServer]:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs the Debian package)")
    with pg_server() as server:
        yield server


def seat_config(directory: Path, lab: labctl.Lab, name: str, database: str,
                cache: Path, cadence: float = 1.0) -> Path:
    """A seat of the hotline: extension 100, its own SIP port, outbox and name, the team's
    PostgreSQL record; ring limit 3 × `cadence` s."""
    path = write_console_toml(directory, lab.proxy_port, rings=3, cadence=cadence,
                              prompt_cache=cache)
    text = path.read_text(encoding="utf-8")
    text = text.replace(f'url = "sqlite:///{directory / "duty.db"}"', f'url = "{database}"')
    path.write_text(text + f'\n[seat]\nname = "{name}"\n', encoding="utf-8")
    return path


def answers(trace: str) -> set[str]:
    """The To tags of the 200 OKs to the INVITE that SIPp received: one per answering seat."""
    tags = set()
    for message in trace.split("UDP message received")[1:]:
        lines = [line.strip() for line in message.splitlines()]
        status = next((line for line in lines if line.startswith("SIP/2.0")), "")
        cseq = next((line for line in lines if line.lower().startswith("cseq:")), "")
        to = next((line for line in lines if line.lower().startswith(("to:", "t:"))), "")
        if status.startswith("SIP/2.0 200") and "INVITE" in cseq.upper() and ";tag=" in to:
            tags.add(to.split(";tag=")[1].split(";")[0])
    return tags


def answers_per_call(trace: str) -> dict[str, set[str]]:
    """Call-ID → the To tags of the 200 OKs to its INVITE: one per seat that answered it."""
    found: dict[str, set[str]] = {}
    for message in trace.split("UDP message received")[1:]:
        lines = [line.strip() for line in message.splitlines()]
        status = next((line for line in lines if line.startswith("SIP/2.0")), "")
        cseq = next((line for line in lines if line.lower().startswith("cseq:")), "")
        to = next((line for line in lines if line.lower().startswith(("to:", "t:"))), "")
        call_id = next((line.split(":", 1)[1].strip() for line in lines
                        if line.lower().startswith(("call-id:", "i:"))), "")
        if status.startswith("SIP/2.0 200") and "INVITE" in cseq.upper() and ";tag=" in to:
            found.setdefault(call_id, set()).add(to.split(";tag=")[1].split(";")[0])
    return found


@contextmanager
def team(configs: list[Path]) -> Iterator[list[ConsoleUnderTest]]:
    with ExitStack() as stack:
        seats = []
        for config in configs:
            seat = ConsoleUnderTest(assemble(config, clock=ShiftedClock(MONDAY_10))).start()
            stack.callback(seat.stop)
            seats.append(seat)
        yield seats


def test_nobody_answers_exactly_one_200_reaches_the_caller(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    database = postgres.create_database()
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    configs = [seat_config(tmp_path / name, lab, name, database, cache) for name in SEATS]
    with team(configs) as seats:
        caller = lab.sipp(E2E_SIPP / "uac_one_answer.xml", timeout=15)
        assert caller.ok, caller.describe()
        assert caller.stats().get("SuccessfulCall(C)") == "1", caller.stats()
        assert len(answers(caller.messages)) == 1, answers(caller.messages)  # one 200 OK
        store = seats[0].headless.store
        wait_until("three legs sealed",
                   lambda: sum(c.outcome is not None for c in store.calls()) == 3, 10)
        legs = store.calls()
        window = (MONDAY_10 - timedelta(hours=1), MONDAY_10 + timedelta(hours=1))
        callers = store.caller_calls(*window)
        kpis = store.kpis(*window)
        answered = [s for s in seats if s.of(CallAnswered)]
        elsewhere = [s for s in seats if s.of(AnsweredElsewhere)]
    assert len(answered) == 1 and len(elsewhere) == 2
    [answer] = answered[0].of(CallAnswered)
    assert answer.answered_by == "auto"
    assert 2.9 <= answer.seconds_to_answer <= 3.2  # at the ring limit, the claim inside it
    assert len({leg.sip_call_id for leg in legs}) == 1  # one caller's call, three branches
    by_outcome = sorted((leg.outcome.value if leg.outcome else "", leg.seat or "")
                        for leg in legs)
    winner = answered[0].headless.parts["records"].seat
    assert [o for o, _ in by_outcome].count(CallOutcome.TAKEN_ELSEWHERE.value) == 2, by_outcome
    [auto] = [leg for leg in legs if leg.outcome is not CallOutcome.TAKEN_ELSEWHERE]
    assert auto.answered_by == "auto" and auto.seat == winner
    for seat in elsewhere:
        [lost] = seat.of(AnsweredElsewhere)
        assert lost.holder == f"auto @ {winner}"
    # One record of the caller's call: auto at the winner's seat, the three seats rang, and
    # the figures count one caller (three legs before issue 13's grouping).
    [caller] = callers
    assert (caller.answered_by, caller.answered_at_seat) == ("auto", winner)
    assert sorted(caller.seats_rang) == sorted(SEATS) and len(caller.legs) == 3
    assert (kpis.total, kpis.answered, kpis.abandoned, kpis.missed) == (1, 1, 0, 0)


def test_twenty_callers_through_three_forked_seats_are_twenty_records(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """20 callers, at most 3 at a time, nobody at the keys: each caller gets one 200 OK,
    the record holds 60 legs (3 per caller) and 20 caller's calls, and the figures say 20."""
    database = postgres.create_database()
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    configs = [seat_config(tmp_path / name, lab, name, database, cache) for name in SEATS]
    with team(configs) as seats:
        caller = lab.sipp(E2E_SIPP / "uac_one_answer.xml", calls=20, rate=1.0, limit=3,
                          timeout=90)
        assert caller.ok, caller.describe()
        assert caller.stats().get("SuccessfulCall(C)") == "20", caller.stats()
        per_call = answers_per_call(caller.messages)
        assert len(per_call) == 20 and all(len(t) == 1 for t in per_call.values()), per_call
        store = seats[0].headless.store
        wait_until("sixty legs sealed",
                   lambda: sum(c.outcome is not None for c in store.calls()) == 60, 20)
        window = (MONDAY_10 - timedelta(hours=1), MONDAY_10 + timedelta(hours=2))
        legs = store.calls()
        callers = store.caller_calls(*window)
        kpis = store.kpis(*window)
    assert len(legs) == 60 and len({leg.sip_call_id for leg in legs}) == 20
    assert len(callers) == 20
    assert {c.call.sip_call_id for c in callers} == set(per_call)
    assert all(c.answered_by == "auto" and len(c.legs) == 3 for c in callers)
    assert all(sorted(c.seats_rang) == sorted(SEATS) for c in callers)
    assert (kpis.total, kpis.answered, kpis.abandoned, kpis.missed) == (20, 20, 0, 0)
    assert sum(kpis.calls_per_hour.values()) == 20 and kpis.satisfaction == {None: 20}


def test_the_agent_at_seat_2_answers_at_4_s_and_the_others_are_cancelled(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Seat 2 is the TUI under Textual's Pilot (agent 1024 logged in), seats 1 and 3 are
    headless; ring limit 3 × 2 s. The agent presses Enter at 4 s: seat 2's claim wins, it
    answers, Kamailio cancels the other branches before their own claim at 5.5 s."""
    from console.ui.assemble import build_console
    from tests.ui.helpers import login, screen_name, until

    database = postgres.create_database()
    record = DutyRecord(database, tz=SHANGHAI)
    try:
        record.create_agent("1024", "王芳", AgentRole.AGENT, "s3cret-1024")
    finally:
        record.close()
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    configs = [seat_config(tmp_path / name, lab, name, database, cache, cadence=2.0)
               for name in SEATS]
    pressed_at: list[float] = []
    with team([configs[0], configs[2]]) as others:
        app, tui = build_console(configs[1], clock=ShiftedClock(MONDAY_10))

        async def seat_2() -> labctl.SippResult:
            async with app.run_test(size=(150, 45)) as pilot:
                await login(pilot)
                await until(pilot, lambda: tui.line.status is LineStatus.REGISTERED, "reg")
                run = lab.sipp_start(E2E_SIPP / "uac_one_answer.xml", timeout=20)
                try:
                    await until(pilot, lambda: screen_name(app) == "RingingScreen", "banner")
                    [call] = tui.line.calls()
                    while call.ring_elapsed() < 4.0:
                        await pilot.pause(0.02)
                    pressed_at.append(call.ring_elapsed())
                    await pilot.press("enter")
                    await until(pilot, lambda: screen_name(app) == "CallScreen", "on call")
                    result = await asyncio.to_thread(run.wait)
                finally:
                    run.stop()
                await pilot.pause(0.2)
                return result

        try:
            caller = asyncio.run(seat_2())
        finally:
            tui.flow.stop()
            if tui.seal_open is not None:
                tui.seal_open()
            tui.store.settle(5.0, through_outage=False)
            tui.store.close()
        assert caller.ok, caller.describe()
        assert len(answers(caller.messages)) == 1, answers(caller.messages)  # one 200 OK
        store = others[0].headless.store
        deadline = time.monotonic() + 10
        while sum(c.outcome is not None for c in store.calls()) < 3:
            assert time.monotonic() < deadline, store.calls()
            time.sleep(0.05)
        legs = {leg.seat: leg for leg in store.calls()}
        callers = store.caller_calls(MONDAY_10 - timedelta(hours=1),
                                     MONDAY_10 + timedelta(hours=1))
        assert not any(s.of(CallAnswered) for s in others)
    assert legs["seat-2"].answered_by == "1024" and legs["seat-2"].outcome is CallOutcome.ANSWERED
    # Pressed at 4 s, answered within the third ring (ring k covers ((k-1)·2, k·2] s),
    # inside the ring limit of 6 s.
    assert 4.0 <= pressed_at[0] < 4.5 and legs["seat-2"].rings == 3
    for name in ("seat-1", "seat-3"):
        assert legs[name].outcome is CallOutcome.TAKEN_ELSEWHERE, legs[name]
        assert legs[name].end_reason == "completed_elsewhere"
    [caller] = callers  # one record of the caller's call: seat 2's agent, three seats rang
    assert (caller.answered_by, caller.answered_at_seat) == ("1024", "seat-2")
    assert caller.seats_rang and set(caller.seats_rang) == set(SEATS)


def test_a_caller_who_hangs_up_while_three_seats_ring_is_one_abandoned_call(
    lab: labctl.Lab, postgres: PgServer, tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The caller gives up after 0.5 s: Kamailio cancels every branch (no cause=200), each
    seat seals its leg abandoned; the record's figures say one abandoned call, not three."""
    database = postgres.create_database()
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    configs = [seat_config(tmp_path / name, lab, name, database, cache) for name in SEATS]
    with team(configs) as seats:
        gave_up = lab.sipp(E2E_SIPP / "uac_cancel_ring_all.xml", timeout=15)
        assert gave_up.ok, gave_up.describe()
        store = seats[0].headless.store
        wait_until("three legs sealed",
                   lambda: sum(c.outcome is not None for c in store.calls()) == 3, 10)
        legs = store.calls()
        window = (MONDAY_10 - timedelta(hours=1), MONDAY_10 + timedelta(hours=1))
        callers = store.caller_calls(*window)
        kpis = store.kpis(*window)
    assert [leg.outcome for leg in legs] == [CallOutcome.ABANDONED] * 3, legs
    assert not any(s.of(CallAnswered) for s in seats)
    [caller] = callers
    assert caller.answered_by is None and sorted(caller.seats_rang) == sorted(SEATS)
    assert (kpis.total, kpis.abandoned, kpis.answered) == (1, 1, 0)  # three legs, one caller
