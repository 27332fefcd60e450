"""Which seat answers a call the PBX rang at several seats at once (ring-all, issue 13).

A hotline's seats are registered for one extension; the PBX forks the caller's INVITE to
all of them. Every seat runs its own ring clock, so without an agreement each answered at
its ring limit and the caller got several 200 OKs. Before it answers — by itself at the
ring limit, or because its agent pressed answer — a seat claims the caller's call in the
shared record; only the seat that won the claim answers, the others keep ringing until
the PBX cancels them (their leg then ends as 他席接听, taken elsewhere).

Duty rules §1 (every call is answered) decides the one case the record cannot: a claim
the record did not settle in time (database away, too slow) counts as won. Two seats may
then both answer — a caller with two answers is better off than a caller with none — and
the seat raises an alarm so the outage is seen.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO = "auto"
"""How a claim names the answer a seat makes by itself at the ring limit."""


@dataclass(frozen=True)
class AnswerClaim:
    """The outcome of one seat's claim: who holds the call, and whether this seat does."""

    won: bool
    """This seat answers (it holds the claim, or the claim could not be decided)."""
    seat: str
    """The seat that holds the claim ("" when undecided)."""
    agent_id: str | None = None
    """The agent who pressed answer at that seat; None: the seat answers by itself."""
    decided: bool = True
    """False: the record gave no answer in time, and the claim counts as won (§1)."""
    problem: str = ""
    """Why the claim was not decided, in one line (for the log and the alarm)."""

    @classmethod
    def undecided(cls, agent_id: str | None, problem: str) -> AnswerClaim:
        """A claim the record could not settle: won, so that the caller is answered."""
        return cls(won=True, seat="", agent_id=agent_id, decided=False, problem=problem)

    def holder(self) -> str:
        """Who took the call, as the losing seat's banner says it: agent and seat."""
        who = self.agent_id if self.agent_id else AUTO
        return f"{who} @ {self.seat}" if self.seat else who
