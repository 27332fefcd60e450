"""A seat in another process, for the concurrency and kill -9 tests.

`python -m tests.store.seat URL OUTBOX_DIR LINE N [hang]`: records N calls on LINE, printing
each key; with `hang`, it then opens one more call, prints `OPEN <key>` and keeps updating it
until it is killed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from console.store import CallOutcome, DutyRecord, Outbox


def main(argv: list[str]) -> int:
    url, outbox, line, count = argv[0], argv[1], argv[2], int(argv[3])
    store = DutyRecord(url, tz=UTC, busy_timeout_ms=20000)
    store.attach_outbox(Outbox(outbox, "seat"))
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for i in range(count):
        at = base + timedelta(seconds=i)
        key = store.open_call(line, at, caller_number=f"{i:08d}")
        store.update_open_call(key, answered_at=at + timedelta(seconds=2), answered_by=line)
        store.seal_call(key, CallOutcome.ANSWERED, ended_at=at + timedelta(seconds=9))
        store.settle(30)  # printed keys are in the database (the test reads them at once)
        sys.stdout.write(key + "\n")
        sys.stdout.flush()
    if len(argv) > 4 and argv[4] == "hang":
        key = store.open_call(line, base, caller_number="99999999")
        store.update_open_call(
            key, answered_at=base, answered_by=line, step="greeting", notes="note 0"
        )
        store.settle(30)
        sys.stdout.write(f"OPEN {key}\n")
        sys.stdout.flush()
        n = 0
        while True:  # mid-write, forever, until kill -9
            n += 1
            store.update_open_call(key, notes=f"note {n}")
            if n % 50 == 0:
                store.settle(30)  # the outbox keeps pace with the database
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
