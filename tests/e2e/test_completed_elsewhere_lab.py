"""A CANCEL "completed elsewhere" through the lab's Kamailio is recorded as no abandoned call.

Issue 13: a seat whose ringing the PBX cancelled because another seat answered recorded an
abandoned call. Here SIPp plays the forking side: INVITE through Kamailio to the duty line,
then a CANCEL carrying `Reason: SIP;cause=200;text="Call completed elsewhere"`, which
Kamailio relays to the branch (RFC 3326). The same call cancelled without the Reason stays
an abandoned call. Bounded by SIPp's timeout (15 s each); the lab stops what it started.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import labctl
import pytest

from console.callflow.events import CallAnswered, CallStep
from console.store import CallOutcome
from tests.e2e.helpers import E2E_SIPP, at, running_console, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")


def test_a_cancel_completed_elsewhere_is_taken_elsewhere_not_abandoned(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, cadence=1.0,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_10) as console:
        elsewhere = lab.sipp(E2E_SIPP / "uac_cancel_elsewhere.xml", duration_ms=500, timeout=15)
        assert elsewhere.ok, elsewhere.describe()
        leg = console.sealed_call()
        gave_up = lab.sipp("uac_cancel", duration_ms=500, timeout=15)  # no Reason: the caller
        assert gave_up.ok, gave_up.describe()
        wait_until("both calls sealed",
                   lambda: sum(c.outcome is not None for c in console.calls()) == 2, 15)
        calls = console.calls()
        store = console.headless.store
        kpis = store.kpis(MONDAY_10 - timedelta(hours=1), MONDAY_10 + timedelta(hours=1))
    assert not console.of(CallAnswered)
    assert leg.outcome is CallOutcome.TAKEN_ELSEWHERE
    assert leg.end_reason == "completed_elsewhere" and leg.step == CallStep.RINGING.value
    assert leg.seat == console.headless.parts["records"].seat
    [abandoned] = [c for c in calls if c.key != leg.key]
    assert abandoned.outcome is CallOutcome.ABANDONED and abandoned.end_reason == "abandoned"
    assert (kpis.total, kpis.abandoned, kpis.answered) == (1, 1, 0)  # one caller, not two
