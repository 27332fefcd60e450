"""Team-board benchmark (issue 13): a state change on seat 1 to the board update on seat 2.

Two seats (two `DutyRecord`s, each with its own `BoardFeed`, seat 1 with its outbox
attached as a real seat has) share one record: a throw-away PostgreSQL on loopback with
its durable defaults (`tests/store/pg.py`, started and stopped by pid), and for comparison
one SQLite file (the loopback-datagram notice). The record holds a day's calls (`--calls`,
sealed today), so each board read includes today's figures as on a real day.

One sample: seat 1 publishes a new presence (`BoardFeed.publish`, what the seat's UI loop
calls) → seat 1's publisher thread writes its row and `pg_notify` in one transaction →
seat 2's listener wakes in `select()`, re-reads the board (seats and today's figures) and
posts it to seat 2's Textual app (headless), whose handler hands it to the `TeamBoard`
widget: the sample ends when `show` has run there (the paint follows at the next refresh).
The reference, in the same run and interleaved sample by sample: a raw psycopg `NOTIFY` on
one connection to a `LISTEN`ing connection waiting in `select()` (what LISTEN/NOTIFY itself
costs here).
Goal: p95 ≤ 300 ms over loopback.

Writes its section between `<!-- bench_board -->` and `<!-- /bench_board -->` in
BENCHMARKS.md, with the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.app import App, ComposeResult

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from console.domain.board import (  # noqa: E402
    Board,
    BoardState,
    GateWord,
    LineWord,
    SeatPresence,
    WaitingCall,
)
from console.domain.labels import Language  # noqa: E402
from console.store import CallOutcome, DutyRecord, Outbox  # noqa: E402
from console.store.board import BoardFeed, read_board  # noqa: E402
from console.widgets.team_board import BoardHeard, TeamBoard  # noqa: E402

MARK = "<!-- bench_board -->"
END = "<!-- /bench_board -->"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def seed(store: DutyRecord, calls: int) -> None:
    """`calls` sealed calls that rang today, one a minute back from now."""
    now = datetime.now(UTC)
    start = max(now - timedelta(minutes=calls), now.replace(hour=0, minute=0, second=1))
    step = (now - start) / max(calls, 1)
    for i in range(calls):
        at = start + step * i
        key = store.open_call("hotline", at, caller_number=f"1390000{i:04d}", seat="seat-1")
        if i % 10:
            store.update_open_call(key, answered_at=at + timedelta(seconds=3 + i % 20),
                                   answered_by="1024")
            store.seal_call(key, CallOutcome.ANSWERED, ended_at=at + timedelta(seconds=60))
        else:
            store.seal_call(key, CallOutcome.ABANDONED, ended_at=at + timedelta(seconds=9))


class Heard:
    """Seat 2's sink: the moment a board shows seat 1 in the presence sample `want`."""

    def __init__(self) -> None:
        self.want: datetime | None = None
        self.at = 0.0
        self.got = threading.Event()
        self.boards = 0

    def __call__(self, board: Board) -> None:
        self.boards += 1
        for seat in board.seats:
            if seat.seat == "seat-1" and self.want is not None and seat.since == self.want:
                self.at = time.perf_counter()
                self.got.set()


class BoardApp(App[None]):
    """Seat 2's screen, reduced to its board: the sink posts each board to the app, as the
    seat's own sink does (`BoardHeard`), and the sample ends once `TeamBoard.show` has
    run on the UI loop for the board that shows seat 1's new state."""

    def __init__(self) -> None:
        super().__init__()
        self.heard = Heard()

    def compose(self) -> ComposeResult:
        yield TeamBoard(lambda: datetime.now(UTC), Language.ZH, id="team")

    def on_board_heard(self, message: BoardHeard) -> None:
        self.query_one(TeamBoard).show(message.board, True)
        self.heard(message.board)

    def sink(self, board: Board) -> None:
        self.post_message(BoardHeard(board))


def presence(i: int, base: datetime) -> SeatPresence:
    state = (BoardState.READY, BoardState.RINGING, BoardState.ON_CALL,
             BoardState.AFTER_CALL_WORK)[i % 4]
    since = base + timedelta(milliseconds=i)
    waiting = (WaitingCall(f"dlg-{i}", since),) if state is BoardState.RINGING else ()
    return SeatPresence("seat-1", state, since, "1024", line=LineWord.REGISTERED,
                        gate_post=GateWord.OK, waiting=waiting)


class RawPair:
    """The reference: NOTIFY on one psycopg connection, LISTEN on another (select())."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self.talk = psycopg.connect(conninfo, autocommit=True)
        self.hear = psycopg.connect(conninfo, autocommit=True)
        self.hear.execute("LISTEN bench_reference")

    def once(self, i: int) -> float:
        started = time.perf_counter()
        self.talk.execute("SELECT pg_notify('bench_reference', %s)", (str(i),))
        while True:
            select.select([self.hear.fileno()], [], [], 5.0)
            if any(n.payload == str(i) for n in self.hear.notifies(timeout=0)):
                return time.perf_counter() - started

    def close(self) -> None:
        self.talk.close()
        self.hear.close()


def board_once(feed: BoardFeed, heard: Heard, i: int, base: datetime) -> float:
    p = presence(i, base)
    heard.got.clear()
    heard.want = p.since
    started = time.perf_counter()
    feed.publish(p)
    if not heard.got.wait(10.0):
        raise RuntimeError(f"sample {i}: seat 2 never heard seat 1")
    return heard.at - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def two_seats(url: str, outbox_dir: Path, calls: int) -> tuple[DutyRecord, DutyRecord]:
    one, two = DutyRecord(url, tz=UTC), DutyRecord(url, tz=UTC)
    seed(one, calls)
    one.attach_outbox(Outbox(outbox_dir, "seat-1"))
    one.claim_seat("seat-1")
    two.claim_seat("seat-2")
    return one, two


Samples = tuple[list[float], list[float], list[float], int]


def run_board(url: str, outbox_dir: Path, calls: int, n: int,
              reference: RawPair | None) -> Samples:
    """The samples with seat 2's board in a Textual app (headless, on its own loop)."""
    app = BoardApp()
    result: list[Samples] = []

    async def drive() -> None:
        async with app.run_test(size=(120, 30)):
            result.append(await asyncio.to_thread(
                run_samples, url, outbox_dir, calls, n, reference, app))

    asyncio.run(drive())
    return result[0]


