"""Callbacks (回访) in the duty record: a call row of their own, linked to their follow-up.

A callback is a call like any other — opened, bound under the anchor key, sealed into its
line's chain, unalterable after — with `kind = callback` and `follow_up_key` naming the
follow-up it calls back (migration 0007). Its number is the follow-up's call record's
(`callback_target` reads it; the seat never types one). Every write of the callback goes
the call path's way (the outbox when one is attached), so a database that goes away while
the callback is up loses nothing: the open, the answer, the seal and the follow-up's close
land when it is back, exactly once.

Whether a callback may be placed and when its follow-up closes are the domain's rules
(`console.domain.callback`); this module reads what they decide from and writes what
they decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.callback import hand_close_error
from console.domain.outcome import CallOutcome
from console.store.audit import audit_row
from console.store.core import RecordCore
from console.store.errors import InvalidFact, RuleRefused, UnknownRecord
from console.store.facts import from_iso, iso
from console.store.models import AgentRow, CallRow, FollowUpRow
from console.store.sealing import open_call, seal_call, update_open_call
from console.store.shifts import close_follow_up, follow_up_of
from console.store.values import AgentRole, FollowUp, FollowUpStatus

log = logging.getLogger("console.store")

CALLBACK_KIND = "callback"
"""`calls.kind` of a callback (NULL: an incoming call)."""


@dataclass(frozen=True)
class CallbackTarget:
    """A follow-up as a callback needs it: its status and owner, and its call's number."""

    follow_up: FollowUp
    has_call: bool
    """The follow-up names a call that is in the record."""
    number: str | None
    """That call's caller number, as recorded (None: none, or no call)."""


@dataclass(frozen=True)
class Callback:
    """One callback as the record holds it."""

    key: str
    follow_up_key: str
    number: str | None
    ring_at: datetime
    placed_by: str | None
    """The agent who placed it (kept in the call's `answered_by`)."""
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: CallOutcome | None
    """None while it is up (not sealed yet)."""
    sip_call_id: str | None
    end_reason: str | None
    action: str | None
    recording: str | None
    """The WAV file of the conversation (both directions), when recording is on."""
    seat: str | None
    seq: int | None
    row_hash: str | None
    sealed_at: datetime | None


def callback_target(store: RecordCore, follow_up_key: str) -> CallbackTarget:
    """The follow-up `follow_up_key` with its call's caller number; `UnknownRecord` if none."""

    def read(session: Session) -> CallbackTarget:
        row = session.scalar(select(FollowUpRow).where(FollowUpRow.key == follow_up_key))
        if row is None:
            raise UnknownRecord(f"no follow-up {follow_up_key!r}")
        number: str | None = None
        has_call = False
        if row.call_key:
            found = session.execute(
                select(CallRow.caller_number).where(CallRow.key == row.call_key)
            ).first()
            if found is not None:
                has_call, number = True, found[0]
        return CallbackTarget(follow_up_of(row), has_call, number)

    result: CallbackTarget = store._run(read, write=False)
    return result


def is_supervisor(store: RecordCore, agent_id: str) -> bool:
    """Whether `agent_id` is an active supervisor ID."""

    def read(session: Session) -> bool:
        row = session.get(AgentRow, agent_id)
        return row is not None and row.active and row.role == AgentRole.SUPERVISOR.value

    result: bool = store._run(read, write=False)
    return result


