"""Pins and layering that the design relies on."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def test_pyvoip_is_the_version_sip_overrides() -> None:
    # sip/ subclasses pyVoIP internals (name-mangled methods, private attributes); any other
    # version must be re-checked against every fix before the pin moves.
    assert version("pyVoIP") == "1.6.8"


def test_sip_interface_imports_without_pyvoip_or_textual() -> None:
    code = (
        "import sys, sip.api, console;"
        "bad=[m for m in ('pyVoIP','textual','sqlalchemy') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"sip.api pulled in: {done.stdout} {done.stderr}"