def run_samples(url: str, outbox_dir: Path, calls: int, n: int, reference: RawPair | None,
                app: BoardApp) -> Samples:
    one, two = two_seats(url, outbox_dir, calls)
    feed_1, feed_2 = BoardFeed(one, "seat-1"), BoardFeed(two, "seat-2")
    heard = app.heard
    started = threading.Event()
    feed_1.start(lambda _b: None)
    feed_2.start(lambda b: (app.sink(b), started.set()))
    try:
        if not started.wait(10):
            raise RuntimeError("seat 2's board never read")
        base = datetime.now(UTC)
        for i in range(5):  # warm: connections, statement caches
            board_once(feed_1, heard, i, base)
            if reference is not None:
                reference.once(i)
        board, ref, reads = [], [], []
        for i in range(5, 5 + n):
            board.append(board_once(feed_1, heard, i, base))
            if reference is not None:
                ref.append(reference.once(i))
            started_read = time.perf_counter()
            read_board(two)  # the part of a sample that is seat 2's read of the board
            reads.append(time.perf_counter() - started_read)
            time.sleep(0.01)  # a state change, not a burst: each sample stands alone
        told = feed_2.listener.reads if feed_2.listener else 0
    finally:
        feed_1.stop()
        feed_2.stop()
        one.close()
        two.close()
    return board, ref, reads, told


def row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {pct(ms, 0.95):.1f} | "
            f"{max(ms):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="samples per backend")
    parser.add_argument("--calls", type=int, default=300, help="calls sealed today")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    from tests.store.pg import pg_server

    before = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp, \
            pg_server(durable=True) as server:
        url = server.create_database()
        conninfo = f"host=127.0.0.1 port={server.port} user=postgres dbname={url.rsplit('/', 1)[1]}"
        reference = RawPair(conninfo)
        try:
            pg_board, pg_ref, pg_read, pg_reads = run_board(
                url, Path(tmp) / "pg", args.calls, args.n, reference)
        finally:
            reference.close()
        sqlite_url = f"sqlite:///{Path(tmp) / 'duty.db'}"
        lite_board, _, lite_read, lite_reads = run_board(
            sqlite_url, Path(tmp) / "lite", args.calls, args.n, None)
    after = loadavg()
    p95, ref95 = pct(pg_board, 0.95) * 1000, pct(pg_ref, 0.95) * 1000
    verdict = "met" if p95 <= 300 else "NOT met"
    section = "\n".join([
        MARK,
        "## Team board: seat 1's state change to seat 2's board (`scripts/bench_board`)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs **shared with four "
        f"other helpers' tests** (load average {before} before, {after} after). Each sample: "
        "seat 1 `BoardFeed.publish` → its publisher thread writes `seats.presence` and "
        "`pg_notify` in one transaction → seat 2's listener wakes in `select()`, re-reads "
        f"the board (every seat and today's figures over {args.calls} sealed calls) and posts "
        "it to seat 2's Textual app (headless), whose handler gives it to the `TeamBoard` "
        "widget; the sample ends when `show` has run there. The reference, interleaved "
        "sample by sample in the same run: raw psycopg `NOTIFY` → a `LISTEN`ing "
        "connection in `select()`. PostgreSQL with its "
        "durable defaults (fsync on), loopback. SQLite: the same two seats on one file, the "
        "loopback datagram as the notice.",
        "",
        "| path | samples | median ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        row("PostgreSQL: seat 1 → seat 2's board widget", pg_board),
        row("reference: raw NOTIFY → LISTEN", pg_ref),
        row("of which: seat 2's read of the board alone (PostgreSQL)", pg_read),
        row("SQLite: seat 1 → seat 2's board widget (datagram)", lite_board),
        row("of which: seat 2's read of the board alone (SQLite)", lite_read),
        "",
        f"p95 ratio board / reference: {p95 / ref95:.1f}× ({p95:.1f} ms vs {ref95:.1f} ms); "
        f"goal p95 ≤ 300 ms: **{verdict}**. Board reads at seat 2: {pg_reads} for "
        f"{args.n + 5} changes on PostgreSQL, {lite_reads} on SQLite (one at the start, then "
        "one per notice: nothing polls).",
        END,
    ])
    old = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    if MARK in old:
        head, _, rest = old.partition(MARK)
        _, _, tail = rest.partition(END)
        new = head + section + tail
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    args.out.write_text(new)
    print(section)
    return 0 if p95 <= 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
