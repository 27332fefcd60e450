"""No screen or widget imports `console.app`, not even for its types (issue 11: the app and
19 screen modules imported each other in a circle). The agents' screens read the app
through `SeatView`; the supervisor's through `ReviewView` (they typed it as DutyConsoleApp
under TYPE_CHECKING, which the layers contract had to ignore)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "console"
MODULES = sorted([*ROOT.glob("screens/**/*.py"), *ROOT.glob("widgets/**/*.py")])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_the_app(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        node.lineno for node in ast.walk(tree)
        if (isinstance(node, ast.ImportFrom) and node.module == "console.app")
        or (isinstance(node, ast.Import) and any(a.name == "console.app" for a in node.names))
    ]
    assert not found, f"{path.name} imports console.app at lines {found}"
