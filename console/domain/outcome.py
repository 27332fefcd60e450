"""How a call ended and what the duty record calls it (duty rules §5: missed, abandoned and
forwarded calls are records too).

The line and the call flow report *why* a call ended (`CallEnd`: the caller hung up, we
did, it was transferred …); `classify` turns that, with whether the call was answered and
whether a forward reached the gate post, into the record's `CallOutcome`. The rules are an
ordered list (`OUTCOME_RULES`, printed by `python -m console.domain`): the first that holds
decides.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class CallEnd(enum.Enum):
    """Why a call ended; the values are the end reasons the line and the flow report."""

    REMOTE_BYE = "remote_bye"
    """The caller hung up after the call was answered."""
    CANCELLED = "cancelled"
    """The caller gave up while it was ringing (CANCEL)."""
    COMPLETED_ELSEWHERE = "completed_elsewhere"
    """A CANCEL saying another branch of the PBX's fork answered (RFC 3326 `SIP;cause=200`):
    the caller did not hang up; another seat (or phone) of the hotline took the call."""
    ABANDONED = "abandoned"
    """A CANCEL before anyone answered, as the record names it (来电放弃)."""
    LOCAL_HANGUP = "local_hangup"
    """We ended it (after the survey and the wait for the caller's hang-up, or the agent)."""
    REDIRECTED = "redirected"
    """Forwarded before answering with a 302."""
    TRANSFERRED = "transferred"
    """Blind-transferred after answering (REFER) and the target took it."""
    REFUSED = "refused"
    """Refused by the line before answering (over capacity, bad offer)."""
    NO_ACK = "no_ack"
    """Our 200 OK was never acknowledged."""
    SHUTDOWN = "shutdown"
    """The console stopped while the call was up."""
    ERROR = "error"
    """The flow failed (the reason text carries the detail after "error: ")."""
    UNKNOWN = "unknown"
    """A reason this list does not know (a newer line, a bug): classified as ended."""

    @classmethod
    def parse(cls, reason: str) -> CallEnd:
        """The end named by a reason text ("error: …" is ERROR); UNKNOWN if none."""
        word = reason.strip().partition(":")[0].strip().lower()
        if word == "caller_hangup":  # the flow's word when the line gave no reason
            return cls.REMOTE_BYE
        try:
            return cls(word)
        except ValueError:
            return cls.UNKNOWN

    def for_call(self, answered: bool) -> CallEnd:
        """The end as the record keeps it: a CANCEL of a call nobody answered is ABANDONED."""
        if self is CallEnd.CANCELLED and not answered:
            return CallEnd.ABANDONED
        return self


class CallOutcome(enum.Enum):
    """How the call ended for the line: the record's `outcome` (the store uses this enum)."""

    ANSWERED = "answered"
    MISSED = "missed"
    """Nobody answered and the console did not either (e.g. over capacity)."""
    ABANDONED = "abandoned"
    """The caller hung up while it was ringing."""
    FORWARDED = "forwarded"
    """Forwarded to the gate post (or a department) before or after answering."""
    INTERRUPTED = "interrupted"
    """The console stopped mid-call; sealed at the next start with what was known."""
    TAKEN_ELSEWHERE = "taken_elsewhere"
    """This seat's leg of a call that another seat answered (the PBX rang several seats and
    cancelled the others, "completed elsewhere"). A leg, not a caller's call: the figures
    (answer rate 接通率, abandoned) and exports count callers (`counts_as_caller`)."""
    REACHED = "reached"
    """A callback (回访, `console.domain.callback`) the callee answered."""
    NO_ANSWER = "no_answer"
    """A callback nobody answered (480, 408, or our CANCEL after the ring time)."""
    BUSY = "busy"
    """A callback the callee's phone refused (486, 600, 603)."""
    FAILED = "failed"
    """A callback the PBX refused or that got no answer at all (404, 403, 5xx, none)."""

    @property
    def counts_as_caller(self) -> bool:
        """Whether figures and exports count this call: every outcome but a leg's or a
        callback's (an outgoing call is no caller's call: it must not move 接通率)."""
        return self not in LEG_OUTCOMES and self not in CALLBACK_OUTCOMES


LEG_OUTCOMES: frozenset[CallOutcome] = frozenset({CallOutcome.TAKEN_ELSEWHERE})
"""Outcomes of a seat's leg rather than of a caller's call: left out of the figures."""
CALLBACK_OUTCOMES: frozenset[CallOutcome] = frozenset(
    {CallOutcome.REACHED, CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.FAILED}
)
"""Outcomes of a callback (an outgoing call from a follow-up): left out of the figures too."""
LEG_OUTCOME_VALUES: tuple[str, ...] = tuple(
    sorted(o.value for o in CallOutcome if not o.counts_as_caller)
)
"""Stored values of every outcome that is no caller's call (a leg, a callback): what the
store's figures and exports leave out."""

FORWARD_REACHED = frozenset({"success", "redirected"})
"""Forward attempt results that handed the call to the gate post: a REFER whose NOTIFY said
2xx ("success"), or a 302 sent ("redirected"). Anything else (busy, timeout, skipped…) did not."""


def forward_reached(result: str) -> bool:
    """Whether a forward attempt with this result handed the call over."""
    return result in FORWARD_REACHED


@dataclass(frozen=True)
class CallFacts:
    """What `classify` decides from."""

    end: CallEnd
    answered: bool
    """Someone (an agent or the console) answered."""
    forwarded: bool
    """A forward attempt reached the gate post (`forward_reached`)."""


@dataclass(frozen=True)
class OutcomeRule:
    """One line of the classification: when `holds`, the call is `outcome`."""

    when: str
    """The rule in words (printed)."""
    holds: Callable[[CallFacts], bool]
    outcome: CallOutcome


OUTCOME_RULES: tuple[OutcomeRule, ...] = (
    OutcomeRule(
        "a forward reached the gate post, or the call ended transferred / redirected",
        lambda f: f.forwarded or f.end in (CallEnd.TRANSFERRED, CallEnd.REDIRECTED),
        CallOutcome.FORWARDED,
    ),
    OutcomeRule(
        "the console stopped while the call was up",
        lambda f: f.end is CallEnd.SHUTDOWN,
        CallOutcome.INTERRUPTED,
    ),
    OutcomeRule("an agent or the console answered", lambda f: f.answered, CallOutcome.ANSWERED),
    OutcomeRule(
        "the PBX cancelled this seat's ringing because another seat answered (RFC 3326 cause 200)",
        lambda f: f.end is CallEnd.COMPLETED_ELSEWHERE,
        CallOutcome.TAKEN_ELSEWHERE,
    ),
    OutcomeRule(
        "the caller hung up while it rang",
        lambda f: f.end in (CallEnd.ABANDONED, CallEnd.CANCELLED),
        CallOutcome.ABANDONED,
    ),
    OutcomeRule("anything else: nobody answered", lambda f: True, CallOutcome.MISSED),
)
"""The first rule that holds decides; the last always holds."""


def classify(end: CallEnd | str, *, answered: bool, forwarded: bool = False) -> CallOutcome:
    """The record's outcome of a call that ended with `end` (a `CallEnd` or a reason text)."""
    facts = CallFacts(
        end if isinstance(end, CallEnd) else CallEnd.parse(end), answered, forwarded
    )
    for rule in OUTCOME_RULES:
        if rule.holds(facts):
            return rule.outcome
    raise AssertionError("the last outcome rule always holds")  # pragma: no cover


def describe_outcomes() -> str:
    """The rules as text, first one first."""
    width = max(len(r.outcome.name) for r in OUTCOME_RULES)
    lines = ["call outcome (first rule that holds):"]
    lines += [f"  {r.outcome.name:<{width}}  if {r.when}" for r in OUTCOME_RULES]
    return "\n".join(lines)
