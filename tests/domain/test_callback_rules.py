"""The callback rule (回访, duty rules §2): which calls may be placed, and when a follow-up
closes. Table-driven: every rule of `CALLBACK_RULES` refuses one request and names why.

Bad inputs tried: the headless line, nobody logged in, a closed follow-up, another agent's
follow-up, no call behind it, a withheld number, numbers that are no numbers (a name, a URI
with a host of its own, a cut mark, a header break), an unregistered line, a busy seat.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.domain.callback import (
    CALLBACK_RULES,
    CallbackRefused,
    CallbackRequest,
    callback_outcome,
    check_callback,
    describe_callback_rules,
    follow_up_closes,
    hand_close_refusal,
)
from console.domain.outcome import CALLBACK_OUTCOMES, CallOutcome

OK = CallbackRequest(
    attended=True, agent_id="1024", supervisor=False, follow_up_status="open",
    follow_up_owner="1024", has_call=True, number="13800138000", line_status="registered",
    busy=False,
)


def test_an_allowed_callback_dials_the_number_of_the_follow_ups_call() -> None:
    assert check_callback(OK) == "13800138000"
    assert check_callback(replace(OK, number="+8613800138000")) == "+8613800138000"
    # a supervisor may call back another agent's follow-up
    assert check_callback(replace(OK, agent_id="9001", supervisor=True)) == "13800138000"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"attended": False}, "the headless line never dials"),
        ({"agent_id": None}, "log in first"),
        ({"follow_up_status": "done"}, "the follow-up is done already"),
        ({"follow_up_status": "cancelled"}, "the follow-up is cancelled already"),
        ({"agent_id": "2048"}, "belongs to 1024"),
        ({"has_call": False, "number": None}, "not filed from a call"),
        ({"number": None}, "recorded no caller number"),
        ({"number": ""}, "recorded no caller number"),
        ({"number": "anonymous"}, "'anonymous' is not a number the line can dial"),
        ({"number": "300@evil.example"}, "is not a number the line can dial"),
        ({"number": "300>;x=<sip:1@h"}, "is not a number the line can dial"),
        ({"number": "1380…[cut 115→64]"}, "is not a number the line can dial"),
        ({"number": "300\r\nVia: x"}, "is not a number the line can dial"),
        ({"number": "1"}, "is not a number the line can dial"),
        ({"line_status": "failed"}, "the line is not registered (failed)"),
        ({"line_status": "stopped"}, "the line is not registered (stopped)"),
        ({"busy": True}, "a call is up on this seat"),
    ],
)
def test_every_refusal_is_one_line_that_says_why(change: dict[str, object], words: str) -> None:
    with pytest.raises(CallbackRefused) as refused:
        check_callback(replace(OK, **change))  # type: ignore[arg-type]
    message = str(refused.value)
    assert words in message and "\n" not in message
    assert refused.value.title == "Callback"


def test_the_headless_line_is_refused_first_whatever_else_holds() -> None:
    worst = replace(OK, attended=False, agent_id=None, number="x", line_status="failed")
    with pytest.raises(CallbackRefused, match="headless line never dials"):
        check_callback(worst)


@pytest.mark.parametrize(
    ("answered", "code", "outcome"),
    [
        (True, 200, CallOutcome.REACHED),
        (False, 486, CallOutcome.BUSY),
        (False, 600, CallOutcome.BUSY),
        (False, 603, CallOutcome.BUSY),
        (False, 480, CallOutcome.NO_ANSWER),
        (False, 408, CallOutcome.NO_ANSWER),
        (False, 487, CallOutcome.NO_ANSWER),  # our CANCEL after the ring time
        (False, 404, CallOutcome.FAILED),  # the PBX knows no such number
        (False, 403, CallOutcome.FAILED),
        (False, 503, CallOutcome.FAILED),
        (False, 0, CallOutcome.FAILED),  # no final answer at all
    ],
)
def test_the_final_answer_gives_the_outcome(answered: bool, code: int,
                                            outcome: CallOutcome) -> None:
    assert callback_outcome(answered, code) is outcome
    assert outcome in CALLBACK_OUTCOMES and not outcome.counts_as_caller


def test_only_a_callback_that_reached_the_caller_closes_the_follow_up() -> None:
    assert follow_up_closes(CallOutcome.REACHED)
    for outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED):
        assert not follow_up_closes(outcome)


def test_closing_by_hand_is_for_supervisors_once_there_is_a_number_to_call() -> None:
    assert hand_close_refusal(supervisor=True, callable_number=True) is None
    assert hand_close_refusal(supervisor=False, callable_number=False) is None
    refusal = hand_close_refusal(supervisor=False, callable_number=True)
    assert refusal is not None and "callback reaches the caller" in refusal


def test_the_rules_print_in_order() -> None:
    text = describe_callback_rules()
    assert text.splitlines()[1].startswith("  - if the headless line")
    assert len([line for line in text.splitlines() if line.startswith("  - if")]) == len(
        CALLBACK_RULES
    )
