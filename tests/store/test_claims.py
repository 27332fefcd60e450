"""Answer claims (issue 13, ring-all): the seats of one hotline agree which one answers.

Three seats on one extension each answered at their own ring limit and the caller got two
or three 200 OKs. A seat now answers only after winning the claim on the caller's dialog
(Call-ID and From tag, the same on every forked branch), taken in one INSERT … ON CONFLICT
DO NOTHING: of seats claiming the same dialog at the same moment exactly one wins, and the
others learn who. A claim the record cannot settle counts as won (duty rules §1).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select, text

from console.domain.answer_claim import AnswerClaim
from console.store import DutyRecord
from console.store.claims import AnswerClaims, ClaimTicket, dialog_key
from console.store.engine import make_engine
from console.store.models import ClaimRow
from tests.store.conftest import Clock
from tests.store.pg import _free_port

SEATS = ("seat-a", "seat-b", "seat-c")


@pytest.fixture
def seats(db_url: str, clock: Clock) -> Iterator[list[AnswerClaims]]:
    """Three seats, each with its own record (connection) on the one database."""
    records = [DutyRecord(db_url, tz=UTC, clock=clock) for _ in SEATS]
    claims = [AnswerClaims(r, seat, "hotline", clock=clock) for r, seat in zip(records, SEATS,
                                                                             strict=True)]
    yield claims
    for c in claims:
        c.close()
    for r in records:
        r.close()


def _settled(ticket: ClaimTicket, timeout: float = 5.0) -> AnswerClaim:
    deadline = time.monotonic() + timeout
    while ticket.result is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert ticket.result is not None, "the claim was not settled"
    return ticket.result


def test_seats_claiming_one_dialog_at_once_have_exactly_one_winner(
    seats: list[AnswerClaims],
) -> None:
    for n in range(15):
        dialog = dialog_key(f"call-{n}@10.0.0.1", f"tag{n}")
        start = threading.Barrier(len(seats))
        results: dict[str, AnswerClaim] = {}

        def claim(desk: AnswerClaims, dialog: str = dialog,
                  start: threading.Barrier = start,
                  results: dict[str, AnswerClaim] = results) -> None:
            start.wait()
            agent = "1001" if desk.seat == "seat-b" else None
            results[desk.seat] = desk.decide(dialog, agent)

        threads = [threading.Thread(target=claim, args=(d,)) for d in seats]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert all(r.decided for r in results.values()), results
        winners = [seat for seat, r in results.items() if r.won]
        assert len(winners) == 1, results
        # Every loser names the winner (and its agent, if one pressed answer).
        for seat, result in results.items():
            assert result.seat == winners[0]
            assert result.agent_id == ("1001" if winners[0] == "seat-b" else None), seat


def test_a_claim_returns_at_once_and_wakes_its_caller(seats: list[AnswerClaims]) -> None:
    woken = threading.Event()
    started = time.monotonic()
    first = seats[0].claim("abc@host", "t1", None, woken.set)
    assert time.monotonic() - started < 0.05  # queued, not waited for
    assert _settled(first) == AnswerClaim(won=True, seat="seat-a", agent_id=None)
    assert woken.wait(1)
    # The agent at seat B presses answer later: B loses and sees who took it.
    lost = _settled(seats[1].claim("abc@host", "t1", "1002", lambda: None))
    assert not lost.won and lost.decided and lost.holder() == "auto @ seat-a"
    # The same Call-ID with another From tag is another caller's call (RFC 3261 §12).
    assert _settled(seats[1].claim("abc@host", "t2", "1002", lambda: None)).won


def test_an_unsettled_claim_counts_as_won_and_is_counted(
    seats: list[AnswerClaims], db_url: str,
) -> None:
    desk = seats[0]
    engine = make_engine(db_url)
    with engine.begin() as conn:  # the record loses the table (a restore gone wrong)
        conn.execute(text("DROP TABLE answer_claims"))
    engine.dispose()
    result = _settled(desk.claim("x@host", "t", None, lambda: None))
    assert result.won and not result.decided
    assert "answer_claims" in result.problem
    assert desk.failures == 1


@pytest.mark.postgres
def test_a_server_that_is_gone_is_an_undecided_claim_within_a_bound(
    postgres: object, clock: Clock,
) -> None:
    from tests.store.pg import PgServer

    assert isinstance(postgres, PgServer)
    record = DutyRecord(postgres.create_schema(), tz=UTC, clock=clock)
    desk = AnswerClaims(record, "seat-a", "hotline", clock=clock)
    try:
        # The server's address now answers nothing (its port closed): connection refused.
        assert desk._own_engine is not None
        desk._own_engine.dispose()
        gone = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/postgres"
        desk._engine = make_engine(gone, server_args={"connect_timeout": 2})
        started = time.monotonic()
        result = _settled(desk.claim("y@host", "t", "1001", lambda: None))
        assert time.monotonic() - started < 2.5
        assert result.won and not result.decided and result.agent_id == "1001"
        desk._engine.dispose()
    finally:
        desk.close()
        record.close()


def test_old_claims_are_pruned_and_recent_ones_kept(db_url: str, clock: Clock) -> None:
    record = DutyRecord(db_url, tz=UTC, clock=clock)
    try:
        first = AnswerClaims(record, "seat-a", "hotline", clock=clock)
        _settled(first.claim("old@host", "t", None, lambda: None))
        first.close()
        clock.now += timedelta(days=2)
        later = AnswerClaims(record, "seat-a", "hotline", clock=clock)  # prunes at its first
        _settled(later.claim("new@host", "t", None, lambda: None))
        later.close()
        with record.engine.connect() as conn:
            dialogs = set(conn.execute(select(ClaimRow.dialog)).scalars())
            count = conn.execute(select(func.count()).select_from(ClaimRow)).scalar()
        assert dialogs == {dialog_key("new@host", "t")} and count == 1
    finally:
        record.close()


def test_a_closed_desk_answers_undecided_at_once(store: DutyRecord) -> None:
    desk = AnswerClaims(store, "seat-a", "hotline")
    desk.close()
    result = _settled(desk.claim("z@host", "t", None, lambda: None), timeout=0.1)
    assert result.won and not result.decided


def test_odd_dialogs_are_claimed_like_any_other(seats: list[AnswerClaims]) -> None:
    """A 2 KB Call-ID, a missing From tag (an RFC 2543 caller), non-ASCII: hashed to fit."""
    for call_id, tag in (("x" * 2048 + "@host", "t"), ("no-tag@host", ""),
                         ("来电-1@主机", "标签")):
        first = _settled(seats[0].claim(call_id, tag, None, lambda: None))
        second = _settled(seats[1].claim(call_id, tag, "1002", lambda: None))
        assert first.won and first.decided, (call_id[:20], first)
        assert not second.won and second.holder() == "auto @ seat-a"
    assert dialog_key("a", "bc") != dialog_key("ab", "c")  # the parts stay apart


def _claim_threads(seat: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"claims-{seat}"]


def test_the_claim_thread_lives_only_while_claims_are_settled(store: DutyRecord) -> None:
    """Issue 14: at 100 calls the line had 13 threads, the 13th this seat's claim thread,
    started by the first claim and kept for good. It ends once no claim is left to settle
    and the next claim starts it again."""
    desk = AnswerClaims(store, "seat-a", "hotline", idle=0.05)
    try:
        assert not _claim_threads("seat-a") and not desk.working
        tickets = [desk.claim(f"burst-{n}@host", "t", None, lambda: None) for n in range(100)]
        assert all(_settled(t).won and _settled(t).decided for t in tickets)
        deadline = time.monotonic() + 2.0
        while _claim_threads("seat-a") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _claim_threads("seat-a") and not desk.working
        # The next call's claim starts it again, and is settled like any other.
        started = time.monotonic()
        later = desk.claim("later@host", "t", "1001", lambda: None)
        assert time.monotonic() - started < 0.05
        assert _settled(later) == AnswerClaim(won=True, seat="seat-a", agent_id="1001")
    finally:
        desk.close()
    assert not _claim_threads("seat-a")


@pytest.mark.postgres
def test_warm_connects_before_the_first_claim_and_the_thread_still_ends(
    clock: Clock, tmp_path: object
) -> None:
    """A seat's first claim paid for the PostgreSQL connection and its session setup as
    well as its INSERT (35-130 ms on a loaded machine, now and then past the 0.4 s bound,
    when two presses both counted as won). `warm` (the flow calls it at start) connects on
    the claim thread at once; the first claim then opens no connection, and the thread
    still ends when idle."""
    from sqlalchemy import event

    from tests.store.pg import pg_bindir, pg_server

    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs the Debian package)")
    with pg_server() as server:
        store = DutyRecord(server.create_database(), tz=UTC, clock=clock)
        desk = AnswerClaims(store, "seat-a", "hotline", idle=0.05)
        connects: list[object] = []
        assert desk._own_engine is not None
        event.listen(desk._own_engine, "connect", lambda *_: connects.append(1))
        try:
            desk.warm()
            deadline = time.monotonic() + 5.0
            while (not connects or desk.working) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(connects) == 1 and not desk.working  # connected, then idle: no thread
            first = desk.claim("first@host", "t", "1001", lambda: None)
            assert _settled(first) == AnswerClaim(won=True, seat="seat-a", agent_id="1001")
            assert len(connects) == 1  # the first claim found its connection open
        finally:
            desk.close()
            store.close()
