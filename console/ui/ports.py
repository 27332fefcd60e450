"""What the seat's UI needs from the call flow, the duty record and the night-mode switch.

The screens are written against these small protocols so that Pilot tests run them with
fakes and so that a missing piece of the flow is a named gap, not a hidden call into SIP.
`FlowPort` adapts the real `console.callflow.CallFlow`: what the flow offers is delegated;
what it does not offer yet raises `NotWired`, which the screens show as a notification.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from console.callflow.events import CallStep, FlowEvent
from console.domain.night import NightDecision, OverrideKind
from console.store import (
    Agent,
    AgentState,
    CallFilter,
    CallOutcome,
    CallRecord,
    FollowUp,
    FollowUpStatus,
    Handover,
)
from console.ui.errors import NotWired

log = logging.getLogger("console.ui")

FlowSubscriber = Callable[[FlowEvent], None]


class SeatFlow(Protocol):
    """The call flow as the seat drives it; every method returns quickly or is run in a worker."""

    def subscribe(self, subscriber: FlowSubscriber) -> Callable[[], None]:
        """Hear every `FlowEvent` (on flow threads); returns the unsubscribe function."""
        ...

    def take_call(self, call_id: str, agent_id: str) -> bool:
        """Answer a ringing call or take over a held/waiting one; False when too late."""
        ...

    def finish_call(self, call_id: str) -> bool:
        """The agent is done talking: play the survey, then wait for the caller to hang up."""
        ...

    def transfer_to_gate_post(self, call_id: str) -> bool:
        """Forward the answered call to the gate post (blocks until the transfer outcome)."""
        ...

    def hold(self, call_id: str) -> bool:
        """Put the caller on hold with the hold prompt."""
        ...

    def resume(self, call_id: str) -> bool:
        """Take the caller back from hold; False when the call was not on hold."""
        ...

    def hang_up(self, call_id: str) -> bool:
        """End the call from our side (the screen has asked the agent to confirm)."""
        ...

    def active(self) -> dict[str, CallStep]:
        """Calls the flow is handling now and their step."""
        ...

    def start(self) -> None:
        """Start the flow's watchers (the gate-post probe); only once the line is started."""
        ...

    def stop(self) -> None:
        """Stop the watchers and end the flow's calls (sealed with their step)."""
        ...


class SeatStore(Protocol):
    """The duty record as the seat uses it (`console.store.DutyRecord` satisfies it)."""

    def verify_secret(self, agent_id: str, secret: str) -> Agent: ...
    def handovers(self, since: dt.datetime | None = None) -> list[Handover]: ...
    def accept_handover(self, key: str, incoming: str) -> Handover: ...
    def write_handover(self, outgoing: str, notes: str, open_items: str) -> Handover: ...
    def follow_ups(
        self, owner: str | None = None, status: FollowUpStatus | None = FollowUpStatus.OPEN
    ) -> list[FollowUp]: ...
    def add_follow_up(
        self, owner: str, description: str, due_at: dt.datetime, call_key: str | None = None
    ) -> FollowUp: ...
    def calls(self, flt: CallFilter | None = None, amended: bool = True) -> list[CallRecord]: ...
    def day_bounds(self, day: Any) -> tuple[dt.datetime, dt.datetime]: ...
    def set_agent_state(
        self,
        agent_id: str,
        state: AgentState,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> None: ...
    def update_open_call(self, key: str, **facts: Any) -> None: ...
    def amend(self, call_key: str, field: str, new_value: Any, who: str, why: str) -> Any: ...
    def audit(self, action: str, who: str, detail: str) -> None: ...
    def report_event(self, reporter: str, summary: str, call_key: str | None = None) -> str: ...
    def gate_post_calls(self, since: dt.datetime, until: dt.datetime) -> list[CallRecord]: ...
    def get_call(self, key: str) -> CallRecord: ...
    def close_follow_up(
        self, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
    ) -> FollowUp: ...
    def callback_tally(
        self, follow_up_keys: list[str]
    ) -> dict[str, tuple[int, CallOutcome | None]]:
        """Per follow-up: how many callbacks so far and the latest one's outcome."""
        ...
    def close_follow_up_by_hand(
        self, key: str, who: str, note: str, status: FollowUpStatus = FollowUpStatus.DONE
    ) -> FollowUp:
        """As the domain allows: one with a number to call back closes by a callback that
        reached the caller, or by a supervisor (`console.domain.callback`)."""
        ...


class NightSwitch(Protocol):
    """Night mode with one manual override (`console.domain.NightMode` satisfies it).

    The same object must back the flow's `Staffing` (`console.adapters.ScheduleStaffing`,
    wired by `console.runner.assemble`) so that an override set on screen routes calls.
    """

    def decide(self, now: dt.datetime) -> NightDecision: ...
    def set_override(
        self, kind: OverrideKind, reason: str, agent_id: str, now: dt.datetime
    ) -> NightDecision: ...
    def clear_override(self) -> Any: ...


class FlowPort:
    """`SeatFlow` over the real `console.callflow.CallFlow`.

    Delegates what the flow has (`take_call`, `finish_call`, `active`, its event bus);
    transfer, hold and hang-up are used when the flow grows methods of those names, and
    until then raise `NotWired` naming the missing method.
    """

    def __init__(self, flow: Any) -> None:
        self.flow = flow

    def subscribe(self, subscriber: FlowSubscriber) -> Callable[[], None]:
        unsubscribe: Callable[[], None] = self.flow.bus.subscribe(subscriber)
        return unsubscribe

    def take_call(self, call_id: str, agent_id: str) -> bool:
        return bool(self.flow.take_call(call_id, agent_id))

    def finish_call(self, call_id: str) -> bool:
        return bool(self.flow.finish_call(call_id))

    def _optional(self, name: str, call_id: str) -> bool:
        method = getattr(self.flow, name, None)
        if method is None:
            raise NotWired(f"the call flow has no {name}() yet (call {call_id})")
        return bool(method(call_id))

    def transfer_to_gate_post(self, call_id: str) -> bool:
        return self._optional("transfer_to_gate_post", call_id)

    def hold(self, call_id: str) -> bool:
        return self._optional("hold", call_id)

    def resume(self, call_id: str) -> bool:
        return self._optional("resume", call_id)

    def hang_up(self, call_id: str) -> bool:
        return self._optional("hang_up", call_id)

    def active(self) -> dict[str, CallStep]:
        result: dict[str, CallStep] = self.flow.active()
        return result

    def start(self) -> None:
        """The flow's watchers, after the line has started (`DutyConsoleApp._go_live`)."""
        self.flow.start()

    def stop(self) -> None:
        """Stop the flow (its calls are sealed with their step) before the line stops."""
        self.flow.stop()
