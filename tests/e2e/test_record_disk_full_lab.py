"""The database's disk fills during calls (issue 10, point 3), through the real lab.

Seen before the outbox: the journal lived beside the database, its append failed too on the
full disk, and the two calls made then were gone — a traceback in the log, no alarm, and
`verify` still sound. Here the headless line's SQLite record lives on a small tmpfs of its
own that the test fills to the last byte while calls are made; the outbox is in its default
place (`var/outbox` beside the config, another disk). Every call is answered at the ring
limit as without the fault (2 rings x 0.5 s), the line raises `db_down` naming the full disk
in its log, and within 5 s of the filler's removal every call is in the record once with
its facts, `verify` is sound and `db_back` is logged.

The variant fills the outbox's own tiny tmpfs too (reserve and all): the calls are still
answered, the line raises `outbox_at_risk` with how many writes are only in memory, and once
space returns nothing is lost.

Bounded: SIPp -timeout 40 s per call, a few calls; the tmpfs are unmounted in a `finally`
(after the console, stopped by the path SIGTERM takes, has closed the record on them).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import labctl
import pytest
from labdisk import fill

from console.callflow.events import CallAnswered, CallFinished, RecordAlarm
from console.store import CallOutcome, CallRecord
from tests.e2e.helpers import (
    E2E_SIPP,
    ConsoleUnderTest,
    at,
    ensure_digit_pcap,
    running_console,
    wait_until,
)
from tests.e2e.labconfig import write_console_toml
from tests.store.helpers import tmpfs

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
DURING = 2
"""Calls made while the disk is full (one more is made before it fills)."""
RING_LIMIT = (1.0, 1.6)
"""2 rings x 0.5 s: the window the other lab tests hold every answer to."""






class Log(logging.Handler):
    """What the headless line logs (the same loggers `duty-console run --headless` prints)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.tracebacks: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.tracebacks.append(self.format(record))

    def has(self, *words: str) -> bool:
        return any(all(w in line for w in words) for line in self.lines)


@contextlib.contextmanager
def headless_log() -> Iterator[Log]:
    handler = Log()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)



def kinds_of(console: ConsoleUnderTest) -> list[str]:
    """The record alarms the flow's bus carried, in order (what a seat shows)."""
    return [e.kind for e in console.of(RecordAlarm)]


def one_call(lab: labctl.Lab, console: ConsoleUnderTest, done: int) -> None:
    """A caller who waits for the auto-answer, presses 1 in the survey, is hung up on."""
    run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
    result = run.wait(timeout=45)
    assert result.ok, result.describe()
    wait_until(f"call {done + 1} finished", lambda: len(console.of(CallFinished)) > done, 10)


def seat_config(lab: labctl.Lab, tmp_path: Path, factory: pytest.TempPathFactory,
                db: Path, database_extra: str = "") -> Path:
    """The lab's console.toml with the record at `db` (and more `[database]` keys)."""
    cache = factory.getbasetemp() / "prompt-cache"
    config = write_console_toml(tmp_path / "seat", lab.proxy_port, prompt_cache=cache)
    text = config.read_text(encoding="utf-8")
    default = f'url = "sqlite:///{config.parent / "duty.db"}"'
    assert default in text
    config.write_text(text.replace(default, f'url = "sqlite:///{db}"\n{database_extra}'),
                      encoding="utf-8")
    return config


def assert_complete(calls: list[CallRecord], count: int) -> None:
    """`count` calls, each once, sealed with every fact of an auto-answered, rated call."""
    assert len(calls) == count, [c.key for c in calls]
    assert len({c.sip_call_id for c in calls}) == count  # nothing twice
    for call in calls:
        assert call.outcome is CallOutcome.ANSWERED, call
        assert call.answered_by == "auto" and call.rings == 2 and call.satisfaction == 1, call
        assert call.ended_at is not None and call.caller_number == "13900000001", call
        # The record's ring moment is the line's ring start, the one the answer is timed
        # from (it was the flow's later moment: 0.998 s for an answer at 1.0015 s).
        assert call.seconds_to_answer is not None
        assert RING_LIMIT[0] <= call.seconds_to_answer < RING_LIMIT[1], call


