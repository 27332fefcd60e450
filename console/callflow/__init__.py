"""The headless call flow: line events in, duty-rule decisions, record writes, UI events out."""

from __future__ import annotations

from console.callflow.events import CallStep, EventBus, FlowEvent, Mode
from console.callflow.flow import CallFlow
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

__all__ = [
    "CallFlow", "CallRecords", "CallStep", "Clock", "EventBus", "FlowError", "FlowEvent",
    "FlowSettings", "ForwardTarget", "Mode", "ShiftedClock", "Staffing", "SystemClock",
]
