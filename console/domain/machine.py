"""Explicit transition tables that can be printed, checked and tested row by row.

The survey, the call script and the agent states are all "state × event → state" tables;
this keeps the table as data (not as if/else), so a test can walk every row and a supervisor
can read the rules (`python -m console.domain` prints them).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from console.domain.errors import TransitionError

S = TypeVar("S", bound=enum.Enum)
E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True)
class TransitionTable(Generic[S, E]):
    """A finite state machine's rules: (state, event) → next state; anything else is refused."""

    name: str
    rows: Mapping[tuple[S, E], S]
    terminal: frozenset[S] = frozenset()
    """States with no way out (a row leaving one is a bug in the table)."""

    def __post_init__(self) -> None:
        for state, _event in self.rows:
            if state in self.terminal:
                raise ValueError(f"{self.name}: terminal state {state.name} has a transition")

    def next(self, state: S, event: E) -> S:
        """The state after `event`; TransitionError if the table has no such row."""
        try:
            return self.rows[(state, event)]
        except KeyError:
            allowed = ", ".join(e.name for e in self.events_from(state)) or "nothing"
            raise TransitionError(
                f"{self.name}: {event.name} is not allowed in {state.name} (allowed: {allowed})"
            ) from None

    def allows(self, state: S, event: E) -> bool:
        return (state, event) in self.rows

    def events_from(self, state: S) -> list[E]:
        return [e for (s, e) in self.rows if s == state]

    def __iter__(self) -> Iterator[tuple[S, E, S]]:
        for (state, event), target in self.rows.items():
            yield state, event, target

    def describe(self) -> str:
        """The table as aligned text, one row per transition."""
        rows = [(s.name, e.name, t.name) for s, e, t in self]
        w1 = max((len(r[0]) for r in rows), default=5)
        w2 = max((len(r[1]) for r in rows), default=5)
        lines = [f"{self.name}:"]
        lines += [f"  {a:<{w1}}  --{b:<{w2}}-->  {c}" for a, b, c in rows]
        if self.terminal:
            lines.append("  terminal: " + ", ".join(sorted(s.name for s in self.terminal)))
        return "\n".join(lines)


@dataclass(frozen=True)
class Step(Generic[S, E]):
    """One transition that happened, for the history and the record."""

    at: float
    """The injected time (monotonic seconds for calls)."""
    source: S
    event: E
    target: S
