"""The headless call flow: line events in, duty-rule decisions, record writes, UI events out.

`CallFlow` is imported when first named: the seat's screens need the flow's events and ports
before the login screen is up, and the flow itself (its dispatcher, recorder, sessions) only in
the start-up worker behind it, so its import is not part of the seat's cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.callflow.events import CallStep, EventBus, FlowEvent, Mode
from console.callflow.ports import (
    CallRecords,
    Clock,
    FlowError,
    FlowSettings,
    ForwardTarget,
    ShiftedClock,
    Staffing,
    SystemClock,
)

if TYPE_CHECKING:
    from console.callflow.flow import CallFlow


def __getattr__(name: str) -> Any:
    if name == "CallFlow":
        from console.callflow.flow import CallFlow

        return CallFlow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CallFlow", "CallRecords", "CallStep", "Clock", "EventBus", "FlowError", "FlowEvent",
    "FlowSettings", "ForwardTarget", "Mode", "ShiftedClock", "Staffing", "SystemClock",
]
