"""The post-processing layers point down: resample <- generative <- positive, with no circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MLGEN = Path(__file__).resolve().parents[2] / "mlgen"


def _imports(package: str) -> set[str]:
    """Every ``mlgen.*`` module that a module of ``package`` imports, at the top or inside a function."""
    found = set()
    for path in (MLGEN / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlgen"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("mlgen"))
    return found


@pytest.mark.parametrize(
    "package,above",
    [("resample", ("mlgen.generative", "mlgen.positive")), ("generative", ("mlgen.positive",))],
)
def test_a_package_never_imports_one_above_it(package: str, above: tuple[str, ...]) -> None:
    upward = sorted(m for m in _imports(package) if m.startswith(above))
    assert not upward, f"mlgen/{package} imports {upward}"
