"""A day's attendance per agent from the state log (duty rules §4), for the supervisor.

Late logins (after 08:30) and early logouts (before 17:35) must be visible to supervisors,
and an absence (示忙) longer than 15 minutes without approval shows as overdue. The seat
writes every state change to the duty record; this folds one day of that log into one line
per agent. Plain data in, plain data out: the states are their string values, as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from console.domain.agent import AttendancePolicy


@dataclass(frozen=True)
class StateEntry:
    """One line of the state log: `state` is the stored value ("logged_in", "away", ...)."""

    agent_id: str
    state: str
    at: dt.datetime
    reason: str | None = None


@dataclass
class DayAttendance:
    """One agent's day."""

    agent_id: str
    first_login: dt.datetime | None = None
    last_logout: dt.datetime | None = None
    late: bool = False
    early: bool = False
    logged_in_now: bool = False
    """No logout after the last login (still at the seat, or the console was killed)."""
    aways: int = 0
    away_total: dt.timedelta = dt.timedelta(0)
    overdue_aways: int = 0
    away_reasons: list[str] = field(default_factory=list)
    calls: int = 0


def day_attendance(
    entries: Iterable[StateEntry], policy: AttendancePolicy, until: dt.datetime
) -> list[DayAttendance]:
    """Fold the state log (any order) into one `DayAttendance` per agent, sorted by ID.

    An absence still open at `until` counts up to `until`; an absence is overdue when it
    lasted strictly longer than the policy's limit (approvals are not in the log: a
    supervisor reads the reason).
    """
    by_agent: dict[str, list[StateEntry]] = {}
    for entry in entries:
        if entry.at.tzinfo is None:
            raise ValueError(f"state log entry of {entry.agent_id} at {entry.at} has no zone")
        by_agent.setdefault(entry.agent_id, []).append(entry)
    days: list[DayAttendance] = []
    for agent_id in sorted(by_agent):
        day = DayAttendance(agent_id)
        away_since: dt.datetime | None = None
        for e in sorted(by_agent[agent_id], key=lambda x: x.at):
            if away_since is not None and e.state != "away":
                _close_away(day, away_since, e.at, policy)
                away_since = None
            if e.state == "logged_in":
                if day.first_login is None:
                    day.first_login = e.at
                    day.late = policy.is_late(e.at)
                day.logged_in_now = True
            elif e.state == "logged_out":
                day.last_logout = e.at
                day.early = policy.is_early(e.at)
                day.logged_in_now = False
            elif e.state == "away" and away_since is None:
                away_since = e.at
                day.aways += 1
                if e.reason:
                    day.away_reasons.append(e.reason)
            elif e.state == "on_call":
                day.calls += 1
        if away_since is not None:
            _close_away(day, away_since, until, policy)
        days.append(day)
    return days


def _close_away(
    day: DayAttendance, since: dt.datetime, until: dt.datetime, policy: AttendancePolicy
) -> None:
    length = max(dt.timedelta(0), until - since)
    day.away_total += length
    if length > policy.away_limit:
        day.overdue_aways += 1


SESSION_STATES = frozenset({"ready", "on_call", "after_call", "away"})
"""States (as the record stores them) an agent is in only between a login and a logout."""


def log_entries(
    changes: Iterable[StateEntry], since: dt.datetime, until: dt.datetime
) -> list[StateEntry]:
    """The state log's lines inside [since, until), as `day_attendance` folds them.

    The seat logs a login as a `logged_in` line ("late login" as its reason when late)
    followed by its first state (ready) at the same moment; those are read as they are (the
    ready after it is not a second login). Older logs wrote the login as the first state
    only: an agent's first line of the day, or one right after a logout, that is a seat
    state stands for a login too, at the same moment. Agents do not work across midnight
    (the gate post has the night, §2), so an agent's first line of the day is taken as a
    login even if yesterday's log ended at the seat (a console killed without logout).
    Lines at the same moment keep the log's order (the login before its ready).
    """
    entries: list[StateEntry] = []
    last: dict[str, str] = {}
    for c in sorted(changes, key=lambda change: change.at):
        if not since <= c.at < until:
            continue
        before = last.get(c.agent_id)
        if c.state in SESSION_STATES and before in (None, "logged_out"):
            entries.append(StateEntry(c.agent_id, "logged_in", c.at))
        entries.append(c)
        last[c.agent_id] = c.state
    return entries
