"""`scripts/bench_store` writes its BENCHMARKS.md section between `<!-- bench_store -->` and
`<!-- /bench_store -->`, and replaces a section that an older run closed with a second
opening marker, without touching the sections around it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_store", ROOT / "scripts/bench_store.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_store"] = module
    spec.loader.exec_module(module)
    return module


OTHER_BEFORE = "# Benchmarks\n\n<!-- bench_ui -->\nui table\n<!-- /bench_ui -->\n\n"
OTHER_AFTER = "\n\n<!-- bench_line -->\nline table\n<!-- /bench_line -->\n"


@pytest.mark.parametrize(
    "old_section",
    [
        "<!-- bench_store -->\nold table\n<!-- bench_store -->",  # closed the old way
        "<!-- bench_store -->\nold table\n<!-- /bench_store -->",
    ],
)
def test_section_replaced_with_a_closing_marker(
    bench: ModuleType, tmp_path: Path, old_section: str
) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(OTHER_BEFORE + old_section + OTHER_AFTER)
    results = [
        {
            "backend": "sqlite",
            **{
                key: ("1.0 ms", flag)
                for (_, _, key), flag in zip(
                    bench.ROWS,
                    [True, None, False, True, True, True, None, False, None],
                    strict=True,
                )
            },
        }
    ]
    section = bench.table(results, 2000, "A note.", ("0.1 0.2 0.3", "0.4 0.5 0.6"))
    bench.write_section(section, path)
    text = path.read_text()
    assert text == OTHER_BEFORE + section + OTHER_AFTER
    assert section.startswith("<!-- bench_store -->\n")
    assert section.endswith("\n<!-- /bench_store -->")
    assert text.count("<!-- bench_store -->") == 1 and "old table" not in text
    assert "| measure | goal | sqlite | met |" in section
    assert "| ≤ 50 ms | 1.0 ms | **not met** |" in section
    assert "| ≤ 5 ms | 1.0 ms | **not met** |" in section
    assert "| 1.1 M | 1.0 ms | met |" in section
    assert "load average before 0.1 0.2 0.3, after 0.4 0.5 0.6. " in section
    assert "`synchronous_commit` on). A note.\n" in section
    bench.write_section(section, path)  # a second run replaces, never appends
    assert path.read_text() == text


def test_section_appended_when_missing(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(OTHER_BEFORE.rstrip("\n") + "\n")
    bench.write_section("<!-- bench_store -->\nx\n<!-- /bench_store -->", path)
    assert path.read_text().endswith("\n\n<!-- bench_store -->\nx\n<!-- /bench_store -->\n")
