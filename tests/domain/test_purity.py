"""The domain loads without SIP, UI or database code (as Harlequin checks its core)."""

from __future__ import annotations

import subprocess
import sys


def test_domain_imports_nothing_heavy() -> None:
    code = (
        "import sys, console.domain, console.domain.__main__\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sip', 'pyVoIP', 'textual', 'sqlalchemy'} or m.startswith('console.store'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tables_print_from_the_command_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "console.domain"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("survey:") and "call script:" in out.stdout
    assert "agent:" in out.stdout
