"""Callbacks (回访): the one kind of call the hotline places, and when a follow-up closes.

The duty line is for incoming calls (值班热线原则上只允许接听,不允许拨打, duty rules §2);
outgoing calls are allowed only as logged callbacks. A follow-up (首问负责, §3.6) is the
promise to get back to a caller, so a callback is always placed *from a follow-up*, to the
number of the call the follow-up was filed from — never to a number anybody typed.

Two rules live here, once, and the running code calls them:

- `check_callback`: which call may be placed. The rules are an ordered table
  (`CALLBACK_RULES`, printed by `python -m console.domain`); the first that refuses says why,
  in one line a seat can show.
- `follow_up_closes` / `hand_close_refusal`: a follow-up closes when a callback reached the
  caller, or when a supervisor closes it. A callback that did not reach the caller (no
  answer, busy, failed) leaves it open. A follow-up with no number to call back (filed by
  hand, not from a call) is closed by its owner as before: there is nobody to call.

`callback_outcome` turns the final answer to the callback's INVITE (a SIP status code; the
domain knows no SIP beyond the number) into the record's outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from console.domain.errors import DomainError, ErrorCode
from console.domain.outcome import CallOutcome

DIALLABLE = re.compile(r"\+?[0-9]{2,20}")
"""A number the line may dial: digits, an optional leading +, 2–20 of them. Anything else a
caller's From header may carry (a name, `anonymous`, a URI part, a cut mark) is refused."""

BUSY_CODES = frozenset({486, 600, 603})
"""Final answers that mean the callee's phone refused the call now: Busy Here, Busy
Everywhere, Decline (RFC 3261 §21.4.24, §21.6.1, §21.6.2)."""
NO_ANSWER_CODES = frozenset({408, 480, 487})
"""Final answers that mean nobody took the call: Request Timeout (no final answer in time),
Temporarily Unavailable, Request Terminated (our CANCEL after the ring time)."""


class CallbackRefused(DomainError):
    """A callback the rules do not allow now; the message is the seat's one line."""

    title = "Callback"


@dataclass(frozen=True)
class CallbackRequest:
    """What `check_callback` decides from: the seat, the follow-up and its call, the line."""

    attended: bool
    """Placed from a seat with an agent at it; False for the headless line, which never dials."""
    agent_id: str | None
    """The logged-in agent placing it (None: nobody is logged in)."""
    supervisor: bool
    """The agent is a supervisor (may call back any agent's follow-up)."""
    follow_up_status: str
    """The follow-up's status value (`open`, `done`, `cancelled`)."""
    follow_up_owner: str
    has_call: bool
    """The follow-up was filed from a call in the record (its number is that call's)."""
    number: str | None
    """The caller number the follow-up's call record holds (None: none recorded)."""
    line_status: str
    """The line's registration state value (`registered`, `failed`, …)."""
    busy: bool
    """The seat has a callback or a call up already."""


@dataclass(frozen=True)
class CallbackRule:
    """One line of the table: when `refuses` holds, the callback is refused with `why`."""

    when: str
    """The rule in words (printed)."""
    refuses: Callable[[CallbackRequest], bool]
    why: Callable[[CallbackRequest], str]


