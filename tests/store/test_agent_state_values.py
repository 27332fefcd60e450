"""One `AgentState`: the seat's state machine and the duty record share the domain's enum
(issue 11: the store had its own, with AFTER_CALL = "after_call" beside the domain's
AFTER_CALL_WORK = "after_call_work", and the seat mapped one onto the other). The values are
the text the record has always stored, so rows written before read back and their chain's
hashes do not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import console.store
from console.domain.agent import AGENT_TABLE, AgentState
from console.store import AgentRole, DutyRecord
from console.store.models import AgentStateRow

STORED_BEFORE = {"logged_in", "ready", "on_call", "after_call", "away", "logged_out"}
"""Every `agent_states.state` text the record has written (the store's enum before)."""


def test_the_store_takes_the_domains_enum() -> None:
    assert console.store.AgentState is AgentState
    assert {s.value for s in AgentState} == STORED_BEFORE
    assert AgentState.of("after_call") is AgentState.AFTER_CALL_WORK
    assert AgentState.of(AgentState.AWAY) is AgentState.AWAY
    for bad in ("after_call_work", "", "READY"):
        with pytest.raises(ValueError, match="not an agent state"):
            AgentState.of(bad)
    reached = {s for s, _e, t in AGENT_TABLE for s in (s, t)}
    assert reached == set(AgentState) - {AgentState.LOGGED_IN}  # a log line, not a rest


def test_each_state_is_stored_as_before_and_reads_back(tmp_path: Path) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=UTC, clock=lambda: at) as store:
        store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
        order = [AgentState.LOGGED_IN, AgentState.READY, AgentState.ON_CALL,
                 AgentState.AFTER_CALL_WORK, AgentState.AWAY, AgentState.LOGGED_OUT]
        for n, state in enumerate(order):
            store.set_agent_state("1024", state, "lunch" if state is AgentState.AWAY else None,
                                  at + timedelta(minutes=n))
        with store._session(write=False) as session:
            texts = list(session.scalars(select(AgentStateRow.state).order_by(AgentStateRow.seq)))
        assert texts == ["logged_in", "ready", "on_call", "after_call", "away", "logged_out"]
        assert [c.state for c in store.agent_states("1024")] == order
        assert store.verify().chains["~agents"] == len(order)
