"""Tamper evidence: canonical content, the hash chain per line, anchors with an optional HMAC.

Each chained record's hash is SHA-256 over the previous record's hash and the record's
canonical content (every column but the surrogate `id` and the hash itself), so changing a
byte, deleting, reordering or inserting a row breaks a link. A chain cannot see a cut-off
tail or a wholesale rewrite; anchors (chain heads kept outside the database, optionally
MAC'd with a supervisor's key) can.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect

CANONICAL_TIME = "YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC)"


def canonical_value(value: Any) -> Any:
    """A value as it enters the hash: UTC text for times, fixed precision for floats."""
    kind = type(value)
    if value is None or kind is str or kind is int:
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, bool):
        return int(value)
    return value


def canonical_columns(model: type[Any]) -> tuple[str, ...]:
    """Columns of a chained table that the hash covers, sorted."""
    names = [c.key for c in inspect(model).column_attrs]
    return tuple(sorted(n for n in names if n not in ("id", "row_hash")))


LATER_COLUMNS: frozenset[str] = frozenset({"seat", "open_mac", "kind", "follow_up_key"})
"""Columns added after rows were first hashed (`calls.seat`, 0003; `calls.open_mac`, 0004;
`calls.kind` and `calls.follow_up_key`, 0007).

A NULL in one of them stays out of the content, so a row hashed before the column existed
hashes the same after the migration; once set, the value is covered like any other.
"""


def canonical_bytes(table: str, content: dict[str, Any]) -> bytes:
    """Deterministic JSON of one record (table name included so rows can't swap tables)."""
    body = {
        k: canonical_value(v) for k, v in content.items() if v is not None or k not in LATER_COLUMNS
    }
    body["~table"] = table
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link_hash(prev_hash: str, table: str, content: dict[str, Any]) -> str:
    """The hash of a record given its predecessor's hash."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_bytes(table, content))
    return digest.hexdigest()


def row_content(row: Any) -> dict[str, Any]:
    """The canonical content of an ORM row of a chained table."""
    return {name: getattr(row, name) for name in canonical_columns(type(row))}


def anchor_mac(key: bytes, chain: str, seq: int, row_hash: str) -> str:
    """HMAC-SHA256 of an anchor, so a rewrite with recomputed hashes can't fake anchors."""
    return hmac.new(key, f"{chain}:{seq}:{row_hash}".encode(), hashlib.sha256).hexdigest()


OPEN_FIELDS: tuple[str, ...] = (
    "key", "line", "ring_at", "caller_number", "caller_display", "sip_call_id", "seat"
)
"""What a call's open binding covers: the facts known at the first ring, never updated.
The seat is among them: start-up recovery seals only its own seat's calls, so a seat
edited by hand must not let another seat seal (launder) a row."""
LATER_OPEN_FIELDS: tuple[str, ...] = ("kind", "follow_up_key")
"""Facts of an open call added after bindings were first written (0007: a callback's kind
and its follow-up). Covered by the binding when set, as `name=value` items after the
`OPEN_FIELDS` values, so every binding written before them (both None) still holds."""


def open_binding(key: bytes, facts: dict[str, Any]) -> str:
    """HMAC-SHA256 over an open call's identifying facts, under the anchor key.

    Written with the open row, so a row INSERTed by hand (no key) cannot be passed off as a
    call the line took: start-up refuses to seal it and `verify` names it.
    """
    values = [canonical_value(facts.get(name)) for name in OPEN_FIELDS]
    values += [
        f"{name}={facts[name]}" for name in LATER_OPEN_FIELDS if facts.get(name) is not None
    ]
    text = json.dumps(
        values,
        ensure_ascii=False,
        separators=(",", ":"),
    )  # a list in OPEN_FIELDS' order: unambiguous, and cheaper than sorting keys per call
    return hmac.digest(key, b"open\n" + text.encode(), "sha256").hex()


def open_binding_holds(key: bytes, facts: dict[str, Any], mac: str | None) -> bool:
    """True if `mac` is the binding of these facts under `key` (None never holds)."""
    return mac is not None and hmac.compare_digest(str(mac), open_binding(key, facts))
