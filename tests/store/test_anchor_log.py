"""Tamper evidence without a person (issue 10, point 5): the anchor log outside the database.

Each tamper class of the issue passed `duty-console verify` before: (a) the tail of a chain
cut together with `chain_heads`, (b) a record rewritten with its hashes recomputed by our own
chain code, (c) the `anchors` rows deleted (the supervisor's HMAC key in hand), (d) a row
INSERTed as an open call and sealed by the next start as *interrupted*; and (e) a checkpoint
replaced by one with a recomputed hash covering young calls. Each runs here on a real SQLite
file through the real `duty-console verify` and asserts the exact finding and exit status.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from console.cli import main
from console.store import CallOutcome, DutyRecord, InvalidFact
from console.store.anchor_log import (
    Anchoring,
    AnchorLog,
    AnchorLogError,
    LogEntry,
    load_key,
    open_anchor_log,
)
from console.store.archive import archive
from console.store.chain import link_hash, row_content
from console.store.models import CHECKPOINT_CHAIN, CallRow, ChainHeadRow, CheckpointRow
from console.store.values import GENESIS
from tests.store.conftest import Clock
from tests.store.helpers import raw

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Anchored:
    """A SQLite record kept by a line that anchors: its files and its anchoring."""

    db: str
    store: DutyRecord
    log: Path
    key_file: Path
    anchoring: Anchoring
    clock: Clock

    def calls(self, n: int, start: datetime = T0) -> list[str]:
        keys = []
        for i in range(n):
            at = start + timedelta(minutes=10 * i)
            self.clock.now = at + timedelta(minutes=2)
            key = self.store.open_call("hotline", at, caller_number=f"1380000{i:04d}")
            self.store.update_open_call(key, answered_at=at + timedelta(seconds=4),
                                        answered_by="1024")
            self.store.seal_call(key, CallOutcome.ANSWERED, satisfaction=3)
            keys.append(key)
        return keys

    def entries(self) -> list[LogEntry]:
        return AnchorLog(self.log, load_key(self.key_file)).read().entries

    def verify(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
        """`duty-console verify` on the file; (exit status, the stderr lines)."""
        code = main(["verify", "--db", self.db, "--tz", "UTC", "--anchor-log", str(self.log),
                     "--anchor-key-file", str(self.key_file), *extra])
        return code, capsys.readouterr().err.splitlines()


@pytest.fixture
def anchored(tmp_path: Path) -> Iterator[Anchored]:
    db = str(tmp_path / "duty.db")
    clock = Clock(T0)
    log, key_file = tmp_path / "state" / "anchors.log", tmp_path / "state" / "anchor.key"
    key, anchor_log = open_anchor_log(log, key_file)
    assert anchor_log is not None
    store = DutyRecord(db, tz=UTC, clock=clock, hmac_key=b"supervisor-secret-key")
    store.anchor_key = key
    anchoring = Anchoring(store.engine, anchor_log, 60.0, clock)
    yield Anchored(db, store, log, key_file, anchoring, clock)
    store.close()


def head(store: DutyRecord, chain: str) -> tuple[int, str]:
    with Session(store.engine) as s:
        row = s.get(ChainHeadRow, chain)
        assert row is not None
        return row.seq, row.row_hash


def call_row(store: DutyRecord, key: str) -> tuple[int, str]:
    with Session(store.engine) as s:
        row = s.scalars(select(CallRow).where(CallRow.key == key)).one()
        assert row.seq is not None and row.row_hash is not None
        return row.seq, row.row_hash


# ----------------------------------------------------------------- the tamper classes


def test_a_cut_tail_with_its_chain_head_is_named(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = anchored.calls(3)
    entry = anchored.anchoring.anchor("schedule")
    assert entry is not None
    seq3, hash3 = call_row(anchored.store, keys[2])
    seq2, hash2 = call_row(anchored.store, keys[1])
    assert anchored.verify(capsys) == (0, [])
    raw(anchored.store, f"DELETE FROM calls WHERE key = '{keys[2]}'",
        f"UPDATE chain_heads SET seq = {seq2}, row_hash = '{hash2}' WHERE chain = 'hotline'",
        bypass_triggers=True)
    assert anchored.store.verify().ok  # the chain alone can't see it
    assert anchored.verify(capsys) == (1, [
        f"Record tampered: chain hotline ends at seq {seq2} but anchor hotline:{seq3}:{hash3} "
        f"(anchor log entry {entry.n}, {entry.at}) was recorded: records cut off at the end"
    ])


def test_b_a_rewrite_with_recomputed_hashes_is_named(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = anchored.calls(3)
    entry = anchored.anchoring.anchor("schedule")
    assert entry is not None
    seq3, hash3 = call_row(anchored.store, keys[2])
    raw(anchored.store, "SELECT 1", bypass_triggers=True)  # the insider drops the triggers
    # ... and rewrites call 2 with our own chain code, relinking everything after it.
    with Session(anchored.store.engine) as s, s.begin():
        rows = s.scalars(select(CallRow).where(CallRow.chain == "hotline").order_by(CallRow.seq))
        prev = GENESIS
        for row in rows:
            if row.key == keys[1]:
                row.satisfaction = 1
            row.prev_hash = prev
            row.row_hash = prev = link_hash(prev, "calls", row_content(row))
        s.execute(update(ChainHeadRow).where(ChainHeadRow.chain == "hotline")
                  .values(row_hash=prev))
    assert anchored.store.verify().ok  # consistent: the chain alone can't see it
    assert anchored.verify(capsys) == (1, [
        f"Record tampered: calls key={keys[2]} seq={seq3} (chain hotline): differs from "
        f"anchor hotline:{seq3}:{hash3} (anchor log entry {entry.n}, {entry.at})"
    ])


def test_c_deleted_anchors_rows_are_named_even_with_the_hmac_key(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(2)
    signed = anchored.store.record_anchors("sign-off")  # the supervisor's anchors, MAC'd
    entry = anchored.anchoring.anchor("schedule")
    assert entry is not None and entry.anchors == len(signed) >= 1
    supervisor = tmp_path / "supervisor.key"
    supervisor.write_bytes(b"supervisor-secret-key\n")
    assert anchored.verify(capsys, "--hmac-key-file", str(supervisor)) == (0, [])
    raw(anchored.store, "DELETE FROM anchors", bypass_triggers=True)
    assert anchored.store.verify().ok
    assert anchored.verify(capsys, "--hmac-key-file", str(supervisor)) == (1, [
        f"Record tampered: missing anchors: the record holds 0 anchors rows, but anchor log "
        f"entry {entry.n} ({entry.at}) counted {len(signed)} — anchors rows deleted"
    ])


FORGED = (
    "INSERT INTO calls (key, line, ring_at, ring_hour, caller_number, answered_at, "
    "answered_by, satisfaction, category{mac_col}) VALUES ('forged0000000000000000000000001', "
    "'hotline', '2026-03-01 08:00:00.000000', 8, '13900000000', '2026-03-01 08:00:05.000000', "
    "'9999', 3, 'repair'{mac_val})"
)
FORGED_KEY = "forged0000000000000000000000001"


@pytest.mark.parametrize(
    ("mac", "finding"),
    [
        (None, "open without a binding — not made by a writer of ours (INSERTed by hand?); "
               "start-up will not seal it"),
        ("0" * 64, "its open binding does not match — not made by a writer of ours (forged, "
                   "or its caller or ring time changed)"),
    ],
)
def test_d_a_forged_open_row_is_not_sealed_and_is_named(
    anchored: Anchored, capsys: pytest.CaptureFixture[str], mac: str | None, finding: str
) -> None:
    anchored.calls(2)
    anchored.anchoring.anchor("schedule")
    raw(anchored.store, FORGED.format(mac_col=", open_mac" if mac else "",
                                      mac_val=f", '{mac}'" if mac else ""))
    # The next start: the forged row is refused, loudly; the line's own open call is sealed.
    own = anchored.store.open_call("hotline", T0 + timedelta(hours=2))
    assert anchored.store.seal_interrupted_on_start() == [own]
    alarms = [a for a in anchored.store.audit_log() if a.action == "alarm:unbound_open_call"]
    assert len(alarms) == 1 and FORGED_KEY in alarms[0].detail
    assert anchored.store.get_call(FORGED_KEY).sealed_at is None
    assert anchored.verify(capsys) == (1, [
        f"Record tampered: calls key={FORGED_KEY} (line hotline, open): {finding}"
    ])


def test_d_a_forged_row_sealed_by_a_writer_without_the_key_is_named(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(2)
    anchored.anchoring.anchor("schedule")
    raw(anchored.store, FORGED.format(mac_col="", mac_val=""))
    old = DutyRecord(anchored.db, tz=UTC)  # a start by a version (or tool) without the key
    assert old.seal_interrupted_on_start() == [FORGED_KEY]
    old.close()
    seq, _ = call_row(anchored.store, FORGED_KEY)
    assert anchored.store.verify().ok  # laundered into the chain
    assert anchored.verify(capsys) == (1, [
        f"Record tampered: calls key={FORGED_KEY} (line hotline, sealed interrupted, seq {seq}): "
        "no open binding, though the line bound its calls by then — not made by a writer of "
        "ours (a forged row sealed as a call)"
    ])


def years_ago(years: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=round(365.25 * years))


def test_e_a_checkpoint_replaced_with_a_recomputed_hash_is_named(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(4, start=years_ago(5))
    young = anchored.calls(2, start=years_ago(1))
    anchored.clock.now = datetime.now(UTC)
    (tmp_path / "archive").mkdir()
    archive(anchored.store, tmp_path / "archive", who="2001")
    entry = anchored.anchoring.anchor("schedule")
    assert entry is not None and CHECKPOINT_CHAIN in entry.heads
    cp_seq, cp_hash = entry.heads[CHECKPOINT_CHAIN]
    assert anchored.verify(capsys) == (0, [])
    # The insider replaces the checkpoint with one that also covers a young call (its hash
    # recomputed with our chain code) and deletes that call: the chains alone stay sound.
    seq5, hash5 = call_row(anchored.store, young[0])
    raw(anchored.store, "SELECT 1", bypass_triggers=True)
    with Session(anchored.store.engine) as s, s.begin():
        point = s.scalars(select(CheckpointRow)).one()
        point.upto_seq, point.upto_hash, point.rows = seq5, hash5, point.rows + 1
        point.row_hash = link_hash(GENESIS, "checkpoints", row_content(point))
        s.execute(update(ChainHeadRow).where(ChainHeadRow.chain == CHECKPOINT_CHAIN)
                  .values(row_hash=point.row_hash))
        s.execute(delete(CallRow).where(CallRow.key == young[0]))
    assert anchored.store.verify().ok
    code, err = anchored.verify(capsys)
    assert (code, len(err)) == (1, 1)
    assert err[0] == (
        "Record tampered: checkpoint not made by the archive (forged or altered?): checkpoints "
        f"key=hotline..{seq5} seq={cp_seq} (chain {CHECKPOINT_CHAIN}): differs from anchor "
        f"{CHECKPOINT_CHAIN}:{cp_seq}:{cp_hash} (anchor log entry {entry.n}, {entry.at}); "
        f"and under it: calls key={young[1]} seq={seq5 + 1} (chain hotline): expected seq 1 — "
        f"record(s) missing (seq 1–{seq5})"
    )


# ----------------------------------------------------------------- the log itself


def test_the_log_is_a_chain_an_edited_or_cut_log_is_named(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(1)
    anchored.anchoring.anchor("start")
    anchored.calls(1, start=T0 + timedelta(hours=1))
    anchored.anchoring.anchor("schedule")
    anchored.calls(1, start=T0 + timedelta(hours=2))
    third = anchored.anchoring.anchor("shutdown")
    assert third is not None and [e.n for e in anchored.entries()] == [1, 2, 3]
    assert anchored.verify(capsys) == (0, [])
    lines = anchored.log.read_text().splitlines(keepends=True)
    log = anchored.log
    # An entry edited (its seq moved back): the MAC fails.
    edited = json.loads(lines[1])
    edited["heads"]["hotline"][0] -= 1
    log.write_text(lines[0] + json.dumps(edited) + "\n" + lines[2])
    assert anchored.verify(capsys) == (1, [
        f"Record tampered: missing anchors: anchor log {log} line 2 (entry 2): MAC does not "
        "match — edited or forged (or written under another key)",
        f"Record tampered: missing anchors: anchor log {log} line 3: entry 3 where entry 2 was "
        "due — entries removed",
    ])
    # A line that is no entry at all.
    log.write_text(lines[0] + "{not json\n" + lines[2])
    code, err = anchored.verify(capsys)
    assert code == 1 and err[0] == (
        f"Record tampered: missing anchors: anchor log {log} line 2 is not JSON — edited"
    )
    # The last entry cut off: the record holds its mark.
    log.write_text("".join(lines[:2]))
    code, err = anchored.verify(capsys)
    assert code == 1 and err == [
        f"Record tampered: missing anchors: anchor log {log} ends at entry 2, but the record "
        f"holds the mark of entry 3 (written {anchored.clock.now:%Y-%m-%d %H:%M:%S}) — the log "
        "was cut or replaced"
    ]
    # The whole log gone.
    log.unlink()
    code, err = anchored.verify(capsys)
    assert code == 1 and err == [
        f"Record tampered: missing anchors: there is no anchor log at {log}, but 3 of its "
        "entries left their mark in the record — the log was removed or moved (restore it, or "
        "give --anchor-log)"
    ]
    # A new key and log (someone starting over): the marks' MACs differ.
    anchored.key_file.unlink()
    key, fresh = open_anchor_log(log, anchored.key_file)
    assert fresh is not None
    anchored.store.anchor_key = key
    for why in ("start", "schedule", "shutdown"):
        Anchoring(anchored.store.engine, fresh, 60.0, anchored.clock).anchor(why)
    code, err = anchored.verify(capsys)
    assert code == 1 and err[0] == (
        f"Record tampered: missing anchors: anchor log {log} entry 1 is not the entry the record "
        "saw (3 such) — the log was replaced"
    )
    # ... and the calls bound under the old key no longer hold under the new one.
    assert len(err) == 4 and all("its open binding does not match" in e for e in err[1:])


def test_records_from_before_the_bindings_still_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "duty.db")
    clock = Clock(T0)
    old = DutyRecord(db, tz=UTC, clock=clock)  # no key: calls as every version before wrote
    key_a = old.open_call("hotline", T0)
    old.seal_call(key_a, CallOutcome.MISSED)
    left_open = old.open_call("hotline", T0 + timedelta(minutes=1))
    old.close()
    # No anchor log yet, no sign of one in the record: a note, not a finding.
    log, key_file = tmp_path / "anchors.log", tmp_path / "anchor.key"
    assert main(["verify", "--db", db, "--tz", "UTC", "--anchor-log", str(log)]) == 0
    out = capsys.readouterr().out
    assert f"note: anchor log: none at {log} yet (this record shows no sign of one" in out
    assert not log.exists() and not key_file.exists()  # verify creates nothing
    key, anchor_log = open_anchor_log(log, key_file)
    assert anchor_log is not None
    new = DutyRecord(db, tz=UTC, clock=clock)
    new.anchor_key = key
    # The call a crash left open before the upgrade has no binding: left open, named.
    assert new.seal_interrupted_on_start() == []
    bound = new.open_call("hotline", T0 + timedelta(hours=1), caller_number="13800000001")
    new.seal_call(bound, CallOutcome.ANSWERED)
    Anchoring(new.engine, anchor_log, 60.0, clock).anchor("start")
    code = main(["verify", "--db", db, "--tz", "UTC", "--anchor-log", str(log)])
    err = capsys.readouterr().err.splitlines()
    assert (code, err) == (1, [
        f"Record tampered: calls key={left_open} (line hotline, open): open without a binding "
        "— not made by a writer of ours (INSERTed by hand?); start-up will not seal it"
    ])
    new.close()


# ----------------------------------------------------------------- bad inputs


def test_verify_without_the_key_of_an_existing_log_is_exit_2_and_creates_nothing(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(1)
    anchored.anchoring.anchor("start")
    anchored.key_file.unlink()
    assert anchored.verify(capsys) == (2, [
        f"Anchor log: anchor key file {anchored.key_file} does not exist"
    ])
    assert not anchored.key_file.exists()


@pytest.mark.parametrize("kind", ["missing key", "directory key", "short key", "not a dir",
                                  "bad last line", "cut last line", "other key"])
def test_start_refuses_an_unusable_key_or_log_and_creates_nothing(
    tmp_path: Path, kind: str
) -> None:
    log, key_file = tmp_path / "anchors.log", tmp_path / "anchor.key"
    _, anchor_log = open_anchor_log(log, key_file)
    assert anchor_log is not None and key_file.stat().st_mode & 0o777 == 0o600
    db = DutyRecord(str(tmp_path / "duty.db"), tz=UTC)
    Anchoring(db.engine, anchor_log, 60.0).anchor("start")
    db.close()
    expected = {
        "missing key": f"anchor key file {key_file} is missing but anchor log {log} has entries",
        "directory key": f"anchor key file {key_file} is a directory",
        "short key": f"anchor key file {key_file} holds 5 bytes, at least 16 needed",
        "not a dir": f"cannot read anchor key file {tmp_path / 'duty.db' / 'key'}: Not a directory",
        "bad last line": f"anchor log {log}: its last line is not an entry (not JSON)",
        "cut last line": f"anchor log {log} ends in an incomplete line",
        "other key": f"anchor log {log}: its last entry (1) has a MAC that does not match",
    }[kind]
    if kind in ("missing key", "directory key"):
        key_file.unlink()
        if kind == "directory key":
            key_file.mkdir()
    elif kind == "short key":
        key_file.write_text("short\n")
    elif kind == "not a dir":  # a new log whose key can't be where it is said to be
        log, key_file = tmp_path / "new.log", tmp_path / "duty.db" / "key"
    elif kind == "bad last line":
        log.write_text(log.read_text() + "{not json\n")
    elif kind == "cut last line":
        log.write_text(log.read_text()[:-20])
    else:
        key_file.write_text("another key of enough length\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    content = log.read_bytes() if log.exists() else None
    with pytest.raises(AnchorLogError) as caught:
        open_anchor_log(log, key_file)
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (log.read_bytes() if log.exists() else None) == content


def test_on_each_backend_a_cut_tail_and_a_forged_open_row_are_named(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same checks on a real PostgreSQL (and SQLite): the log, the marks, the bindings."""
    clock = Clock(T0)
    key, anchor_log = open_anchor_log(tmp_path / "anchors.log", tmp_path / "anchor.key")
    assert anchor_log is not None
    store = DutyRecord(db_url, tz=UTC, clock=clock)
    store.anchor_key = key
    rec = Anchored(db_url, store, anchor_log.path, tmp_path / "anchor.key",
                   Anchoring(store.engine, anchor_log, 60.0, clock), clock)
    try:
        keys = rec.calls(3)
        entry = rec.anchoring.anchor("schedule")
        assert entry is not None
        assert rec.verify(capsys) == (0, [])
        seq3, hash3 = call_row(store, keys[2])
        seq2, hash2 = call_row(store, keys[1])
        raw(store, f"DELETE FROM calls WHERE key = '{keys[2]}'",
            f"UPDATE chain_heads SET seq = {seq2}, row_hash = '{hash2}' WHERE chain = 'hotline'",
            FORGED.format(mac_col="", mac_val=""), bypass_triggers=True)
        assert store.seal_interrupted_on_start() == []
        assert rec.verify(capsys) == (1, [
            f"Record tampered: chain hotline ends at seq {seq2} but anchor "
            f"hotline:{seq3}:{hash3} (anchor log entry {entry.n}, {entry.at}) was recorded: "
            "records cut off at the end",
            f"Record tampered: calls key={FORGED_KEY} (line hotline, open): open without a "
            "binding — not made by a writer of ours (INSERTed by hand?); start-up will not "
            "seal it",
        ])
    finally:
        store.close()


