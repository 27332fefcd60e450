"""An insider with the sqlite3 shell, against a record the real line made (issue 10, point 5).

The tamper classes the issue lists passed `duty-console verify` before: (a) the tail cut
together with `chain_heads`, (b) a record rewritten with its hash recomputed by our own chain
code, (d) a row INSERTed as an open call, which the next start sealed into the chain as
"interrupted". `tests/store/test_anchor_log.py` proves each on a record the test writes; here
the record and its anchor log are the ones a headless line wrote while taking real calls
through the lab's Kamailio (SIPp callers, auto-answer, survey), anchoring on its own at
shutdown — nobody typed an anchor. Each class runs on its own copy of that record, with
`/usr/bin/sqlite3` as the insider's tool (and, for (b), our chain code, as an insider who
read the source would), and is judged by the real `duty-console verify` run as an operator
would, from the config: exit 1 and a line naming what was done. The untouched copy is sound.

Bounded: 3 SIPp calls (-timeout 40 s each), two short runs of the line; each stopped by the
path SIGTERM takes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import labctl
import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from console.callflow.events import CallFinished
from console.store.chain import link_hash, row_content
from console.store.models import CallRow, ChainHeadRow
from console.store.values import GENESIS
from tests.e2e.helpers import E2E_SIPP, at, ensure_digit_pcap, running_console, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

MONDAY_10 = at("2026-03-02 10:00")
CALLS = 3
SQLITE3 = shutil.which("sqlite3")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LineRecord:
    """What the line left: its config (which names the anchor log and key) and its record."""

    config: Path
    db: Path
    keys: list[str]
    """The calls' keys in chain order."""


@pytest.fixture(scope="module")
def line_record(lab: labctl.Lab, tmp_path_factory: pytest.TempPathFactory) -> LineRecord:
    ensure_digit_pcap(lab, "1")
    base = tmp_path_factory.mktemp("tamper")
    config = write_console_toml(base / "seat", lab.proxy_port,
                                prompt_cache=tmp_path_factory.getbasetemp() / "prompt-cache")
    with running_console(config, MONDAY_10) as console:
        for done in range(CALLS):
            run = lab.sipp_start(E2E_SIPP / "uac_press_until_bye.xml", timeout=40)
            result = run.wait(timeout=45)
            assert result.ok, result.describe()
            wait_until(f"call {done + 1} finished",
                       lambda d=done: len(console.of(CallFinished)) > d, 10)  # type: ignore[misc]
        wait_until("every call sealed", lambda: len(console.sealed_calls()) == CALLS, 10)
    db = config.parent / "duty.db"
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute(
            "SELECT key FROM calls WHERE chain = 'hotline' ORDER BY seq")]
    assert len(keys) == CALLS
    assert (config.parent / "var" / "anchors.log").stat().st_size > 0  # written unasked
    return LineRecord(config, db, keys)


@pytest.fixture
def copy(line_record: LineRecord, tmp_path: Path) -> Iterator[Path]:
    """A copy of the line's record for one tamper (the line stopped: no WAL left behind)."""
    target = tmp_path / "duty.db"
    with sqlite3.connect(line_record.db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    yield target


def shell(db: Path, *statements: str) -> None:
    """The insider at the sqlite3 prompt: first the guard triggers go, then the edits."""
    if SQLITE3 is None:
        pytest.fail("sqlite3 is missing: scripts/setup installs it", pytrace=False)
    triggers = subprocess.run(
        [SQLITE3, str(db), "SELECT name FROM sqlite_master WHERE type = 'trigger';"],
        capture_output=True, text=True, timeout=30, check=True).stdout.split()
    script = "".join(f'DROP TRIGGER "{t}";\n' for t in triggers)
    script += "".join(f"{s};\n" for s in statements)
    done = subprocess.run([SQLITE3, str(db)], input=script, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and not done.stderr, done.stderr


def verify(line_record: LineRecord, db: Path) -> tuple[int, str]:
    """`duty-console verify` as the operator runs it: from the line's config and folder."""
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", str(line_record.config), "verify",
         "--db", f"sqlite:///{db}"],
        capture_output=True, text=True, timeout=120, cwd=line_record.config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)})  # this tree's code, as the line ran
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


