"""The ring limit (duty rules §2): answer within N rings, or the console answers by itself.

Rings are counted from the seconds the call has rung (the line reports elapsed time),
so the policy is a pure function of time and is tested without a phone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from console.domain.errors import DomainError

ANSWER_TOLERANCE = 0.05
"""Seconds past the ring limit that an answer may land and still be within it (duty rules
§2, "answered within the ring limit"). The console answers by itself *at* the limit: the
line schedules its 200 OK for that moment (±20 ms, `sip.api.Call.answer`) and the record
keeps the line's own seconds to answer, so an auto-answer reads 15.001 s or 15.012 s. With
a bare `<= limit` most of the console's own answers counted as late (13 of 20 in the
ring-all lab run). The line's answer-moment benchmark holds it within ±1.2 ms; 50 ms is far
inside a ring (5 s by default) and far outside timer jitter."""


def within_bound(limit_seconds: float) -> float:
    """The most seconds to answer that are still within a ring limit of `limit_seconds`:
    what the record's figures (限时接通) and the call log's filter compare with."""
    return limit_seconds + ANSWER_TOLERANCE


@dataclass(frozen=True)
class RingLimit:
    """`rings` rings of `cadence` seconds each; default 3 × 5 s = 15 s (接听时限15秒)."""

    rings: int = 3
    """How many rings an agent has before the console answers by itself."""
    cadence: float = 5.0
    """Seconds per ring (one ring-back cycle)."""

    def __post_init__(self) -> None:
        if isinstance(self.rings, bool) or not isinstance(self.rings, int) or self.rings < 1:
            raise DomainError(f"rings: {self.rings!r} must be a whole number ≥ 1", "Ring limit")
        if (
            isinstance(self.cadence, bool)
            or not isinstance(self.cadence, int | float)
            or not math.isfinite(self.cadence)
            or self.cadence <= 0
        ):
            raise DomainError(f"cadence: {self.cadence!r} must be seconds > 0", "Ring limit")

    @property
    def seconds(self) -> float:
        """Time from the first ring to the automatic answer."""
        return self.rings * self.cadence

    def ring_count(self, elapsed: float, *, at_limit: bool = False) -> int:
        """Rings heard after `elapsed` seconds: ring k covers ((k-1)·cadence, k·cadence].

        0 s → 1 (the first ring starts at once); exactly at the limit → `rings`. With
        `at_limit` (the console answers by itself at the limit, or a ringing call is shown
        while it is about to), never more than `rings`: timer jitter past the limit is not
        one more ring. The call flow's record and the ringing screen both count with this.
        """
        if elapsed < 0 or not math.isfinite(elapsed):
            raise DomainError(f"elapsed: {elapsed!r} must be finite seconds ≥ 0", "Ring limit")
        # The limit itself, computed the same way: 0.3 s / 0.1 s is 2.9999… rings in floats.
        count = max(1, math.ceil(round(elapsed / self.cadence, 9)))
        return min(count, self.rings) if at_limit else count

    @classmethod
    def of_seconds(cls, seconds: float, cadence: float) -> RingLimit:
        """The limit given as seconds and cadence (the flow's settings); DomainError unless
        `seconds` is a whole number of rings."""
        if isinstance(cadence, bool) or not isinstance(cadence, int | float) or cadence <= 0:
            raise DomainError(f"cadence: {cadence!r} must be seconds > 0", "Ring limit")
        rings = round(seconds / cadence)
        if rings < 1 or not math.isclose(rings * cadence, seconds, rel_tol=1e-9, abs_tol=1e-9):
            raise DomainError(
                f"{seconds!r} s is not a whole number of {cadence!r} s rings", "Ring limit"
            )
        return cls(rings, float(cadence))

    def reached(self, elapsed: float) -> bool:
        """True once the console must answer by itself."""
        return elapsed >= self.seconds

    def remaining(self, elapsed: float) -> float:
        """Seconds left before the automatic answer (0 when reached)."""
        return max(0.0, self.seconds - elapsed)

    def deadline(self, ring_started: float) -> float:
        """The (monotonic) time at which the console answers, given when ringing started."""
        return ring_started + self.seconds