def open_callback(
    store: RecordCore,
    line: str,
    follow_up_key: str,
    number: str,
    agent_id: str,
    *,
    seat: str | None = None,
    sip_call_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """The callback's row, opened as the INVITE goes out; returns its key.

    `number` is the one `console.domain.callback.check_callback` returned (the follow-up's
    call's). The agent is recorded at once, so even a callback that fails says who placed it.
    """
    if not follow_up_key:
        raise InvalidFact("a callback needs the follow-up it calls back")
    key = open_call(
        store, line, at, caller_number=number, sip_call_id=sip_call_id, seat=seat,
        kind=CALLBACK_KIND, follow_up_key=follow_up_key,
    )
    update_open_call(store, key, answered_by=agent_id, step="dialling")
    return key


def callback_answered(store: RecordCore, key: str, at: datetime) -> None:
    """The callee answered (the 200 OK to our INVITE)."""
    update_open_call(store, key, answered_at=at, step="conversation")


def seal_callback(
    store: RecordCore,
    key: str,
    outcome: CallOutcome,
    *,
    ended_at: datetime,
    end_reason: str,
    action: str,
    recording: str | None = None,
    answered_at: datetime | None = None,
) -> None:
    """Seal the callback with its outcome (reached / no answer / busy / failed).

    `answered_at` again with the seal (it was written at the answer too): a seal that lands
    when that write did not still says when the callee answered.
    """
    facts: dict[str, Any] = {"recording": recording}
    if answered_at is not None:
        facts["answered_at"] = answered_at
    seal_call(store, key, outcome, ended_at=ended_at, end_reason=end_reason, action=action,
              step="ended", **facts)


def close_by_callback(
    store: RecordCore, follow_up_key: str, call_key: str, who: str, number: str
) -> None:
    """Close the follow-up as done because callback `call_key` reached the caller.

    The call path's way (the outbox when attached): applied once, after the callback's seal
    (the outbox keeps order), and a follow-up closed meanwhile (a supervisor) stays as it is.
    """
    store._submit(
        "callback_close",
        {"follow_up_key": follow_up_key, "call_key": call_key, "who": who, "number": number,
         "at": iso(store._now())},
    )


def apply_callback_close(store: RecordCore, session: Session, args: dict[str, Any]) -> None:
    """The outbox's `callback_close` entry, exactly once (a replay finds it closed)."""
    row = session.scalar(select(FollowUpRow).where(FollowUpRow.key == args["follow_up_key"]))
    if row is None:
        raise UnknownRecord(f"no follow-up {args['follow_up_key']!r}")
    if row.status != FollowUpStatus.OPEN.value:
        return  # replayed, or closed meanwhile by a supervisor: it stays as it was closed
    note = f"callback {args['call_key']} reached {args['number']}"
    row.status = FollowUpStatus.DONE.value
    row.closed_at = from_iso(args["at"])
    row.closing_note = note
    audit_row(store, session, "follow_up", args["who"], f"{row.key} done: {note}")


def close_follow_up_by_hand(
    store: RecordCore,
    key: str,
    who: str,
    note: str,
    status: FollowUpStatus = FollowUpStatus.DONE,
) -> FollowUp:
    """Close a follow-up by hand, as the domain allows (`hand_close_refusal`).

    A follow-up filed from a call with a number closes by a callback that reaches the
    caller, or by a supervisor; `InvalidFact` says so in one line otherwise.
    """
    target = callback_target(store, key)
    refusal = hand_close_error(
        supervisor=is_supervisor(store, who),
        callable_number=target.has_call and bool(target.number),
    )
    if refusal is not None:
        raise RuleRefused(refusal)
    return close_follow_up(store, key, who, note, status)


def callback_tally(
    store: RecordCore, follow_up_keys: list[str]
) -> dict[str, tuple[int, CallOutcome | None]]:
    """Per follow-up: how many callbacks it had and the latest one's outcome (None: up now).

    One read for a screen's list; follow-ups without a callback are left out.
    """
    if not follow_up_keys:
        return {}
    c = CallRow

    def read(session: Session) -> dict[str, tuple[int, CallOutcome | None]]:
        rows = session.execute(
            select(c.follow_up_key, c.outcome)
            .where(c.kind == CALLBACK_KIND, c.follow_up_key.in_(follow_up_keys))
            .order_by(c.ring_at, c.id)
        ).all()
        tally: dict[str, tuple[int, CallOutcome | None]] = {}
        for key, outcome in rows:
            count = tally.get(str(key), (0, None))[0]
            tally[str(key)] = (count + 1, None if outcome is None else CallOutcome(outcome))
        return tally

    result: dict[str, tuple[int, CallOutcome | None]] = store._run(read, write=False)
    return result


def callbacks_of(store: RecordCore, follow_up_key: str) -> list[Callback]:
    """The callbacks of one follow-up, oldest first (open ones too)."""
    c = CallRow

    def read(session: Session) -> list[Callback]:
        rows = session.execute(
            select(
                c.key, c.follow_up_key, c.caller_number, c.ring_at, c.answered_by,
                c.answered_at, c.ended_at, c.outcome, c.sip_call_id, c.end_reason, c.action,
                c.recording, c.seat, c.seq, c.row_hash, c.sealed_at,
            )
            .where(c.follow_up_key == follow_up_key, c.kind == CALLBACK_KIND)
            .order_by(c.ring_at, c.id)
        ).all()
        return [
            Callback(
                key=r[0], follow_up_key=str(r[1]), number=r[2], ring_at=r[3], placed_by=r[4],
                answered_at=r[5], ended_at=r[6],
                outcome=None if r[7] is None else CallOutcome(r[7]),
                sip_call_id=r[8], end_reason=r[9], action=r[10], recording=r[11],
                seat=r[12], seq=r[13], row_hash=r[14], sealed_at=r[15],
            )
            for r in rows
        ]

    result: list[Callback] = store._run(read, write=False)
    return result
