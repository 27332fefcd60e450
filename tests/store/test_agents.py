"""Agents, their secrets and lockout, the state log, handovers and event reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.store import (
    AgentLocked,
    AgentRole,
    AgentState,
    AuthError,
    DutyRecord,
    InvalidFact,
    UnknownRecord,
)
from console.store.models import AgentRow
from tests.store.conftest import Clock


def test_secret_is_checked_and_never_stored_plain(store: DutyRecord) -> None:
    agent = store.create_agent("1024", "李四", AgentRole.AGENT, "correct horse")
    assert agent.role is AgentRole.AGENT
    assert store.verify_secret("1024", "correct horse").agent_id == "1024"
    with store._session(write=False) as session:
        stored = session.get(AgentRow, "1024")
        assert stored is not None and "correct horse" not in stored.secret_hash
        assert stored.secret_hash.startswith("scrypt$")
    with pytest.raises(AuthError):
        store.verify_secret("1024", "wrong")
    with pytest.raises(AuthError):
        store.verify_secret("9999", "correct horse")


def test_lockout_after_repeated_failures(store: DutyRecord, clock: Clock) -> None:
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-right")
    for _ in range(store.lockout_failures - 1):
        with pytest.raises(AuthError) as info:
            store.verify_secret("1024", "pw-wrong")
        assert not isinstance(info.value, AgentLocked)
    with pytest.raises(AgentLocked):
        store.verify_secret("1024", "pw-wrong")
    with pytest.raises(AgentLocked):  # even the right secret while locked
        store.verify_secret("1024", "pw-right")
    clock.now += store.lockout + timedelta(seconds=1)
    assert store.verify_secret("1024", "pw-right").agent_id == "1024"


def test_supervisor_unlocks(store: DutyRecord) -> None:
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-right")
    for _ in range(store.lockout_failures):
        with pytest.raises(AuthError):
            store.verify_secret("1024", "nope")
    store.create_agent("2001", "主任", AgentRole.SUPERVISOR, "pw-boss")
    with pytest.raises(InvalidFact, match="not an active supervisor"):
        store.unlock_agent("1024", supervisor="1024")  # an agent cannot unlock itself
    with pytest.raises(UnknownRecord):
        store.unlock_agent("7777", supervisor="2001")
    store.unlock_agent("1024", supervisor="2001")
    assert store.verify_secret("1024", "pw-right").agent_id == "1024"
    assert [e.action for e in store.audit_log()] == ["unlock"]
    assert store.audit_log()[0].who == "2001" and "1024" in store.audit_log()[0].detail
    with pytest.raises(InvalidFact, match="not locked"):  # twice: nothing to lift
        store.unlock_agent("1024", supervisor="2001")
    assert [e.action for e in store.audit_log()] == ["unlock"]


@pytest.mark.parametrize(
    ("agent_id", "name", "secret", "message"),
    [
        ("", "x", "pw-1", "1–64"),
        ("a:b", "x", "pw-1", "no ':'"),
        ("auto", "x", "pw-1", "reserved"),
        ("1024", "x", "pw", "at least 4"),
        ("1024", "  ", "pw-1", "name"),
    ],
)
def test_bad_agents_are_refused(
    store: DutyRecord, agent_id: str, name: str, secret: str, message: str
) -> None:
    with pytest.raises(InvalidFact, match=message):
        store.create_agent(agent_id, name, AgentRole.AGENT, secret)
    assert store.agents() == []


def test_no_shared_ids(store: DutyRecord) -> None:
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    with pytest.raises(InvalidFact, match="exists"):
        store.create_agent("1024", "王五", AgentRole.AGENT, "pw-2")
    assert [a.name for a in store.agents()] == ["李四"]


def test_state_log(store: DutyRecord, clock: Clock) -> None:
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    for state in (AgentState.LOGGED_IN, AgentState.READY, AgentState.ON_CALL):
        store.set_agent_state("1024", state)
        clock.now += timedelta(minutes=1)
    store.set_agent_state("1024", AgentState.AWAY, reason="洗手间")
    with pytest.raises(InvalidFact, match="reason"):
        store.set_agent_state("1024", AgentState.AWAY)
    log = store.agent_states("1024")
    assert [s.state for s in log] == [
        AgentState.LOGGED_IN,
        AgentState.READY,
        AgentState.ON_CALL,
        AgentState.AWAY,
    ]
    assert log[-1].reason == "洗手间" and log[1].at - log[0].at == timedelta(minutes=1)
    assert store.verify().chains["~agents"] == 4


def test_state_of_unknown_agent_is_refused(store: DutyRecord) -> None:
    with pytest.raises(UnknownRecord):
        store.set_agent_state("ghost", AgentState.READY)
    assert not store.database_down


def test_handover_accept_and_sign(store: DutyRecord) -> None:
    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    store.create_agent("1025", "王五", AgentRole.AGENT, "pw-2")
    store.create_agent("2001", "主任", AgentRole.SUPERVISOR, "pw-3")
    store.open_call("hotline")
    handover = store.write_handover("1024", "夜间平安", "3 号楼报修未完")
    assert handover.accepted_by is None
    with pytest.raises(InvalidFact, match="incoming"):
        store.accept_handover(handover.key, "1024")
    accepted = store.accept_handover(handover.key, "1025")
    assert accepted.accepted_by == "1025"
    with pytest.raises(InvalidFact, match="already"):
        store.accept_handover(handover.key, "1025")
    with pytest.raises(InvalidFact, match="supervisor"):
        store.sign_handover(handover.key, "1025")
    signed = store.sign_handover(handover.key, "2001")
    assert (signed.signed_by, signed.accepted_by) == ("2001", "1025")
    assert store.handovers()[0] == signed
    assert store.verify().ok


def test_handover_carries_chain_heads(store: DutyRecord) -> None:
    from console.store import CallOutcome

    store.create_agent("1024", "李四", AgentRole.AGENT, "pw-1")
    key = store.open_call("hotline")
    store.seal_call(key, CallOutcome.MISSED)
    handover = store.write_handover("1024", "notes", "")
    assert handover.chain_heads.startswith("hotline:1:")
    with pytest.raises(InvalidFact):
        store.write_handover("1024", " ", " ")
    with pytest.raises(UnknownRecord):
        store.write_handover("ghost", "notes", "")


def test_event_reports(store: DutyRecord) -> None:
    key = store.open_call("hotline")
    event = store.report_event("1024", "3 号楼起火,已报119", call_key=key)
    assert [e.key for e in store.event_reports()] == [event]
    with pytest.raises(InvalidFact):
        store.report_event("1024", "  ")
