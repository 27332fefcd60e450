"""Several threads, several processes (seats) on one record; kill -9 mid-write then restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.store import CallFilter, CallOutcome, DutyRecord, Outbox

ROOT = Path(__file__).resolve().parents[2]


def test_threads_share_one_store(store: DutyRecord) -> None:
    errors: list[BaseException] = []
    keys: list[str] = []
    lock = threading.Lock()
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def seat(n: int) -> None:
        try:
            for i in range(15):
                at = base + timedelta(minutes=n, seconds=i)
                key = store.open_call(f"line{n % 2}", at)
                store.update_open_call(
                    key, answered_at=at + timedelta(seconds=1), answered_by=f"10{n:02d}"
                )
                store.seal_call(key, CallOutcome.ANSWERED, ended_at=at + timedelta(seconds=5))
                with lock:
                    keys.append(key)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=seat, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(set(keys)) == 90
    report = store.verify()
    assert report.ok and report.chains == {"line0": 45, "line1": 45}
    assert not store.database_down


def _seat(url: str, outbox: Path, line: str, n: int, hang: bool = False) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tests.store.seat", url, str(outbox), line, str(n)]
    return subprocess.Popen(
        [*argv, "hang"] if hang else argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def test_processes_share_one_record(db_url: str, tmp_path: Path) -> None:
    DutyRecord(db_url).close()  # schema first
    seats = [
        _seat(db_url, tmp_path / f"outbox{n}", "hotline" if n < 2 else "gate", 25)
        for n in range(3)
    ]
    outputs = []
    for proc in seats:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out.split())
    store = DutyRecord(db_url, tz=UTC)
    assert sorted(c.key for c in store.calls()) == sorted(k for out in outputs for k in out)
    report = store.verify()
    assert report.ok and report.chains == {"hotline": 50, "gate": 25}
    # Each seat's outbox is its own and was emptied as its writes landed.
    for n in range(3):
        assert [p.read_text() for p in (tmp_path / f"outbox{n}").glob("*.jsonl")] == [""]
    store.close()


def test_kill_9_mid_write_then_restart(db_url: str, tmp_path: Path) -> None:
    DutyRecord(db_url).close()
    proc = _seat(db_url, tmp_path / "outbox", "hotline", 5, hang=True)
    assert proc.stdout is not None
    lines = []
    try:
        while True:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "seat died"
            lines.append(line.strip())
            if line.startswith("OPEN "):
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    open_key = lines[-1].split()[1]
    restarted = DutyRecord(db_url, tz=UTC)
    # The same seat restarts on its own outbox: what the killed run left there lands first.
    restarted.attach_outbox(Outbox(tmp_path / "outbox", "seat"))
    assert restarted.seal_interrupted_on_start(lines=["hotline"]) == [open_key]
    call = restarted.get_call(open_key)
    assert call.outcome is CallOutcome.INTERRUPTED and call.step == "greeting"
    assert (call.notes or "").startswith("note ")  # the last committed update survived
    sealed = restarted.calls(CallFilter(outcome=CallOutcome.ANSWERED))
    assert [c.key for c in sealed] == lines[:-1]
    assert restarted.verify().ok
    restarted.close()
