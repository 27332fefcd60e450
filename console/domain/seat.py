"""A seat's name: what each call of the shared record says about who took it (issue 13).

Several seats of one hotline write one record under one line name. Each seat names itself,
so that the call it opened carries its name and its start-up seals only what *it* left open:
a seat that restarts must never touch a call another seat holds. The name is one rule,
checked the same way in the config (`[seat] name`) and in the store (`open_call`).
"""

from __future__ import annotations

import re

from console.domain.errors import DomainError

SEAT_NAME_MAX = 64
"""The record's column width (`calls.seat`, `seats.name`)."""

_SEAT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._@-]+")


class SeatNameError(DomainError):
    """A seat name that cannot tell seats apart in the record."""

    title = "Seat name"


def check_seat_name(name: object) -> str:
    """`name` if it is a usable seat name; else `SeatNameError` saying what is wrong."""
    if not isinstance(name, str):
        raise SeatNameError(f"a seat name is text, got {type(name).__name__}")
    if not name:
        raise SeatNameError("a seat name may not be empty")
    if len(name) > SEAT_NAME_MAX:
        raise SeatNameError(f"a seat name has at most {SEAT_NAME_MAX} characters, got {len(name)}")
    if not _SEAT_NAME.fullmatch(name):
        raise SeatNameError(
            f"seat name {name!r}: letters, digits and . _ @ - only, starting with a letter "
            "or digit"
        )
    return name


def default_seat_name(host: str, extension: str) -> str:
    """`<extension>@<host>`: unique per machine and SIP user without any configuration.

    Characters a name may not hold are dropped (a host name is mostly safe already); the
    result is cut to the column's width. Two seats on one machine with one extension
    would share it: they must set `[seat] name` (the store refuses the second one).
    """
    ext = _NOT_ALLOWED.sub("", extension) or "seat"
    where = _NOT_ALLOWED.sub("", host.split(".", 1)[0]) or "localhost"
    name = f"{ext}@{where}"[:SEAT_NAME_MAX]
    if not name[0].isalnum():
        name = ("s" + name)[:SEAT_NAME_MAX]
    return check_seat_name(name)
