"""Benchmark of the duty record (issue 3): bulk load, review, KPIs, record+seal, verify.

Generates N calls (default 1.1 M = 3 years × 1,000 a day) with a realistic spread over the
day and over outcomes, loads them with a valid hash chain (executemany on SQLite, COPY on
PostgreSQL), then measures on each backend: a one-day review query with filters (p95), month
KPIs, the same SQL through the raw driver as the reference (ratio), a month's CSV export
against the raw driver fetching and writing the same rows, record+seal per call and the
`verify` rate, each with its goal and whether it was met. Writes its section between
`<!-- bench_store -->` and `<!-- /bench_store -->` in BENCHMARKS.md (an older section that
ends with a second `<!-- bench_store -->` is replaced too). PostgreSQL is started on
loopback by `tests/store/pg.py` and stopped by pid.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, insert, text  # noqa: E402

from console.store import CallFilter, CallOutcome, DutyRecord  # noqa: E402
from console.store.chain import link_hash  # noqa: E402
from console.store.export import export_calls  # noqa: E402
from console.store.models import CallRow, ChainHeadRow  # noqa: E402
from console.store.values import CATEGORIES, GENESIS  # noqa: E402

log = logging.getLogger("bench_store")
MARK = "<!-- bench_store -->"
END = "<!-- /bench_store -->"
HOUR_WEIGHTS = [
    1,
    1,
    1,
    1,
    1,
    2,
    4,
    10,
    30,
    60,
    70,
    55,
    35,
    40,
    55,
    60,
    50,
    40,
    25,
    15,
    10,
    6,
    3,
    2,
]
OUTCOMES = [
    (CallOutcome.ANSWERED, 85),
    (CallOutcome.ABANDONED, 5),
    (CallOutcome.MISSED, 3),
    (CallOutcome.FORWARDED, 6),
    (CallOutcome.INTERRUPTED, 1),
]
AGENTS = [f"10{n:02d}" for n in range(12)]


def generate(n: int, end: date, rng: random.Random) -> Iterator[dict[str, Any]]:
    """N calls over n/1000 days ending at `end`, each a complete sealed row (no chain yet)."""
    days = max(1, n // 1000)
    start = end - timedelta(days=days)
    per_day = n // days
    extra = n - per_day * days
    cats = list(CATEGORIES)
    outcomes = [o for o, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    for d in range(days):
        day = datetime.combine(start + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
        count = per_day + (1 if d < extra else 0)
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
        times = sorted(day + timedelta(hours=h, seconds=rng.random() * 3600) for h in hours)
        for ring in times:
            outcome = rng.choices(outcomes, weights)[0]
            row: dict[str, Any] = {
                "key": f"{rng.getrandbits(128):032x}",
                "line": "hotline",
                "ring_at": ring,
                "ring_hour": ring.hour,
                "caller_number": f"13{rng.randrange(10**9):09d}",
                "category": rng.choice(cats),
                "outcome": outcome.value,
                "rings": 0,
            }
            answered = outcome in (CallOutcome.ANSWERED, CallOutcome.INTERRUPTED)
            if answered:
                to_answer = round(rng.gammavariate(2.0, 3.0), 3)
                talk = round(rng.gammavariate(2.0, 60.0), 3)
                row.update(
                    answered_at=ring + timedelta(seconds=to_answer),
                    ended_at=ring + timedelta(seconds=to_answer + talk),
                    answered_by=rng.choice(AGENTS),
                    seconds_to_answer=to_answer,
                    handling_seconds=talk,
                    rings=int(to_answer // 5) + 1,
                    satisfaction=rng.choice([1, 1, 1, 2, 3, None]),
                    content="来电咨询物业费缴纳方式",
                )
            elif outcome is CallOutcome.FORWARDED:
                row.update(forwarded_to="gate-south", forwarded_at=ring, answered_by="gate_post")
            row["sealed_at"] = ring + timedelta(minutes=10)
            yield row


COLUMNS = [c.key for c in CallRow.__table__.columns if c.key != "id"]


def chained(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Link each row into the hotline chain (what sealing does, in bulk)."""
    prev = GENESIS
    for seq, row in enumerate(rows, 1):
        full = dict.fromkeys(COLUMNS)
        full.update(row)
        full.update(chain="hotline", seq=seq, prev_hash=prev)
        content = {k: v for k, v in full.items() if k != "row_hash"}
        full["row_hash"] = prev = link_hash(prev, "calls", content)
        yield full