def test_verify_follows_the_config_and_says_what_it_did_not_check(
    anchored: Anchored, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchored.calls(1)
    config = tmp_path / "console.toml"
    argv = ["--config", str(config), "verify", "--db", anchored.db, "--tz", "UTC"]
    config.write_text('[database]\nanchor_log = ""\n', encoding="utf-8")
    assert main(argv) == 0  # the config keeps no log: a note, and the chains are checked
    out = capsys.readouterr().out
    assert "note: anchor log: none checked (no --anchor-log, and no config that keeps one)" in out
    config.write_text("[database]\nanchor_interval_seconds = -5\n", encoding="utf-8")
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"Configuration: {config}:2: database.anchor_interval_seconds = -5: "
                   "expected seconds, 0 < s ≤ 3600 (out of range)"]
    config.write_text(f'[database]\nanchor_log = "{anchored.log}"\nanchor_key_file = '
                      f'"{anchored.key_file}"\n', encoding="utf-8")
    anchored.anchoring.anchor("start")
    assert main(argv) == 0
    assert f"anchor log {anchored.log}: 1 entries" in capsys.readouterr().out


@pytest.mark.parametrize("fact", ["caller_number", "caller_display", "sip_call_id"])
def test_the_facts_a_binding_covers_are_given_at_the_open_only(
    anchored: Anchored, capsys: pytest.CaptureFixture[str], fact: str
) -> None:
    key = anchored.store.open_call("hotline", T0, caller_number="13800000000")
    with pytest.raises(InvalidFact, match=f"{fact}: given when the call is opened"):
        anchored.store.update_open_call(key, **{fact: "13900000000"})
    with pytest.raises(InvalidFact, match=f"{fact}: given when the call is opened"):
        anchored.store.seal_call(key, CallOutcome.MISSED, **{fact: "13900000000"})
    anchored.store.seal_call(key, CallOutcome.MISSED)
    code, err = anchored.verify(capsys)  # bound calls and no log yet: the log was removed
    assert code == 1 and err == [
        f"Record tampered: missing anchors: there is no anchor log at {anchored.log}, but "
        "calls in the record were opened by a line that keeps one — the log was removed or "
        "moved (restore it, or give --anchor-log)"
    ]
    anchored.anchoring.anchor("schedule")
    assert anchored.verify(capsys) == (0, [])


