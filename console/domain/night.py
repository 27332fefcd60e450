"""Night mode (夜间转接): forward to the gate post by schedule, or by an agent's override.

The schedule decides by default; an agent may switch to night mode early or keep the line
staffed after hours, always with a reason, and the override lapses at the schedule's next
boundary. Every decision carries a sentence saying why, for the screen and the record.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from console.domain.errors import ErrorCode, OverrideError
from console.domain.schedule import Schedule, ShiftState


class OverrideKind(enum.Enum):
    """The two manual deviations the rules allow (duty rules §1)."""

    EARLY_NIGHT = "early_night"
    """Forward to the gate post although a roster is on duty."""
    STAY_ON = "stay_on"
    """Keep the seat ringing although the schedule says after hours."""


class DecisionSource(enum.Enum):
    SCHEDULE = "schedule"
    OVERRIDE = "override"


@dataclass(frozen=True)
class Override:
    """A manual override, as set by an agent; expires at `expires_at`."""

    kind: OverrideKind
    reason: str
    agent_id: str
    set_at: dt.datetime
    expires_at: dt.datetime | None
    """The schedule's next boundary when it was set (None: no boundary ahead, never lapses)."""

    def active(self, now: dt.datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class NightDecision:
    """Whether calls go to the gate post now, and why."""

    night: bool
    """True: announce and forward to the gate post. False: the seat rings."""
    source: DecisionSource
    shift: ShiftState
    override: Override | None
    reason: str

    @property
    def until(self) -> dt.datetime | None:
        """When this decision next changes by itself."""
        return self.shift.next_boundary


class NightMode:
    """The night-mode decision with at most one manual override; time is always passed in."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._override: Override | None = None

    @property
    def override(self) -> Override | None:
        return self._override

    def set_override(
        self, kind: OverrideKind, reason: str, agent_id: str, now: dt.datetime
    ) -> NightDecision:
        """Switch to night mode early, or stay on after hours; a coded OverrideError if
        senseless (no reason, no agent, early night after hours, stay on while staffed)."""
        if not reason or not reason.strip():
            raise OverrideError(f"{kind.value}: a reason is required (it goes into the record)",
                                code=ErrorCode.OVERRIDE_NO_REASON, kind=kind)
        if not agent_id or not agent_id.strip():
            raise OverrideError(f"{kind.value}: the agent ID is required",
                                code=ErrorCode.OVERRIDE_NO_AGENT, kind=kind)
        shift = self.schedule.at(now)
        if kind is OverrideKind.EARLY_NIGHT and not shift.staffed:
            raise OverrideError(f"early night mode: already after hours ({shift.reason})",
                                code=ErrorCode.OVERRIDE_AFTER_HOURS, shift=shift)
        if kind is OverrideKind.STAY_ON and shift.staffed:
            raise OverrideError(f"stay on: the line is staffed anyway ({shift.reason})",
                                code=ErrorCode.OVERRIDE_STAFFED, shift=shift)
        self._override = Override(
            kind=kind,
            reason=reason.strip(),
            agent_id=agent_id.strip(),
            set_at=shift.at,
            expires_at=shift.next_boundary,
        )
        return self.decide(now)

    def clear_override(self) -> Override | None:
        """Drop the override (back to the schedule); returns what was dropped."""
        dropped, self._override = self._override, None
        return dropped

    def decide(self, now: dt.datetime) -> NightDecision:
        """The decision at `now`; an override that has lapsed is dropped here."""
        shift = self.schedule.at(now)
        ov = self._override
        if ov is not None and not ov.active(shift.at):
            self._override = ov = None
        if ov is None:
            return NightDecision(
                night=not shift.staffed,
                source=DecisionSource.SCHEDULE,
                shift=shift,
                override=None,
                reason=shift.reason,
            )
        until = f" until {ov.expires_at:%Y-%m-%d %H:%M}" if ov.expires_at else ""
        what = (
            "night mode early" if ov.kind is OverrideKind.EARLY_NIGHT else "stays on after hours"
        )
        text = f"{what} by agent {ov.agent_id} at {ov.set_at:%H:%M}{until}: {ov.reason}"
        return NightDecision(
            night=ov.kind is OverrideKind.EARLY_NIGHT,
            source=DecisionSource.OVERRIDE,
            shift=shift,
            override=ov,
            reason=text,
        )
