"""Two seats of one hotline on one record, assembled as `duty-console run` does (issue 13).

Seat C starting used to seal seat A's live call as interrupted ("sealed 1 call(s) a previous
run left open"): every seat wrote the line name "hotline" and start-up sealed all of it.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.callflow.events import CallStep, Mode
from console.domain.seat import default_seat_name
from console.runner import assemble
from console.store import CallOutcome
from tests.e2e.labconfig import write_console_toml

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_seat_start_leaves_another_seats_live_call_alone(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"  # rendered once per session
    path = write_console_toml(tmp_path, 5060, prompt_cache=cache)
    shared = {"DUTY_DATABASE__URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    seat_a = assemble(path, environ={**shared, "DUTY_SEAT__NAME": "seat-a"})
    try:
        records = seat_a.parts["records"]
        records.call_rang("cid-1", "13800000001", T0, Mode.STAFFED)
        records.call_answered("cid-1", T0 + timedelta(seconds=3), "1024", 1, 3.0)
        # No [seat] name: <extension>@<host>. Its outbox, in the same outbox_dir, is
        # named for the seat: the two never share one (each belongs to one process).
        seat_c = assemble(path, environ=shared)
        try:
            expected = default_seat_name(socket.gethostname(), "100")
            assert seat_c.parts["records"].seat == expected and expected.startswith("100@")
            assert [s.name for s in seat_c.store.seats()] == [expected, "seat-a"]
        finally:
            seat_c.store.close()
        [live] = seat_a.store.calls()
        assert not live.sealed and live.seat == "seat-a"
        # A's own end of the call is what the record keeps.
        records.call_ended("cid-1", T0 + timedelta(minutes=2), CallStep.SURVEY, "remote_bye")
        call = seat_a.store.get_call(live.key)
        assert call.outcome is CallOutcome.ANSWERED and call.end_reason == "remote_bye"
    finally:
        seat_a.store.close()

