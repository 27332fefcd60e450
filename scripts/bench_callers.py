"""Benchmark of callers, not legs (issue 13): the grouped reads on a generated record.

`scripts/bench_callers N sqlite|postgresql 3,1` generates N callers (bench_store's spread,
1,000 a day) as one leg each at one seat, or as three legs at three seats (a ring-all team:
the winner's leg as bench_store makes it, the others taken elsewhere; nobody answered: three
legs with the caller's outcome), each with a unique SIP Call-ID, loads them with a valid
chain, and times, with the grouping (`statements.principal_leg`) and with the leg filter
alone it replaces: month KPIs (median, p95), a day's call-log page (answered, 08-18 h, 500
rows) and count (p95), the newest page of the whole record, and `caller_calls` of a day.
Prints one dict per record. PostgreSQL is started on loopback by tests/store/pg.py.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import bench_store as bs  # noqa: E402
from sqlalchemy import text  # noqa: E402

from console.store import CallFilter, CallOutcome, DutyRecord  # noqa: E402
from console.store import statements as st  # noqa: E402
from console.store.review import ReviewFilter, call_page, count_calls  # noqa: E402

END = date(2026, 11, 1)
SEATS = ("seat-1", "seat-2", "seat-3")


def team_rows(n_callers: int, legs: int, rng: random.Random):
    for row in bs.generate(n_callers, END, rng):
        cid = f"{rng.getrandbits(96):024x}@127.0.0.1"
        row["sip_call_id"] = cid
        if legs == 1:
            row["seat"] = "seat-1"
            yield row
            continue
        win = rng.randrange(legs)
        answered = row.get("answered_at") is not None
        for i in range(legs):
            r = dict(row)
            r["key"] = f"{rng.getrandbits(128):032x}"
            r["seat"] = SEATS[i]
            r["ring_at"] = row["ring_at"] + timedelta(milliseconds=i)
            if (answered or row["outcome"] == "forwarded") and i != win:
                for k in ("answered_at", "answered_by", "seconds_to_answer", "handling_seconds",
                          "satisfaction", "content", "forwarded_to", "forwarded_at"):
                    r.pop(k, None)
                r["outcome"] = "taken_elsewhere"
                r["end_reason"] = "completed_elsewhere"
                r["rings"] = 1
            yield r


def load(store: DutyRecord, rows) -> int:
    return bs.load_rows(store, rows)[1]


def timed(fn, reps):
    out = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def old_condition(table=st.CALLS, **_ignored):
    c = table.c
    return st.or_(c.outcome.is_(None), c.outcome != "taken_elsewhere")


def measure(name: str, url: str, callers: int, legs: int, reps: int = 30,
            fresh: bool = True, extra_sql: tuple[str, ...] = ()) -> dict[str, Any]:
    store = DutyRecord(url, tz=UTC)
    n = load(store, team_rows(callers, legs, random.Random(3))) if fresh else -1
    with store.engine.begin() as conn:
        for q in extra_sql:
            conn.execute(text(q))
    days = max(1, callers // 1000)
    first = END - timedelta(days=days)
    rng = random.Random(4)
    some_days = [first + timedelta(days=rng.randrange(days)) for _ in range(reps)]
    months = sorted({(d.year, d.month) for d in some_days})
    months = [m for m in months if datetime(m[0], m[1], 1).date() >= first][:4] or months[:4]

    def mb(m):
        y, mo = m
        return (datetime(y, mo, 1, tzinfo=UTC),
                datetime(y + (mo == 12), mo % 12 + 1, 1, tzinfo=UTC))

    def dayb(d):
        s = datetime.combine(d, datetime.min.time(), tzinfo=UTC)
        return s, s + timedelta(days=1)

    res: dict[str, Any] = {"backend": name, "legs": n, "callers": callers, "per_caller": legs}
    totals = {}
    for label, patch in (("new", None), ("old", old_condition)):
        saved = st.principal_leg
        if patch is not None:
            st.principal_leg = patch  # type: ignore[assignment]
        st.kpi_statements.cache_clear()
        import console.store.review as rv
        rv_saved = rv.principal_leg
        if patch is not None:
            rv.principal_leg = patch
        st._COMPILED.clear()
        try:
            store.kpis(*mb(months[0]))  # warm
            k = timed(lambda i: store.kpis(*mb(months[i % len(months)])), max(8, 2 * len(months)))
            totals[label] = store.kpis(*mb(months[0])).total
            page = timed(lambda i: call_page(store, ReviewFilter(base=CallFilter(
                *dayb(some_days[i]), outcome=CallOutcome.ANSWERED, hours=(8, 18))), size=500),
                reps)
            cnt = timed(lambda i: count_calls(store, ReviewFilter(base=CallFilter(
                *dayb(some_days[i])))), reps)
            unbounded = timed(lambda i: call_page(store, ReviewFilter(), size=100), 10)
        finally:
            st.principal_leg = saved
            rv.principal_leg = rv_saved
            st.kpi_statements.cache_clear()
            st._COMPILED.clear()
        res[label] = {
            "month_kpis_median": statistics.median(k), "month_kpis_p95": p95(k),
            "day_page_p95": p95(page), "day_page_median": statistics.median(page),
            "day_count_p95": p95(cnt), "newest_page_p95": p95(unbounded),
        }
    cc = timed(lambda i: store.caller_calls(*dayb(some_days[i])), reps)
    calls = timed(lambda i: store.calls(CallFilter(*dayb(some_days[i]),
                                                   outcome=CallOutcome.ANSWERED, hours=(8, 18))),
                  reps)
    res["caller_calls_day_p95"] = p95(cc)
    res["calls_day_p95"] = p95(calls)
    res["month_totals"] = totals
    res["month_legs"] = len(store.calls(CallFilter(*mb(months[0]))))
    store.close()
    return res


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Callers, not legs: the grouped reads' cost")
    parser.add_argument("callers", nargs="?", type=int, default=100_000)
    parser.add_argument("backend", nargs="?", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("legs", nargs="?", default="3,1", help="legs per caller, e.g. 3,1")
    parser.add_argument("extra_sql", nargs="?", default="", help="SQL run first, ';'-separated")
    args = parser.parse_args()
    try:
        legs_list = [int(x) for x in args.legs.split(",")]
    except ValueError:
        parser.error(f"legs {args.legs!r}: whole numbers separated by commas")
    if args.callers < 1 or any(n < 1 for n in legs_list):
        parser.error("callers and legs must be at least 1")
    callers, which = args.callers, args.backend
    extra = tuple(q for q in args.extra_sql.split(";") if q.strip())
    out = []
    for legs in legs_list:
        if which == "sqlite":
            path = Path(tempfile.gettempdir()) / f"bench-callers-{legs}-{callers}.db"
            fresh = not path.exists()
            url = f"sqlite:///{path}"
            out.append(measure("sqlite", url, callers, legs, fresh=fresh, extra_sql=extra))
        else:
            from tests.store.pg import pg_server
            with pg_server() as server:
                out.append(measure("postgresql", server.create_database(), callers, legs))
        print(out[-1], flush=True)


if __name__ == "__main__":
    main()
