"""The record's faults do not reach the caller: real lab calls while another process holds
the SQLite file (issue 10, point 1). The answer moment stays at the ring limit, the hang-up
is handled at once, and the record is complete within seconds of the lock's release."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import labctl
import pytest

from console.callflow.events import CallAnswered, CallFinished, RecordAlarm
from console.store import CallOutcome
from tests.e2e.helpers import E2E_SIPP, at, ensure_digit_pcap, running_console, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def locked(db: Path, seconds: float = 60.0) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the SQLite file (`BEGIN EXCLUSIVE`), stopped by pid."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def config(lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.getbasetemp() / "prompt-cache"
    return write_console_toml(tmp_path / "seat", lab.proxy_port, prompt_cache=cache)


def test_sqlite_locked_before_the_call_answer_at_the_ring_limit(
    lab: labctl.Lab, config: Path
) -> None:
    ensure_digit_pcap(lab, "1")
    db = config.parent / "duty.db"
    with running_console(config, MONDAY_10) as console:
        with locked(db) as holder:
            run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
            result = run.wait(timeout=45)
            assert result.ok, result.describe()
            answered = console.wait_for(CallAnswered)
            console.wait_for(CallFinished)
            # The whole call happened with the file locked (busy timeout 5 s per write
            # made the old line answer at ≥ 5 s): 2 rings × 0.5 s, as without a fault.
            assert holder.poll() is None
            assert 1.0 <= answered.seconds_to_answer < 1.6
            wait_until("db_down", lambda: console.headless.store.database_down, 15)
        released = time.monotonic()
        record = console.sealed_call(timeout=10)
        caught_up = time.monotonic() - released
        assert caught_up <= 5.0
        assert record.answered_by == "auto" and record.rings == 2 and record.satisfaction == 1
        assert record.outcome is CallOutcome.ANSWERED
        assert len(console.calls()) == 1  # nothing twice
        wait_until("db_back", lambda: not console.headless.store.database_down, 5)
        assert console.headless.store.verify().ok
        # The flow's bus carried both, so a seat shows the alarm and clears it.
        assert [e.kind for e in console.of(RecordAlarm)] == ["db_down", "db_back"]


def test_lock_taken_mid_call_the_hang_up_is_handled_at_once(
    lab: labctl.Lab, config: Path
) -> None:
    ensure_digit_pcap(lab, "1")
    db = config.parent / "duty.db"
    with running_console(config, MONDAY_10) as console:
        run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
        console.wait_for(CallAnswered)
        with locked(db) as holder:
            result = run.wait(timeout=45)
            assert result.ok, result.describe()
            finished_by = time.monotonic()
            console.wait_for(CallFinished, timeout=5)
            # The caller's BYE was handled while the lock was still held.
            assert time.monotonic() - finished_by < 2.0 and holder.poll() is None
        record = console.sealed_call(timeout=10)
        assert record.satisfaction == 1 and record.outcome is CallOutcome.ANSWERED
        assert console.headless.store.verify().ok


def test_kill_9_mid_call_while_locked_the_outbox_keeps_the_call(
    lab: labctl.Lab, config: Path
) -> None:
    """`duty-console run --headless` killed with SIGKILL mid-call while another process
    holds the SQLite file: nothing of the call reached the database, all of it was in the
    outbox; the next start applies it first, then seals the call as interrupted."""
    import os
    import signal
    from zoneinfo import ZoneInfo

    from console.store import DutyRecord

    db = config.parent / "duty.db"
    log_path = config.parent / "console.log"

    def start() -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", "console.cli", "run", "--headless", "--config",
                 str(config), "--clock-start", MONDAY_10.isoformat()],
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def logged(text: str, count: int = 1) -> bool:
        return log_path.read_text("utf-8", "replace").count(text) >= count

    procs = [start()]
    try:
        # Up to a minute: on a fresh machine the prompts are rendered first.
        wait_until("registration", lambda: logged("waiting for calls"), 60)
        with locked(db):
            run = lab.sipp_start(E2E_SIPP / "uac_silent_until_bye.xml", timeout=30)
            wait_until("the greeting", lambda: logged("step=GREETING"), 15)
            os.killpg(procs[0].pid, signal.SIGKILL)
            procs[0].wait(10)
            run.wait(timeout=35)
        outbox = [p for p in (config.parent / "var" / "outbox").glob("outbox-*.jsonl")
                  if not p.name.endswith(".rejected.jsonl")]
        assert len(outbox) == 1 and '"op": "open"' in outbox[0].read_text()
        procs.append(start())
        wait_until("the restart", lambda: logged("waiting for calls", 2), 60)
        os.kill(procs[1].pid, signal.SIGTERM)
        assert procs[1].wait(timeout=20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    text = log_path.read_text("utf-8", "replace")
    assert "Traceback" not in text
    with DutyRecord(f"sqlite:///{db}", tz=ZoneInfo("Asia/Shanghai")) as record:
        calls = record.calls()
        assert record.verify().ok
    assert len(calls) == 1
    (call,) = calls
    assert call.outcome is CallOutcome.INTERRUPTED
    assert call.answered_by == "auto" and call.rings == 2 and call.caller_number
    assert call.step in ("greeting", "hold")
