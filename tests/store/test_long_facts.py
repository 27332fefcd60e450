"""Over-long facts are cut with a mark and kept, never refused (issue 10, point 8): an INVITE
whose caller number is 115 characters long is still a call; facts wrong in kind still raise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.store import CallOutcome, DutyRecord, InvalidFact
from console.store.facts import coerce_fact, cut_mark

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LONG_NUMBER = "sip:" + "1" * 96 + "@10.0.0.99:5060"  # 115 characters, as seen on the wire


def test_a_115_character_caller_number_is_recorded_cut_with_a_mark(store: DutyRecord) -> None:
    assert len(LONG_NUMBER) == 115
    key = store.open_call("hotline", T0, caller_number=LONG_NUMBER, sip_call_id="x" * 300)
    store.seal_call(key, CallOutcome.MISSED)
    call = store.get_call(key)
    assert call.caller_number is not None and len(call.caller_number) == 64
    assert call.caller_number.endswith("…[cut 115→64]")
    assert LONG_NUMBER.startswith(call.caller_number.removesuffix("…[cut 115→64]"))
    assert call.sip_call_id is not None and call.sip_call_id.endswith("…[cut 300→255]")
    assert len(call.sip_call_id) == 255
    assert store.verify().ok


def test_long_facts_on_update_seal_and_amend_are_cut(store: DutyRecord) -> None:
    key = store.open_call("hotline", T0)
    store.update_open_call(key, caller_name="名" * 300, answered_by="9" * 80)
    store.seal_call(key, CallOutcome.ANSWERED, forward_result="r" * 70)
    call = store.get_call(key)
    assert call.caller_name == "名" * (255 - len(cut_mark(300, 255))) + cut_mark(300, 255)
    assert call.answered_by is not None and call.answered_by.endswith("…[cut 80→64]")
    assert call.forward_result is not None and call.forward_result.endswith("…[cut 70→64]")
    store.amend(key, "contact", "c" * 256, who="2001", why="long contact")
    assert store.get_call(key).contact == "c" * (255 - 14) + "…[cut 256→255]"


def test_text_that_fits_is_kept_as_it_is() -> None:
    assert coerce_fact("caller_number", "1" * 64) == "1" * 64
    assert coerce_fact("content", "长" * 10_000) == "长" * 10_000  # a Text column: no limit


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("caller_number", "1\x00" * 60, "NUL"),
        ("caller_number", 13800001111, "needs text"),
        ("category", "x" * 100, "unknown"),
        ("answered_at", "x" * 100, "not an ISO date"),
        ("rings", "9" * 100, "between 0 and 1000"),
        ("colour", "x" * 100, "not a call fact"),
    ],
)
def test_facts_wrong_in_kind_still_raise(name: str, value: object, message: str) -> None:
    with pytest.raises(InvalidFact, match=message):
        coerce_fact(name, value)
