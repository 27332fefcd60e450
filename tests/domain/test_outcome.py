"""The call's end and its outcome in the record; the labels and prompt names defined once."""

from __future__ import annotations

import pytest

from console.domain.labels import (
    CATEGORIES,
    NO_RATING,
    SATISFACTION_LABELS,
    Category,
    Satisfaction,
)
from console.domain.outcome import (
    OUTCOME_RULES,
    CallEnd,
    CallOutcome,
    classify,
    describe_outcomes,
    forward_reached,
)
from console.domain.prompt_names import PROMPT_NAMES, PromptName

E, Out = CallEnd, CallOutcome


@pytest.mark.parametrize(
    ("end", "answered", "forwarded", "outcome"),
    [
        (E.REMOTE_BYE, True, False, Out.ANSWERED),
        (E.LOCAL_HANGUP, True, False, Out.ANSWERED),
        (E.TRANSFERRED, True, False, Out.FORWARDED),
        (E.REDIRECTED, False, False, Out.FORWARDED),
        (E.REMOTE_BYE, True, True, Out.FORWARDED),  # REFER taken, then the caller's BYE
        (E.SHUTDOWN, True, False, Out.INTERRUPTED),
        (E.SHUTDOWN, False, False, Out.INTERRUPTED),
        (E.SHUTDOWN, True, True, Out.FORWARDED),  # forwarded before the stop: forwarded
        (E.ABANDONED, False, False, Out.ABANDONED),
        (E.CANCELLED, False, False, Out.ABANDONED),
        (E.CANCELLED, True, False, Out.ANSWERED),  # CANCEL crossed our answer: it was answered
        (E.REFUSED, False, False, Out.MISSED),
        (E.ERROR, False, False, Out.MISSED),
        (E.ERROR, True, False, Out.ANSWERED),
        (E.UNKNOWN, False, False, Out.MISSED),
        (E.NO_ACK, False, False, Out.MISSED),
    ],
)
def test_classify(end: CallEnd, answered: bool, forwarded: bool, outcome: CallOutcome) -> None:
    assert classify(end, answered=answered, forwarded=forwarded) is outcome


@pytest.mark.parametrize(
    ("reason", "end"),
    [
        ("remote_bye", E.REMOTE_BYE),
        ("abandoned", E.ABANDONED),
        ("error: play in ended", E.ERROR),
        ("error", E.ERROR),
        ("caller_hangup", E.REMOTE_BYE),
        ("something new", E.UNKNOWN),
        ("", E.UNKNOWN),
    ],
)
def test_reasons_parse(reason: str, end: CallEnd) -> None:
    assert CallEnd.parse(reason) is end
    assert classify(reason, answered=False) is classify(end, answered=False)


def test_a_cancel_before_answer_is_abandoned() -> None:
    assert E.CANCELLED.for_call(answered=False) is E.ABANDONED
    assert E.CANCELLED.for_call(answered=True) is E.CANCELLED
    assert E.REMOTE_BYE.for_call(answered=False) is E.REMOTE_BYE


@pytest.mark.parametrize(
    ("result", "reached"),
    [("success", True), ("redirected", True), ("failure", False), ("timeout", False),
     ("skipped: gate post failed its last OPTIONS probe", False), ("error: boom", False)],
)
def test_forward_reached(result: str, reached: bool) -> None:
    assert forward_reached(result) is reached


def test_outcome_rules_print_in_order() -> None:
    text = describe_outcomes()
    assert text.splitlines()[1].split()[0] == OUTCOME_RULES[0].outcome.name == "FORWARDED"
    assert text.splitlines()[-1].split()[0] == "MISSED"


def test_labels_are_defined_once_from_the_enums() -> None:
    assert CATEGORIES == {c.value: c.zh for c in Category}
    assert CATEGORIES["repair"] == "报修" and next(iter(CATEGORIES)) == "consultation"
    assert SATISFACTION_LABELS == {1: "满意", 2: "一般", 3: "不满意", None: NO_RATING[0]}
    assert [s.score for s in Satisfaction] == [1, 2, 3]


def test_prompt_names_are_the_enum() -> None:
    assert PROMPT_NAMES == tuple(p.value for p in PromptName)
    assert PromptName.SURVEY_RETRY == "survey_retry" and "hold" in PROMPT_NAMES
