"""Small helpers shared by the store tests: raw SQL as an attacker would run it, and a real
full disk (also used by the full-disk lab tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from console.store import DutyRecord


def raw(store: DutyRecord, *statements: str, bypass_triggers: bool = False) -> None:
    """Run SQL straight against the database, optionally with the guard triggers off."""
    with store.engine.connect() as conn:
        if bypass_triggers:
            if store.engine.dialect.name == "sqlite":
                names = conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
                for name in list(names):
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
            else:
                conn.execute(text("SET session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))
        conn.commit()


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """`labdisk.tmpfs` for a test: a machine that will not mount one skips, saying why."""
    import labdisk

    try:
        with labdisk.tmpfs(path, size) as mounted:
            yield mounted
    except labdisk.NoTmpfs as exc:
        pytest.skip(f"cannot mount a tmpfs for the full-disk test: {exc}")
