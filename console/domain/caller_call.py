"""One caller's call, whichever seats rang: which of its legs speaks for it (issue 13).

A hotline's PBX forks the caller's INVITE to every seat registered for it; each seat writes
its own row (a *leg*) from its first ring. The legs of one caller's call share the SIP
Call-ID (RFC 3261 §16.6: a proxy forwards it unchanged on every branch; the claims key the
same dialog by it and the From tag), so the record groups legs by Call-ID and lets one leg,
the *principal*, speak for the caller: its outcome, who answered and at which seat, rings
and seconds to answer. The other legs stay in the record as detail (which seats rang).
A leg without a Call-ID is a caller's call of its own.

The principal is the leg of the best rank below (then the earliest ring, then the first
written): a caller answered anywhere was answered; one nobody answered counts once, as
abandoned if the caller hung up while it rang, as missed otherwise. A leg the PBX cancelled
because another branch answered (`taken_elsewhere`) never speaks for a caller: if every leg
is one, the call was answered outside this record and is no caller of it.

`LEG_RANKS` is printed by `python -m console.domain`; the store's grouped statements build
the same order in SQL (`console.store.statements.principal_leg`), and a test holds the two
to each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from console.domain.outcome import LEG_OUTCOME_VALUES, CallOutcome


@dataclass(frozen=True)
class LegRank:
    """One line of the order: a leg that `when` ranks `rank` (lower speaks first)."""

    rank: int
    when: str
    outcome: str | None
    """The stored outcome this line takes (None: the line is about being answered or open)."""


ANSWERED_RANK = 0
OPEN_RANK = 5
OTHER_RANK = 6

LEG_RANKS: tuple[LegRank, ...] = (
    LegRank(ANSWERED_RANK, "someone answered it (an agent, the console, the gate post)", None),
    LegRank(1, "forwarded before anyone answered (302)", CallOutcome.FORWARDED.value),
    LegRank(2, "the caller hung up while it rang (abandoned)", CallOutcome.ABANDONED.value),
    LegRank(3, "nobody answered (missed, refused)", CallOutcome.MISSED.value),
    LegRank(4, "the seat stopped while it rang (interrupted)", CallOutcome.INTERRUPTED.value),
    LegRank(OPEN_RANK, "still open, ringing", None),
    LegRank(OTHER_RANK, "anything else", None),
)
"""The principal leg's order; a `taken_elsewhere` leg is never a principal."""

OUTCOME_RANKS: dict[str, int] = {r.outcome: r.rank for r in LEG_RANKS if r.outcome is not None}
"""Stored outcome → rank, for a leg nobody answered."""


class Leg(Protocol):
    """What the rule reads of a leg (a `CallRecord` has it all)."""

    @property
    def ring_at(self) -> datetime: ...
    @property
    def answered_at(self) -> datetime | None: ...
    @property
    def outcome(self) -> CallOutcome | None: ...
    @property
    def sealed_at(self) -> datetime | None: ...


def leg_rank(answered: bool, outcome: str | None, sealed: bool) -> int | None:
    """A leg's rank; None for a leg that never speaks for a caller (taken elsewhere)."""
    if outcome in LEG_OUTCOME_VALUES:
        return None
    if answered:
        return ANSWERED_RANK
    if not sealed or outcome is None:
        return OPEN_RANK
    return OUTCOME_RANKS.get(outcome, OTHER_RANK)


def principal(legs: Sequence[Leg]) -> int | None:
    """The index in `legs` (written order) of the leg that speaks for the caller; None if
    every leg was taken elsewhere (the caller was answered outside this record)."""
    best: tuple[int, datetime, int] | None = None
    found: int | None = None
    for i, leg in enumerate(legs):
        outcome = leg.outcome.value if leg.outcome is not None else None
        rank = leg_rank(leg.answered_at is not None, outcome, leg.sealed_at is not None)
        if rank is None:
            continue
        key = (rank, leg.ring_at, i)
        if best is None or key < best:
            best, found = key, i
    return found


def describe_leg_ranks() -> str:
    """The order as text, first rank first."""
    lines = ["caller's call: the leg that speaks for it (lowest rank, then earliest ring):"]
    lines += [f"  {r.rank}  {r.when}" for r in LEG_RANKS]
    lines.append("  -  taken elsewhere (another branch answered): never")
    return "\n".join(lines)
