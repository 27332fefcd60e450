"""The seat owns its state; screens post intents (issue 11, "What to build").

Screens read the seat through `console.ui.view.SeatView` and ask for everything else with an
intent message (`console.ui.intents`); the app tells them about changes with one
`SeatChanged` message. Before, screens called into the app (`self.seat.flow_action("hold",
…)`, `seat.toggle_away()`, 30 members) and the app pushed down through
`getattr(screen, "redraw" / "flow_event" / "flush_notes")`. These checks keep it that way
for the agent's screens; the behaviour itself is covered by the Pilot tests (F4, F6, F8, F10,
away, night, handover in test_seat / test_shift / test_with_flow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from console.callflow.events import CallStep, FlowEvent, StepChanged
from console.screens.base import SeatScreen_
from console.ui.intents import HoldToggled
from console.ui.model import LiveCall
from console.ui.view import SeatView
from tests.ui.conftest import START
from tests.ui.helpers import answer_call, until

ROOT = Path(__file__).resolve().parents[2] / "console"
AGENT_SCREENS = ("seat", "ringing", "call", "login", "base", "dialogs", "handover", "night",
                 "gate_post", "follow_ups", "event_report")


def _app_methods() -> set[str]:
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "DutyConsoleApp":
            return {n.name for n in node.body
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    raise AssertionError("DutyConsoleApp not found in console/app.py")


def _seat_reads(path: Path) -> set[str]:
    """Names used as `self.seat.<name>` or `seat.<name>` in one module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if (isinstance(owner, ast.Attribute) and owner.attr == "seat"
                and isinstance(owner.value, ast.Name) and owner.value.id == "self") or (
                isinstance(owner, ast.Name) and owner.id == "seat"):
            found.add(node.attr)
    return found


@pytest.mark.parametrize(
    "path",
    [ROOT / "screens" / f"{name}.py" for name in AGENT_SCREENS]
    + sorted((ROOT / "widgets").glob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_agent_screens_use_only_what_the_seat_view_offers(path: Path) -> None:
    offered = set(SeatView.__annotations__) | {
        name for name in dir(SeatView) if not name.startswith("_")
    }
    reached = _seat_reads(path) - offered
    assert not reached, (
        f"{path.name} reaches into the app for {sorted(reached)}: post an intent "
        "(console.ui.intents) or add a read to console.ui.view.SeatView"
    )
    actions = _app_methods() - offered
    assert not (_seat_reads(path) & actions)


def test_the_app_pushes_nothing_into_screens_by_name() -> None:
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    pushes = [
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id == "getattr" and node.args
        and isinstance(node.args[0], ast.Name) and node.args[0].id == "screen"
    ]
    assert not pushes, f"getattr(screen, ...) in console/app.py at lines {pushes}"


class ProbeScreen(SeatScreen_):
    """A screen of the seat that only records what it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[tuple[FlowEvent | None, LiveCall | None]] = []

    def seat_changed(self, event: FlowEvent | None, call: LiveCall | None) -> None:
        self.heard.append((event, call))


async def test_screens_hear_seat_changed_and_the_app_hears_their_intents(build, flow) -> None:
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:
        await answer_call(pilot, flow, "c1", "13800138000", START)
        probe = ProbeScreen()
        await app.push_screen(probe)
        app.refresh_screens()
        await until(pilot, lambda: (None, None) in probe.heard, "SeatChanged for the probe")
        flow.emit(StepChanged(START, "c1", CallStep.CONVERSATION))
        await until(pilot, lambda: any(e is not None for e, _ in probe.heard), "a flow event")
        event, call = next((e, c) for e, c in probe.heard if e is not None)
        assert isinstance(event, StepChanged) and call is not None and call.call_id == "c1"
        probe.post_message(HoldToggled("c1", hold=True))  # bubbles up to the app
        await until(pilot, lambda: ("hold", "c1") in flow.actions, "the app ran the hold")