def bulk_load(store: DutyRecord, n: int, end: date, seed: int) -> tuple[float, int]:
    """Load N sealed calls; returns (seconds, rows)."""
    return load_rows(store, generate(n, end, random.Random(seed)))


def load_rows(store: DutyRecord, generated: Iterator[dict[str, Any]]) -> tuple[float, int]:
    """Chain and load sealed call rows (COPY on PostgreSQL, executemany batches on SQLite),
    then the chain head and ANALYZE; returns (seconds, rows)."""
    rows = chained(generated)
    t0 = time.perf_counter()
    last: dict[str, Any] = {}
    count = 0
    if store.engine.dialect.name == "postgresql":
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cols = ", ".join(COLUMNS)
            with cur.copy(f"COPY calls ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([row[c] for c in COLUMNS])
                    last = row
                    count += 1
            raw.commit()
        finally:
            raw.close()
    else:
        with store.engine.begin() as conn:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20000:
                    conn.execute(insert(CallRow.__table__), batch)
                    count += len(batch)
                    last = batch[-1]
                    batch = []
            if batch:
                conn.execute(insert(CallRow.__table__), batch)
                count += len(batch)
                last = batch[-1]
    with store.engine.begin() as conn:
        conn.execute(
            insert(ChainHeadRow.__table__).values(
                chain="hotline", seq=last["seq"], row_hash=last["row_hash"]
            )
        )
        if store.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE calls"))
        else:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0, count


def timed(fn: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def paired(
    store_fn: Callable[[Any], Any], raw_fn: Callable[[Any], Any], args: list[Any]
) -> tuple[list[float], list[float]]:
    """Time the store and the raw reference on the same argument, interleaved, taking turns
    at going first: both see the same machine load and the same warm or cold pages."""
    store_ms: list[float] = []
    raw_ms: list[float] = []
    for i, arg in enumerate(args):
        turns = [(store_fn, store_ms), (raw_fn, raw_ms)]
        for fn, out in turns if i % 2 == 0 else turns[::-1]:
            t0 = time.perf_counter()
            fn(arg)
            out.append((time.perf_counter() - t0) * 1000)
    return store_ms, raw_ms


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def captured(engine: Engine, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SELECTs `fn()` sends to the driver, with their parameters as the driver got them
    (seen at SQLAlchemy's cursor events), for the raw reference to run unchanged."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return [(sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")]


EXPORT_SQL = (
    "SELECT {cols}, a.field, a.old_value, a.new_value, a.who, a.why FROM calls "
    "LEFT OUTER JOIN amendments AS a ON a.call_key = calls.key "
    "WHERE calls.ring_at >= {p} AND calls.ring_at < {p} AND calls.sealed_at IS NOT NULL "
    "ORDER BY calls.ring_at, calls.id, a.seq"
)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run_backend(name: str, url: str, n: int, reps: int, seed: int) -> dict[str, Any]:
    end = date(2026, 11, 1)
    store = DutyRecord(url, tz=UTC)
    secs, rows = bulk_load(store, n, end, seed)
    sys.stderr.write(f"{name}: loaded {rows:,} rows in {secs:.1f} s (load {loadavg()})\n")
    days = max(1, n // 1000)
    first = end - timedelta(days=days)
    rng = random.Random(seed + 1)
    some_days = [first + timedelta(days=rng.randrange(days)) for _ in range(reps)]

    def review(d: date) -> int:
        since = datetime.combine(d, datetime.min.time(), tzinfo=UTC)
        flt = CallFilter(
            since=since,
            until=since + timedelta(days=1),
            outcome=CallOutcome.ANSWERED,
            hours=(8, 18),
        )
        return len(store.calls(flt))

    months = sorted({(d.year, d.month) for d in some_days})[: max(3, reps // 10)]

    def month_bounds(month: tuple[int, int]) -> tuple[datetime, datetime]:
        y, m = month
        since = datetime(y, m, 1, tzinfo=UTC)
        until = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
        return since, until

    # The reference: the raw driver running the very statements the store sent (captured
    # once per day or month, before timing), fetching every row.
    review_sql = {d: captured(store.engine, lambda d=d: review(d)) for d in set(some_days)}
    kpi_sql = {m: captured(store.engine, lambda m=m: store.kpis(*month_bounds(m))) for m in months}
    if name == "sqlite":
        path = url.split("///", 1)[1]
        conn: Any = sqlite3.connect(path)

        def fmt(t: datetime) -> str:
            return t.strftime("%Y-%m-%d %H:%M:%S.%f")

        placeholder = "?"
    else:
        import psycopg

        m = re.match(r".*//(\w+)@([\d.]+):(\d+)/(\w+)", url)
        assert m
        # The store's sessions run in UTC (psycopg then returns `datetime.UTC` times, the
        # cheapest to load); the reference gets the same, or it would pay for zoneinfo times.
        conn = psycopg.connect(
            f"user={m[1]} host={m[2]} port={m[3]} dbname={m[4]} options='-c TimeZone=UTC'",
            autocommit=True,
        )

        def fmt(t: datetime) -> str:
            return t.isoformat()

        placeholder = "%s"

    def raw_review(d: date) -> int:
        return sum(len(conn.execute(sql, args).fetchall()) for sql, args in review_sql[d])

    def raw_kpis(month: tuple[int, int]) -> None:
        for sql, args in kpi_sql[month]:
            conn.execute(sql, args).fetchall()

    review_ms, raw_review_ms = paired(review, raw_review, some_days)
    kpi_ms, raw_kpi_ms = paired(
        lambda month: store.kpis(*month_bounds(month)), raw_kpis, months * 3
    )

    # A month's CSV export (streamed store path) against the raw driver fetching the same
    # joined rows and writing them with csv.writer, no formatting: the floor of the work.
    export_month = months[len(months) // 2]
    e_since = datetime(export_month[0], export_month[1], 1, tzinfo=UTC)
    e_until = datetime(
        export_month[0] + (export_month[1] == 12), export_month[1] % 12 + 1, 1, tzinfo=UTC
    )
    out_dir = Path(tempfile.mkdtemp(prefix="bench-store-export-"))
    export_rows = 0

    def store_export(_: object) -> None:
        nonlocal export_rows
        export_rows = export_calls(store, e_since, e_until, out_dir / "m.csv", who="bench").rows

    qualified = ", ".join(f"calls.{c.key}" for c in CallRow.__table__.columns)
    export_sql = EXPORT_SQL.format(cols=qualified, p=placeholder)

    def raw_export(_: object) -> None:
        with (out_dir / "raw.csv").open("w", encoding="utf-8-sig", newline="") as fh:
            cursor = conn.execute(export_sql, (fmt(e_since), fmt(e_until)))
            out = csv.writer(fh)
            while batch := cursor.fetchmany(1000):
                out.writerows(batch)

    export_ms, raw_export_ms = paired(store_export, raw_export, [None] * 4)
    export_s = [x / 1000 for x in export_ms]
    raw_export_s = [x / 1000 for x in raw_export_ms]
    conn.close()
    shutil.rmtree(out_dir, ignore_errors=True)

    # Record + seal of one live call, as the call flow does it (3 transactions).
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def one_call() -> None:
        key = store.open_call("hotline", now, caller_number="13800000000")
        store.update_open_call(key, answered_at=now + timedelta(seconds=4), answered_by="1024")
        store.seal_call(
            key, CallOutcome.ANSWERED, ended_at=now + timedelta(seconds=60), satisfaction=1
        )

    seal_ms = timed(one_call, 200)

    t0 = time.perf_counter()
    report = store.verify()
    verify_s = time.perf_counter() - t0
    assert report.ok, report.problem
    store.close()
    ratio_r = p95(review_ms) / p95(raw_review_ms)
    ratio_k = statistics.median(kpi_ms) / statistics.median(raw_kpi_ms)
    ex, raw_ex = statistics.median(export_s), statistics.median(raw_export_s)
    return {
        "backend": name,
        "rows": (f"{rows:,}", rows >= 1_100_000),
        "bulk": (f"{secs:.1f} s ({rows / secs:,.0f} rows/s)", None),
        "review": (
            f"{p95(review_ms):.1f} ms (median {statistics.median(review_ms):.1f})",
            p95(review_ms) <= 50,
        ),
        "review_raw": (f"{p95(raw_review_ms):.1f} ms → ×{ratio_r:.2f}", ratio_r <= 1.5),
        "kpis": (
            f"{statistics.median(kpi_ms):.1f} ms (p95 {p95(kpi_ms):.1f})",
            statistics.median(kpi_ms) <= 200,
        ),
        "kpis_raw": (f"{statistics.median(raw_kpi_ms):.1f} ms → ×{ratio_k:.2f}", ratio_k <= 1.5),
        "export": (
            f"{export_rows:,} rows in {ex:.2f} s ({export_rows / ex:,.0f} rows/s); "
            f"raw {raw_ex:.2f} s → ×{ex / raw_ex:.1f}",
            None,
        ),
        "seal": (
            f"{statistics.mean(seal_ms):.2f} ms (median {statistics.median(seal_ms):.2f}, "
            f"p95 {p95(seal_ms):.2f})",
            statistics.mean(seal_ms) <= 5,
        ),
        "verify": (
            f"{report.checked:,} in {verify_s:.1f} s ({report.checked / verify_s:,.0f}/s)",
            None,
        ),
    }


ROWS = [
    ("calls in the record", "1.1 M", "rows"),
    ("bulk load (executemany / COPY, hashes included)", "fast", "bulk"),
    ("one-day review, filters (answered, 08–18 h), p95", "≤ 50 ms", "review"),
    ("the store's statements via raw driver, p95 → ratio", "≤ 1.5×", "review_raw"),
    ("month KPIs (3 queries), median", "≤ 200 ms", "kpis"),
    ("the store's statements via raw driver, median → ratio", "≤ 1.5×", "kpis_raw"),
    ("export one month to CSV (median of 4) vs raw fetch + csv.writer", "—", "export"),
    ("record + seal one call (open, update, seal), mean of 200", "≤ 5 ms", "seal"),
    ("verify whole chain", "report rate", "verify"),
]


def met(flag: bool | None) -> str:
    return "—" if flag is None else ("met" if flag else "**not met**")


def table(results: list[dict[str, Any]], n: int, note: str, loads: tuple[str, str]) -> str:
    head = " | ".join(f"{r['backend']} | met" for r in results)
    lines = [
        MARK,
        "## Duty record (`scripts/bench_store`)",
        "",
        f"{n:,} generated calls ({max(1, n // 1000)} days × ~1,000/day, weighted by hour and "
        f"outcome), loaded with a valid hash chain. Machine: {os.cpu_count()} CPUs (shared "
        f"with other engineers' tests), load average before {loads[0]}, after {loads[1]}. "
        "Durability as in production: SQLite in WAL with `synchronous=FULL`, PostgreSQL "
        "with its defaults (`fsync` and `synchronous_commit` on). "
        f"{note}".rstrip(),
        "",
        f"| measure | goal | {head} |",
        "|---|---|" + "---|---|" * len(results),
    ]
    for label, goal, key in ROWS:
        cells = " | ".join(f"{r[key][0]} | {met(r[key][1])}" for r in results)
        lines.append(f"| {label} | {goal} | {cells} |")
    lines += [
        "",
        "Raw reference: `sqlite3` / `psycopg` on one open connection, executing the very "
        "SELECTs the store sent for the same day or month (captured at SQLAlchemy's "
        "`before_cursor_execute` before timing, parameters as the driver got them) and "
        "fetching every row as plain tuples; on PostgreSQL its session runs in UTC, as the "
        "store's do. It does not check a connection out of the pool, parse times, map "
        "outcomes to enums, build the "
        "frozen `CallRecord`s or `Kpis`, or compile anything; the store does all of that "
        "inside its time. "
        "Store and reference run interleaved on the same day or month, taking turns at going "
        "first, so both see the same load and the same warm or cold pages. "
        "The export's reference fetches the same calls-LEFT-JOIN-amendments rows and writes "
        "them unformatted; the store formats local times and Chinese labels. "
        f"Reproduce: `scripts/bench_store --n {n}`.",
        END,
    ]
    return "\n".join(lines)


def write_section(section: str, path: Path) -> None:
    """Replace the section from `MARK` to `END` — or, as older runs wrote it, to a second
    `MARK` — or append it."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK in old:
        before, _, rest = old.partition(MARK)
        if END in rest:
            _, _, after = rest.partition(END)
        else:
            _, _, after = rest.partition(MARK)
        new = before + section + after
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_100_000, help="calls to generate")
    parser.add_argument("--reps", type=int, default=60, help="review queries to time")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--note", default="", help="a sentence added under the heading")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: list[dict[str, Any]] = []
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        if args.backend in ("sqlite", "both"):
            results.append(
                run_backend("sqlite", f"sqlite:///{tmp}/duty.db", args.n, args.reps, args.seed)
            )
            sys.stderr.write(f"{results[-1]}\n")
        if args.backend in ("postgresql", "both"):
            from tests.store.pg import pg_server

            with pg_server(durable=True) as server:  # fsync on: commits cost what they do
                results.append(
                    run_backend(
                        "postgresql", server.create_database(), args.n, args.reps, args.seed
                    )
                )
                sys.stderr.write(f"{results[-1]}\n")
    section = table(results, args.n, args.note, (load_before, loadavg()))
    write_section(section, args.out)
    sys.stdout.write(section + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