def row(db: Path, key: str) -> tuple[int, str]:
    with sqlite3.connect(db) as conn:
        seq, row_hash = conn.execute("SELECT seq, row_hash FROM calls WHERE key = ?",
                                     (key,)).fetchone()
    return seq, row_hash


def test_the_untouched_record_is_sound_against_the_lines_own_anchors(
    line_record: LineRecord, copy: Path
) -> None:
    code, said = verify(line_record, copy)
    assert code == 0, said
    assert "anchor" in said, said


def test_a_a_tail_cut_with_its_chain_head_is_named(line_record: LineRecord, copy: Path) -> None:
    last, before = line_record.keys[-1], line_record.keys[-2]
    seq_last, _ = row(copy, last)
    seq, row_hash = row(copy, before)
    shell(copy, f"DELETE FROM calls WHERE key = '{last}'",
          f"UPDATE chain_heads SET seq = {seq}, row_hash = '{row_hash}' "
          "WHERE chain = 'hotline'")
    code, said = verify(line_record, copy)
    assert code == 1, said
    assert f"chain hotline ends at seq {seq} but anchor hotline:{seq_last}:" in said, said
    assert "records cut off at the end" in said, said


def test_b_a_rewrite_with_recomputed_hashes_is_named(line_record: LineRecord,
                                                      copy: Path) -> None:
    shell(copy, "SELECT 1")  # the triggers go first
    target = line_record.keys[1]
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with Session(engine) as s, s.begin():
            prev = GENESIS
            for call in s.scalars(select(CallRow).where(CallRow.chain == "hotline")
                                  .order_by(CallRow.seq)):
                if call.key == target:
                    call.satisfaction = 3 if call.satisfaction != 3 else 1
                call.prev_hash = prev
                call.row_hash = prev = link_hash(prev, "calls", row_content(call))
            s.execute(update(ChainHeadRow).where(ChainHeadRow.chain == "hotline")
                      .values(row_hash=prev))
    finally:
        engine.dispose()
    code, said = verify(line_record, copy)
    assert code == 1, said
    assert "differs from anchor hotline:" in said, said


FORGED_KEY = "forged0000000000000000000000001"


def test_d_a_forged_open_row_is_not_laundered_by_the_next_start(
    line_record: LineRecord, copy: Path, tmp_path: Path
) -> None:
    shell(copy,
          "INSERT INTO calls (key, line, ring_at, ring_hour, caller_number, answered_at, "
          f"answered_by, satisfaction, category) VALUES ('{FORGED_KEY}', 'hotline', "
          "'2026-03-01 08:00:00.000000', 8, '13900000000', '2026-03-01 08:00:05.000000', "
          "'9999', 3, 'repair')")
    # The line starts on the doctored file (its own config and anchor key, the copy as its
    # record): start-up recovery must not seal the forged row into the chain.
    text = line_record.config.read_text(encoding="utf-8")
    default = f'url = "sqlite:///{line_record.db}"'
    assert default in text
    config = line_record.config.parent / "console-copy.toml"
    config.write_text(text.replace(default, f'url = "sqlite:///{copy}"'), encoding="utf-8")
    with running_console(config, MONDAY_10) as console:  # started: registered, recovered
        alarms = [a.detail for a in console.headless.store.audit_log()
                  if a.action == "alarm:unbound_open_call"]
    assert len(alarms) == 1 and FORGED_KEY in alarms[0], alarms  # refused, loudly
    with sqlite3.connect(copy) as conn:
        (sealed,) = conn.execute("SELECT sealed_at FROM calls WHERE key = ?",
                                 (FORGED_KEY,)).fetchone()
    assert sealed is None
    code, said = verify(line_record, copy)
    assert code == 1, said
    assert f"calls key={FORGED_KEY} (line hotline, open)" in said, said
    assert "not made by a writer of ours" in said, said
