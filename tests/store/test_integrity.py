"""Tamper trials: each kind of change to the stored record is found and named by `verify`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from console.store import Anchor, CallOutcome, DutyRecord, InvalidFact
from tests.store.helpers import raw

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fill(store: DutyRecord, n: int = 6) -> list[str]:
    keys = []
    for i in range(n):
        at = T0 + timedelta(minutes=10 * i)
        key = store.open_call("hotline", at, caller_number=f"1380000000{i}")
        store.update_open_call(key, answered_at=at + timedelta(seconds=5), answered_by="1024")
        store.seal_call(
            key,
            CallOutcome.ANSWERED,
            ended_at=at + timedelta(seconds=65),
            category="consultation",
            content=f"问题 {i}",
            satisfaction=1,
        )
        keys.append(key)
    store.amend(keys[1], "notes", "补充", who="2001", why="missing note")
    return keys


def seq_of(store: DutyRecord, key: str) -> int:
    seq = store.get_call(key).seq
    assert seq is not None
    return seq


def test_untouched_record_verifies(store: DutyRecord) -> None:
    fill(store)
    report = store.verify()
    assert report.ok and report.chains == {"hotline": 7}


Tamper = Callable[[DutyRecord, list[str]], None]


def _change_byte(store: DutyRecord, keys: list[str]) -> None:
    raw(store, f"UPDATE calls SET content = '问题 9' WHERE key = '{keys[3]}'", bypass_triggers=True)


def _change_time(store: DutyRecord, keys: list[str]) -> None:
    raw(store, f"UPDATE calls SET satisfaction = 3 WHERE key = '{keys[2]}'", bypass_triggers=True)


def _delete_row(store: DutyRecord, keys: list[str]) -> None:
    raw(store, f"DELETE FROM calls WHERE key = '{keys[4]}'", bypass_triggers=True)


def _reorder(store: DutyRecord, keys: list[str]) -> None:
    a, b = seq_of(store, keys[3]), seq_of(store, keys[4])
    raw(
        store,
        f"UPDATE calls SET seq = -1 WHERE key = '{keys[3]}'",
        f"UPDATE calls SET seq = {a} WHERE key = '{keys[4]}'",
        f"UPDATE calls SET seq = {b} WHERE key = '{keys[3]}'",
        bypass_triggers=True,
    )


def _forge_insert(store: DutyRecord, keys: list[str]) -> None:
    # A forged call copied from a real one, squeezed in with a fresh seq at the end.
    cols = "line, ring_at, ring_hour, caller_number, outcome, sealed_at, chain, prev_hash, row_hash"
    raw(
        store,
        f"INSERT INTO calls (key, seq, {cols}) SELECT 'forged', seq + 100, {cols} "
        f"FROM calls WHERE key = '{keys[2]}'",
        bypass_triggers=True,
    )


def _forge_unchained(store: DutyRecord, keys: list[str]) -> None:
    raw(
        store,
        "INSERT INTO amendments (key, call_key, field, old_value, new_value, who, why, at) "
        f"SELECT 'forged', key, 'notes', NULL, 'x', '2001', 'y', sealed_at FROM calls "
        f"WHERE key = '{keys[0]}'",
        bypass_triggers=True,
    )


def _change_amendment(store: DutyRecord, keys: list[str]) -> None:
    raw(store, "UPDATE amendments SET who = '9999'", bypass_triggers=True)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_change_byte, "content does not match"),
        (_change_time, "content does not match"),
        (_delete_row, "missing"),
        (_reorder, "link"),
        (_forge_insert, "missing"),
        (_forge_unchained, "outside any chain"),
        (_change_amendment, "amendments"),
    ],
    ids=["byte", "field", "delete", "reorder", "forged-insert", "forged-unchained", "amendment"],
)
def test_each_tamper_is_detected_and_named(
    store: DutyRecord, tamper: Tamper, expected: str
) -> None:
    keys = fill(store)
    assert store.verify().ok
    tamper(store, keys)
    report = store.verify()
    assert not report.ok
    assert report.problem is not None and expected in report.problem


def test_changed_byte_names_the_record(store: DutyRecord) -> None:
    keys = fill(store)
    _change_byte(store, keys)
    problem = store.verify().problem or ""
    assert f"calls key={keys[3]} seq={seq_of(store, keys[3])}" in problem


def test_cut_tail_is_seen_against_an_anchor(store: DutyRecord) -> None:
    keys = fill(store)
    printed = store.chain_heads()  # e.g. on the handover sheet
    assert [a.chain for a in printed] == ["hotline"]
    # Cut off the last link (the amendment) and roll the head back consistently: the
    # chain alone still looks sound, the printed anchor does not.
    last_call = store.get_call(keys[5])
    raw(store, "DELETE FROM amendments", bypass_triggers=True)
    raw(
        store,
        f"UPDATE chain_heads SET seq = {last_call.seq}, row_hash = '{last_call.row_hash}'",
    )
    assert store.verify().ok  # no anchor: a chain can't see it
    report = store.verify(anchors=[Anchor.parse(printed[0].text())])
    assert not report.ok and "cut off" in (report.problem or "")


def test_stored_anchors_catch_a_cut_tail(store: DutyRecord) -> None:
    keys = fill(store)
    store.record_anchors("sign-off")
    raw(store, f"DELETE FROM calls WHERE key = '{keys[5]}'", bypass_triggers=True)
    assert not store.verify().ok


def test_rewrite_with_recomputed_hashes_fails_the_hmac(db_url: str, tmp_path: object) -> None:
    key = b"supervisor-secret"
    store = DutyRecord(db_url, tz=UTC, hmac_key=key)
    fill(store)
    store.record_anchors("sign-off")
    assert store.verify().ok
    # The forger rewrites the anchors table without the key.
    raw(
        store,
        "UPDATE anchors SET mac = "
        "CASE WHEN substr(mac, 1, 1) = '0' THEN '1' ELSE '0' END || substr(mac, 2)",
        bypass_triggers=True,
    )
    report = store.verify()
    assert not report.ok and "HMAC" in (report.problem or "")
    store.close()


@pytest.mark.parametrize("text_", ["", "hotline:1", "hotline:x:" + "0" * 64, "a:1:abc"])
def test_bad_anchor_text_is_refused(text_: str) -> None:
    with pytest.raises(InvalidFact, match="not an anchor"):
        Anchor.parse(text_)


def test_admin_chain_covers_handovers_and_audit(store: DutyRecord) -> None:
    from console.store import AgentRole

    store.create_agent("1024", "李四", AgentRole.AGENT, "secret-1")
    store.create_agent("1025", "王五", AgentRole.AGENT, "secret-2")
    fill(store, 2)
    handover = store.write_handover("1024", "平安", "回访 3 户")
    store.accept_handover(handover.key, "1025")
    store.audit("export", "1025", "march.xlsx")
    assert store.verify().chains["~admin"] == 3
    raw(store, "UPDATE handovers SET notes = '有事'", bypass_triggers=True)
    assert "handovers" in (store.verify().problem or "")
