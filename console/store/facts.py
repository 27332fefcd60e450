"""What a call fact may be: checked, brought to its stored type, cut with a mark, never dropped.

Every fact the call path hands the record passes `coerce_fact` before it is written or put
in the outbox, so a fact wrong in kind is refused at the call (a clear `InvalidFact`) and a
text merely too long for its column is kept, visibly cut (duty rules §5: complete). The
outbox carries facts as JSON (`facts_json`, `facts_from_json`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String

from console.domain.seat import SeatNameError, check_seat_name
from console.store.chain import LATER_OPEN_FIELDS, OPEN_FIELDS
from console.store.errors import InvalidFact
from console.store.models import CallRow
from console.store.values import CALL_FACTS, CATEGORIES, CallOutcome

log = logging.getLogger("console.store")

DATETIME_FACTS = frozenset({"answered_at", "ended_at", "forwarded_at"})
"""The facts that are times (aware datetimes; ISO text in the outbox)."""
_INT_FACTS = frozenset({"rings", "satisfaction"})


def new_key() -> str:
    """A new record key: random, so seats never collide and a key says nothing."""
    return uuid.uuid4().hex


def seat_name(seat: str) -> str:
    """The seat's name as the record keeps it (the domain's one rule), or `InvalidFact`."""
    try:
        return check_seat_name(seat)
    except SeatNameError as exc:
        raise InvalidFact(str(exc)) from None


def iso(value: datetime | None) -> str | None:
    """A time as the outbox keeps it: ISO text in UTC."""
    return None if value is None else value.astimezone(UTC).isoformat()


def from_iso(value: str | None) -> datetime | None:
    """A time from the outbox's ISO text."""
    return None if value is None else datetime.fromisoformat(value)


def _column_length(name: str) -> int | None:
    column = CallRow.__table__.c[name]
    return column.type.length if isinstance(column.type, String) else None


def coerce_fact(name: str, value: Any) -> Any:
    """Check one call fact and bring it to its stored type; `InvalidFact` says what is wrong.

    Wrong in kind (not a fact, not text, a NUL, an unknown category, a time without a zone)
    is refused; text that is merely too long for its column is kept, cut with a visible
    mark (`cut_text`), because refusing it would lose the call it belongs to.
    """
    if name not in CALL_FACTS and name != "outcome":
        raise InvalidFact(f"{name!r} is not a call fact; known facts: {', '.join(CALL_FACTS)}")
    if value is None:
        return None
    if name in DATETIME_FACTS:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise InvalidFact(f"{name}: {value!r} is not an ISO date and time") from exc
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidFact(f"{name}: needs an aware datetime, got {value!r}")
        return value
    if name in _INT_FACTS:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidFact(f"{name}: needs a whole number, got {value!r}")
        try:
            number = int(value)
        except ValueError as exc:
            raise InvalidFact(f"{name}: needs a whole number, got {value!r}") from exc
        if name == "satisfaction" and number not in (1, 2, 3):
            raise InvalidFact(f"satisfaction must be 1, 2 or 3 (or none), got {value!r}")
        if name == "rings" and not 0 <= number <= 1000:
            raise InvalidFact(f"rings must be between 0 and 1000, got {value!r}")
        return number
    if name == "outcome":
        try:
            return CallOutcome(value.value if isinstance(value, CallOutcome) else value).value
        except ValueError as exc:
            raise InvalidFact(
                f"outcome {value!r} unknown; one of {[o.value for o in CallOutcome]}"
            ) from exc
    if not isinstance(value, str):
        raise InvalidFact(f"{name}: needs text, got {type(value).__name__}")
    if name == "category":
        for stored, label in CATEGORIES.items():
            if value in (stored, label):
                return stored
        raise InvalidFact(
            f"category {value!r} unknown; one of "
            + ", ".join(f"{k} ({v})" for k, v in CATEGORIES.items())
        )
    if "\x00" in value:
        raise InvalidFact(f"{name}: text contains a NUL character")
    length = _column_length(name)
    if length is not None and len(value) > length:
        return cut_text(name, value, length)
    return value


def cut_mark(original: int, limit: int) -> str:
    """The visible end of a text cut to fit its column: `…[cut 115→64]`."""
    return f"…[cut {original}→{limit}]"


def cut_text(name: str, value: str, limit: int) -> str:
    """`value` cut to `limit` characters, ending in `cut_mark` so nobody takes it as whole.

    A caller number 115 characters long is still a call: the record keeps its first
    characters and says that (and by how much) it was cut, rather than refusing the call.
    """
    mark = cut_mark(len(value), limit)
    cut = (value[: max(0, limit - len(mark))] + mark)[:limit]
    log.warning("%s: %d characters, cut to the %d that fit: %r", name, len(value), limit, cut)
    return cut


def fact_text(name: str, value: Any) -> str | None:
    """A fact as amendment text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def refuse_bound(facts: dict[str, Any]) -> None:
    """The facts an open call's binding covers are given at the open, never changed after."""
    bound = sorted(set(facts) & {*OPEN_FIELDS, *LATER_OPEN_FIELDS})
    if bound:
        raise InvalidFact(f"{', '.join(bound)}: given when the call is opened (open_call)")


def facts_json(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as the outbox keeps them (times as ISO text)."""
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in facts.items()}


def facts_from_json(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts from the outbox, times as datetimes again."""
    return {k: from_iso(v) if k in DATETIME_FACTS else v for k, v in facts.items()}