def test_a_log_that_cannot_be_written_is_an_alarm_and_the_line_goes_on(
    anchored: Anchored, caplog: pytest.LogCaptureFixture
) -> None:
    anchored.calls(1)
    anchor_log = AnchorLog(anchored.log, load_key(anchored.key_file))
    anchoring = Anchoring(anchored.store.engine, anchor_log, 0.05, anchored.clock)
    alarm = f"ALARM: cannot open anchor log {anchored.log}: Is a directory"
    with caplog.at_level("ERROR", logger="console.store.anchor_log"):
        anchoring.start()
        try:
            anchored.log.unlink()
            anchored.log.mkdir()  # e.g. the state directory replaced: the next append fails
            anchored.calls(1, start=T0 + timedelta(hours=1))
            deadline = time.monotonic() + 5
            while alarm not in caplog.messages and time.monotonic() < deadline:
                time.sleep(0.02)
            assert alarm in caplog.messages  # logged by the thread's tick, which goes on
            assert "anchor-log" in [t.name for t in threading.enumerate()]
        finally:
            anchoring.stop()
    assert anchoring.written == 1  # only the start's entry; nothing raised


def test_a_seat_edited_by_hand_lets_no_other_seat_seal_the_call(
    anchored: Anchored, capsys: pytest.CaptureFixture[str]
) -> None:
    """Start-up seals only its own seat's open calls; rewriting an open call's seat (to
    launder it through another seat's start-up) breaks the call's open binding."""
    anchored.calls(1)
    live = anchored.store.open_call("hotline", T0 + timedelta(hours=1), seat="seat-a")
    raw(anchored.store, f"UPDATE calls SET seat = 'seat-b' WHERE key = '{live}'")
    assert anchored.store.seal_interrupted_on_start(seat="seat-b") == []
    assert anchored.store.get_call(live).sealed_at is None
    code, lines = anchored.verify(capsys)
    assert code == 1 and any(live in line and "does not match" in line for line in lines)


def test_calls_opened_with_a_seat_are_bound_as_ours(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The open binding covers the seat (OPEN_FIELDS); verify's check read the calls back
    without it, so every call a seat took was named forged (found by the full-disk lab test)."""
    from datetime import UTC, datetime, timedelta

    from console.store import CallOutcome, DutyRecord
    from console.store.integrity import _bindings

    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=UTC)
    try:
        record.anchor_key = b"k" * 32
        t = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        for i in range(3):
            key = record.open_call("hotline", t + timedelta(seconds=13 * i),
                                   caller_number="13900000001", sip_call_id=f"{i}@127.0.0.1",
                                   seat="100@vm")
            record.seal_call(key, CallOutcome.MISSED)
        assert _bindings(record, record.anchor_key, []) == []
    finally:
        record.close()
