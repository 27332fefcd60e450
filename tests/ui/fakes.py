"""Fakes for the seat's UI tests: a line, a frozen clock, a call flow driven by the test.

The flow fake delivers its events on a separate thread (as the real flow does), so every
test also exercises the thread → `post_message` path into the app.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from console.callflow.events import CallStep, FlowEvent
from console.headset import AudioDevice
from sip.api import LineStatus


class FakeClock:
    """A frozen clock the test moves by hand (wall and monotonic move together)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> dt.datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds


@dataclass
class FakeSipCall:
    """Just what the UI reads from the line's calls: the caller's name."""

    call_id: str
    caller_number: str
    caller_name: str = ""


class FakeLine:
    """A line that never touches the network; counts starts and stops."""

    def __init__(self, status: LineStatus = LineStatus.REGISTERED) -> None:
        self._status = status
        self.started = 0
        self.stopped = 0
        self.sip_calls: list[FakeSipCall] = []

    @property
    def status(self) -> LineStatus:
        return self._status

    def set_status(self, status: LineStatus) -> None:
        self._status = status

    def start(self, timeout: float = 10.0) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True

    def calls(self) -> list[FakeSipCall]:
        return list(self.sip_calls)


@dataclass
class FakeFlow:
    """A `SeatFlow` whose events the test emits; records what the seat asked of it."""

    subscribers: list[Callable[[FlowEvent], None]] = field(default_factory=list)
    taken: list[tuple[str, str]] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    takeable: set[str] = field(default_factory=set)
    transfer_ok: bool = True
    """What the gate post does with a transfer (False: refused, the call stays)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    lifecycle: list[str] = field(default_factory=list)
    """"start" / "stop" as the seat asked them (the watchers start after the line)."""

    def subscribe(self, subscriber: Callable[[FlowEvent], None]) -> Callable[[], None]:
        self.subscribers.append(subscriber)
        return lambda: self.subscribers.remove(subscriber)

    def emit(self, *events: FlowEvent) -> None:
        """Deliver events on another thread, in order, as the real flow does."""

        def run() -> None:
            for event in events:
                for subscriber in list(self.subscribers):
                    subscriber(event)

        thread = threading.Thread(target=run, name="fake-flow")
        thread.start()
        thread.join(5)

    def take_call(self, call_id: str, agent_id: str) -> bool:
        with self.lock:
            if call_id not in self.takeable:
                return False
            self.takeable.discard(call_id)
            self.taken.append((call_id, agent_id))
            return True

    def finish_call(self, call_id: str) -> bool:
        self.actions.append(("finish_call", call_id))
        return True

    def transfer_to_gate_post(self, call_id: str) -> bool:
        self.actions.append(("transfer_to_gate_post", call_id))
        return self.transfer_ok

    def resume(self, call_id: str) -> bool:
        self.actions.append(("resume", call_id))
        return True

    def hold(self, call_id: str) -> bool:
        self.actions.append(("hold", call_id))
        return True

    def hang_up(self, call_id: str) -> bool:
        self.actions.append(("hang_up", call_id))
        return True

    def active(self) -> dict[str, CallStep]:
        return {}

    def start(self) -> None:
        self.lifecycle.append("start")

    def stop(self) -> None:
        self.lifecycle.append("stop")


class FakeAudio:
    """An injected PortAudio: a device list chosen by the test (no sound server here)."""

    def __init__(self, devices: list[AudioDevice], default: int | None = None) -> None:
        self._devices = devices
        self._default = default

    def devices(self) -> list[AudioDevice]:
        return list(self._devices)

    def default_device(self) -> int | None:
        return self._default


HEADSET = AudioDevice(0, "USB Headset", inputs=1, outputs=2, default_samplerate=48000.0)
