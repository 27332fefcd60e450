"""One seat name, one running process: a start claims its seat before it seals anything.

Several seats may share one PostgreSQL record (issue 13); each seals at start only the
calls it opened itself. Two live processes under one seat name would seal each other's
calls, and a SQLite file has no locking between machines, so `claim_seat` refuses both with
a `SeatInUse` that says what to do; a seat that crashed on this host is taken over.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from console.store.core import RecordCore
from console.store.errors import SeatInUse, StoreError
from console.store.facts import seat_name
from console.store.models import SeatRow
from console.store.values import SeatInfo

log = logging.getLogger("console.store")


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OSError, OverflowError):
        return False
    return True


def claim_seat(
    store: RecordCore, name: str, host: str | None = None, pid: int | None = None
) -> None:
    """Say that seat `name` runs here now, before its start-up seals what it left open.

    Refused with `SeatInUse` (one line, what to do): the name is held by another live
    process on this host, or by a seat on another host that never stopped (two seats
    under one name would seal each other's calls); on SQLite, any seat of another host
    that never stopped (a SQLite file has no locking between machines: PostgreSQL is the
    way). A seat that crashed on this host is taken over; `close` marks it stopped.
    """
    seat = seat_name(name)
    here = host or socket.gethostname()
    me = os.getpid() if pid is None else pid
    sqlite = store.engine.dialect.name == "sqlite"
    where = store.engine.url.render_as_string(hide_password=True)
    if store.engine.url.get_backend_name() == "sqlite":
        where = store.engine.url.database or where
    release = f"if it is gone, `duty-console db seats --release {{}} --db {where}`"

    def claim(session: Session) -> None:
        now = store._now()
        running = session.scalars(select(SeatRow).where(SeatRow.stopped_at.is_(None)))
        for row in running:
            since = f"since {row.started_at.astimezone(store.tz):%Y-%m-%d %H:%M}"
            if row.name == seat and row.host == here:
                if row.pid != me and pid_alive(row.pid):
                    raise SeatInUse(
                        f"seat {seat!r} already runs on this host as pid {row.pid} ({since}); "
                        "give each seat its own [seat] name"
                    )
            elif row.name == seat:
                raise SeatInUse(
                    f"seat {seat!r} is running on host {row.host} (pid {row.pid}, {since}); "
                    "give each seat its own [seat] name, or " + release.format(seat)
                )
            elif sqlite and row.host != here:
                raise SeatInUse(
                    f"seat {row.name!r} on host {row.host} ({since}) uses this SQLite file: "
                    "seats on several machines need PostgreSQL ([database] url = "
                    '"postgresql+psycopg://USER@HOST/DB"); ' + release.format(row.name)
                )
        found = session.get(SeatRow, seat)
        if found is None:
            session.add(SeatRow(name=seat, host=here, pid=me, started_at=now, seen_at=now))
        else:
            found.host, found.pid, found.started_at, found.seen_at = here, me, now, now
            found.stopped_at = None

    store._run(claim)
    store._seat = (seat, here, me)


def release_seat(store: RecordCore, name: str | None = None) -> bool:
    """Mark a seat stopped: this record's own claim, or `name` (a seat that is gone).

    Returns whether a running seat was marked. A failure is logged, never raised when
    releasing this record's own claim (it runs at shutdown).
    """
    own = name is None
    if own:
        if store._seat is None:
            return False
        seat, here, me = store._seat
        store._seat = None
    else:
        seat = seat_name(name or "")

    def mark(session: Session) -> bool:
        query = update(SeatRow).where(SeatRow.name == seat, SeatRow.stopped_at.is_(None))
        if own:
            query = query.where(SeatRow.host == here, SeatRow.pid == me)
        done = session.connection().execute(query.values(stopped_at=store._now()))
        return bool(done.rowcount)

    try:
        return bool(store._run(mark))
    except StoreError as exc:
        if not own:
            raise
        log.warning("seat %s not marked stopped: %s", seat, exc)
        return False


def seats(store: RecordCore) -> list[SeatInfo]:
    """Every seat that used this record: name, host, pid, started, stopped (None: running)."""

    def load(session: Session) -> list[SeatInfo]:
        rows = session.scalars(select(SeatRow).order_by(SeatRow.name))
        return [SeatInfo(r.name, r.host, r.pid, r.started_at, r.stopped_at) for r in rows]

    return list(store._run(load, write=False))