def test_database_disk_full_during_calls_every_call_is_recorded(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ensure_digit_pcap(lab, "1")
    with tmpfs(tmp_path / "dbdisk", "4m") as dbdisk, headless_log() as log:
        config = seat_config(lab, tmp_path, tmp_path_factory, dbdisk / "duty.db")
        outbox_dir = config.parent / "var" / "outbox"
        with running_console(config, MONDAY_10) as console:
            assert console.headless.store.outbox.directory == outbox_dir  # not on the tmpfs
            one_call(lab, console, 0)
            assert console.sealed_call(timeout=10)
            filler = fill(dbdisk)
            try:
                for i in range(DURING):
                    one_call(lab, console, 1 + i)
                wait_until("db_down", lambda: console.headless.store.database_down, 15)
                assert console.headless.store.database_down  # still full: still away
                status = console.headless.store.outbox_status
                assert status is not None and status.pending > 0 and status.unsaved == 0
            finally:
                filler.unlink()
            back = time.monotonic()
            wait_until("every call sealed", lambda: len(console.sealed_calls()) == 1 + DURING, 15)
            caught_up = time.monotonic() - back
            wait_until("db_back", lambda: not console.headless.store.database_down, 5)
            answers = [e.seconds_to_answer for e in console.of(CallAnswered)]
            calls = console.calls()
            report = console.headless.store.verify()
            kinds = [e.kind for e in console.of(RecordAlarm)]
        print(f"answers {answers}; in the record {[c.seconds_to_answer for c in calls]}; "
              f"record complete {caught_up:.2f} s after space returned; alarms {kinds}")
        lines = list(log.lines)
        # The operator's check, as run by hand: against the anchor log the line wrote.
        checked = subprocess.run(
            [sys.executable, "-m", "console.cli", "--config", str(config), "verify",
             "--db", f"sqlite:///{dbdisk / 'duty.db'}"],
            capture_output=True, text=True, timeout=120, cwd=config.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "anchor" in checked.stdout, checked.stdout
    # Each call answered at the ring limit, the disk full or not.
    assert len(answers) == 1 + DURING and all(RING_LIMIT[0] <= s < RING_LIMIT[1]
                                              for s in answers), answers
    assert caught_up <= 5.0, f"record complete {caught_up:.2f} s after space returned"
    assert_complete(calls, 1 + DURING)
    assert report.ok, report.problem
    assert kinds == ["db_down", "db_back"]
    # The headless log says what happened, in one line each, without a traceback.
    assert log.has("ERROR", "db_down", "disk full"), lines
    assert log.has("db_back"), lines
    assert not log.tracebacks, log.tracebacks


def test_outbox_disk_full_too_the_calls_are_answered_and_nothing_is_lost(
    lab: labctl.Lab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Both disks full: the database's and the outbox's own (its reserve given up, then that
    space filled too). The writes live in memory, counted and alarmed (`outbox_at_risk`);
    the outbox's space returns first (the database still full): they are on disk again
    within seconds, without a further call; then the database's: all land."""
    ensure_digit_pcap(lab, "1")
    with (tmpfs(tmp_path / "dbdisk", "4m") as dbdisk, tmpfs(tmp_path / "obdisk", "2m") as obdisk,
          headless_log() as log):
        config = seat_config(lab, tmp_path, tmp_path_factory, dbdisk / "duty.db",
                             f'outbox_dir = "{obdisk / "outbox"}"\noutbox_reserve_mib = 1\n')
        with running_console(config, MONDAY_10) as console:
            store = console.headless.store
            outbox = store.outbox
            assert outbox.directory == obdisk / "outbox" and outbox.reserve_path.exists()
            one_call(lab, console, 0)
            assert console.sealed_call(timeout=10)
            # Idle, the outbox empties its file: no page of it left with room to append in.
            wait_until("the outbox compacted", lambda: outbox.path.stat().st_size == 0, 10)
            fillers = [fill(dbdisk)]
            try:
                fillers.append(fill(obdisk))
                # The first write on the full disk gives up the outbox's reserve; once the
                # call is answered that space is filled too: the rest only fits in memory.
                run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
                wait_until("the reserve given up", lambda: not outbox.reserve_path.exists(), 10)
                console.wait_for(CallAnswered, timeout=10)
                fillers.append(fill(obdisk, "filler2"))
                result = run.wait(timeout=45)
                assert result.ok, result.describe()
                wait_until("call 2 finished", lambda: len(console.of(CallFinished)) == 2, 10)
                one_call(lab, console, 2)
                wait_until("outbox_at_risk", lambda: "outbox_at_risk" in kinds_of(console), 5)
                at_risk = store.outbox_status
                assert at_risk is not None and at_risk.unsaved > 0 and at_risk.lost == 0
                # The outbox's disk has room again, the database's not yet: the writes in
                # memory go to disk by themselves (no call needed to trigger it).
                for filler in fillers[1:]:
                    filler.unlink()
                wait_until("outbox_safe", lambda: "outbox_safe" in kinds_of(console), 5)
                assert store.database_down and store.outbox_status.unsaved == 0
            finally:
                for filler in fillers:
                    filler.unlink(missing_ok=True)
            back = time.monotonic()
            wait_until("every call sealed", lambda: len(console.sealed_calls()) == 1 + DURING, 15)
            caught_up = time.monotonic() - back
            wait_until("db_back", lambda: not store.database_down, 5)
            answers = [e.seconds_to_answer for e in console.of(CallAnswered)]
            calls = console.calls()
            report = store.verify()
            alarms = [(e.kind, e.unsaved) for e in console.of(RecordAlarm)]
            final = store.outbox_status
        print(f"answers {answers}; in the record {[c.seconds_to_answer for c in calls]}; "
              f"record complete {caught_up:.2f} s after space returned; "
              f"at risk at most {at_risk.unsaved} writes; alarms {alarms}")
        lines = list(log.lines)
    assert len(answers) == 1 + DURING and all(RING_LIMIT[0] <= s < RING_LIMIT[1]
                                              for s in answers), answers
    assert caught_up <= 5.0, f"record complete {caught_up:.2f} s after space returned"
    assert_complete(calls, 1 + DURING)
    assert report.ok, report.problem
    kinds = [kind for kind, _ in alarms]
    assert kinds[0] == "db_down" and kinds[-1] == "db_back", alarms
    assert "outbox_at_risk" in kinds and kinds.index("outbox_at_risk") < kinds.index("outbox_safe")
    assert "record_lost" not in kinds and final is not None and final.lost == 0
    assert final.pending == 0 and final.unsaved == 0
    # The alarm says how many writes are at risk as they grow (again at each doubling),
    # the log too, and that they are safe again.
    told = [unsaved for kind, unsaved in alarms if kind == "outbox_at_risk"]
    assert told[0] == 1 and told[-1] <= at_risk.unsaved < 2 * told[-1], (told, at_risk)
    assert log.has("outbox_at_risk", f"{told[-1]} write(s) only in memory"), lines
    assert log.has("outbox_safe"), lines
    assert not log.tracebacks, log.tracebacks