CALLBACK_RULES: tuple[CallbackRule, ...] = (
    CallbackRule(
        "the headless line is placing it (it never dials; callbacks are placed from a seat)",
        lambda r: not r.attended,
        lambda r: "the headless line never dials: callbacks are placed from a seat",
    ),
    CallbackRule(
        "nobody is logged in at the seat",
        lambda r: not r.agent_id,
        lambda r: "log in first: a callback is placed by an agent and recorded under their ID",
    ),
    CallbackRule(
        "the follow-up is closed already",
        lambda r: r.follow_up_status != "open",
        lambda r: f"the follow-up is {r.follow_up_status} already: there is nothing to call back",
    ),
    CallbackRule(
        "the agent neither owns the follow-up nor is a supervisor",
        lambda r: not r.supervisor and r.agent_id != r.follow_up_owner,
        lambda r: f"the follow-up belongs to {r.follow_up_owner} (首问负责): "
        "only its owner or a supervisor calls back",
    ),
    CallbackRule(
        "the follow-up was not filed from a call (no number to call back)",
        lambda r: not r.has_call,
        lambda r: "this follow-up was not filed from a call: there is no caller number to call",
    ),
    CallbackRule(
        "the follow-up's call recorded no caller number",
        lambda r: not r.number,
        lambda r: "the follow-up's call recorded no caller number (withheld): nothing to dial",
    ),
    CallbackRule(
        "the recorded caller number is not a diallable number",
        lambda r: DIALLABLE.fullmatch(r.number or "") is None,
        lambda r: f"the recorded caller number {r.number!r} is not a number the line can dial",
    ),
    CallbackRule(
        "the line is not registered at the PBX",
        lambda r: r.line_status != "registered",
        lambda r: f"the line is not registered ({r.line_status}): "
        "try the callback again when it is",
    ),
    CallbackRule(
        "the seat has a call or a callback up",
        lambda r: r.busy,
        lambda r: "a call is up on this seat: finish it before calling back",
    ),
)
"""The first rule that refuses decides; a request no rule refuses may be placed."""


def check_callback(request: CallbackRequest) -> str:
    """The number to dial for `request`, or `CallbackRefused` saying (in one line) why not.

    The number returned is the follow-up's call record's, exactly: there is no argument
    through which another number could come in.
    """
    for rule in CALLBACK_RULES:
        if rule.refuses(request):
            raise CallbackRefused(rule.why(request))
    assert request.number is not None  # a rule above refuses a missing number
    return request.number


def callback_outcome(answered: bool, code: int) -> CallOutcome:
    """The record's outcome of a callback: reached if answered, else by its final answer.

    `code` is the final SIP status of the INVITE (0: none came, the line gave up).
    """
    if answered:
        return CallOutcome.REACHED
    if code in BUSY_CODES:
        return CallOutcome.BUSY
    if code in NO_ANSWER_CODES:
        return CallOutcome.NO_ANSWER
    return CallOutcome.FAILED


def follow_up_closes(outcome: CallOutcome) -> bool:
    """Whether a callback with `outcome` closes its follow-up: only one that reached the caller."""
    return outcome is CallOutcome.REACHED


def hand_close_refusal(*, supervisor: bool, callable_number: bool) -> str | None:
    """Why closing a follow-up by hand is refused (None: allowed).

    A supervisor may close any follow-up. An agent may close one that has no number to call
    back (filed by hand); one filed from a call with a caller number closes only through a
    callback that reaches the caller.
    """
    if supervisor or not callable_number:
        return None
    return ("this follow-up closes when a callback reaches the caller (press c to call back), "
            "or when a supervisor closes it")


def hand_close_error(*, supervisor: bool, callable_number: bool) -> DomainError | None:
    """`hand_close_refusal` as the coded refusal the seat words in its language."""
    refusal = hand_close_refusal(supervisor=supervisor, callable_number=callable_number)
    if refusal is None:
        return None
    return DomainError(refusal, "Follow-up", code=ErrorCode.FOLLOW_UP_CALLBACK_FIRST)


def describe_callback_rules() -> str:
    """The rules as text, first one first."""
    lines = ["callback refused (first rule that holds):"]
    lines += [f"  - if {r.when}" for r in CALLBACK_RULES]
    lines += [
        "callback outcome: reached if answered; busy on "
        + ", ".join(map(str, sorted(BUSY_CODES)))
        + "; no answer on "
        + ", ".join(map(str, sorted(NO_ANSWER_CODES)))
        + "; failed otherwise",
        "follow-up closes: when a callback reached the caller, or a supervisor closes it",
    ]
    return "\n".join(lines)
