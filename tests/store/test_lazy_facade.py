"""`console.store` opens its facade on first use: a command that never opens the record
(`duty-console check`, `--help`) does not pay for SQLAlchemy and the rule modules.

`duty-console check` took 8.3 s against its 2 s timeout on a loaded CI machine, ~1.5 s of
each run being the parser's imports of the whole store."""

from __future__ import annotations

import subprocess
import sys


def test_the_store_package_and_the_parser_leave_sqlalchemy_unimported() -> None:
    code = (
        "import sys, console.store, console.cli\n"
        "console.cli.build_parser()\n"
        "heavy = ('sqlalchemy', 'console.store.record')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
        "from console.store import DutyRecord, StoreAlarm\n"
        "print(DutyRecord.__module__, StoreAlarm.__module__, 'sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    before, after = done.stdout.splitlines()
    assert before == "[]", before
    assert after == "console.store.record console.store.core True"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import console.store

    try:
        console.store.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("console.store.NoSuchThing resolved")
