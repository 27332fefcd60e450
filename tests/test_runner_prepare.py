"""The composition root hands every start-up prompt to the line before it starts.

`Line.prepare` encodes prompts for every codec up front; without it the first call's greeting
is encoded while the caller listens to silence. `assemble` builds the line through an injected
factory here, so the line is a fake that records what it was given and in which order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from console.prompts import PROMPT_NAMES
from console.runner import assemble
from console.store import AgentRole, DutyRecord
from sip.api import LineEvent, LineStatus, Prompt
from tests.e2e.labconfig import write_console_toml


class RecordingLine:
    """A line that never touches the network; remembers `prepare` and `start` calls."""

    def __init__(self, config: Any, sink: Callable[[LineEvent], None]) -> None:
        self.config = config
        self.sink = sink
        self.calls_made: list[tuple[str, list[Prompt]]] = []
        self.status = LineStatus.STOPPED

    def prepare(self, prompts: Iterable[Prompt]) -> None:
        self.calls_made.append(("prepare", list(prompts)))

    def start(self, timeout: float = 10.0) -> None:
        self.calls_made.append(("start", []))
        self.status = LineStatus.REGISTERED

    def stop(self) -> None:
        self.calls_made.append(("stop", []))
        self.status = LineStatus.STOPPED

    def calls(self) -> list[Any]:
        return []

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        return True


def _assemble(tmp_path: Path, agents: Iterable[str] = ()) -> tuple[Any, RecordingLine]:
    path = write_console_toml(tmp_path, 5060)
    if agents:
        record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}")
        for agent_id in agents:
            record.create_agent(agent_id, f"agent {agent_id}", AgentRole.AGENT, f"pw-{agent_id}")
        record.close()
    made: list[RecordingLine] = []

    def factory(config: Any, sink: Callable[[LineEvent], None]) -> RecordingLine:
        made.append(RecordingLine(config, sink))
        return made[-1]

    headless = assemble(path, line_factory=factory)  # type: ignore[arg-type]
    assert len(made) == 1 and headless.line is made[0]
    return headless, made[0]


def test_every_fixed_prompt_and_each_agents_greeting_is_prepared(tmp_path: Path) -> None:
    headless, line = _assemble(tmp_path, agents=["1024", "1025"])
    try:
        assert [name for name, _ in line.calls_made] == ["prepare"]  # before any start
        prepared = line.calls_made[0][1]
        book = headless.parts["prompts"]
        expected = [book.get(n) for n in PROMPT_NAMES if n != "greeting"]
        expected += [book.greeting_for("1024"), book.greeting_for("1025")]
        assert prepared == expected
        assert all(isinstance(p, Prompt) and p.seconds > 0.3 for p in prepared)
        assert len({p.name for p in prepared}) == len(prepared)  # no prompt twice
        assert line.config.extension == "100"  # built from the config's [line]
    finally:
        headless.store.close()


def test_prepare_precedes_the_start_when_the_line_runs(tmp_path: Path) -> None:
    headless, line = _assemble(tmp_path)
    ready: list[bool] = []
    result: list[int] = []

    def on_ready() -> None:
        ready.append(True)
        headless.request_stop()

    result.append(headless.run(ready=on_ready))
    assert result == [0] and ready == [True]
    assert [name for name, _ in line.calls_made] == ["prepare", "start", "stop"]
    # no agent in the record: only the fixed prompts, the greeting_auto among them
    assert len(line.calls_made[0][1]) == len(PROMPT_NAMES) - 1


def test_a_line_refusing_the_prompts_stops_the_start_with_a_title(tmp_path: Path) -> None:
    from sip.api import MediaError

    path = write_console_toml(tmp_path, 5060)

    class Refusing(RecordingLine):
        def prepare(self, prompts: Iterable[Prompt]) -> None:
            raise MediaError("codec table missing")

    with pytest.raises(MediaError) as caught:
        assemble(path, line_factory=Refusing)  # type: ignore[arg-type]
    assert caught.value.title == "Media"  # run_tui / the headless runner print it titled
