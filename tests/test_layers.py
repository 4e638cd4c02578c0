"""The import graph: layers only point down, and no module imports itself round a circle.

Every import counts, at the top of a module or inside a function (a lazy import
that hides a circle is still a circle). The layers, lowest first, are those of
``../shared/DESIGN.md``; a part may import its own layer and the layers below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlgen"

LAYERS: list[set[str]] = [
    {"physics", "device", "seeds", "atomic", "rundir", "metrics", "initialise", "measured"},
    {"pdf", "phasespace", "matrix", "events", "flows", "unweight"},
    {"lhe", "observables", "asymmetries", "integrate"},
    {"cards"},
    {"process", "samples"},
    {"generate", "plots", "hepmc", "shower", "resample", "subprocesses"},
    {"generative"},
    {"positive"},
    {"hooks"},
    {"run", "mg5_run"},
    {"commands", "cli", "__main__", "__init__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The mlgen modules ``path`` imports, resolved to the deepest module that exists."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            if name.split(".")[0] == "mlgen":
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # "from mlgen.x import y" names module mlgen.x.y when it exists, else mlgen.x
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_has_a_layer() -> None:
    parts = {_part(m) for m in _graph()}
    assert not parts - set(RANK), f"parts with no layer: {sorted(parts - set(RANK))}"


def test_no_import_points_up() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in _graph().items()
        for target in targets
        if _part(target) != "__init__" and RANK[_part(target)] > RANK[_part(source)]
    ]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(sorted(upward))


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_circle_of_imports() -> None:
    graph = {m: {t for t in ts if t != "mlgen"} for m, ts in _graph().items()}
    cycle = _cycle(graph)
    assert cycle is None, "a circle of imports: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "expected"),
    [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]), ({"a": {"b"}, "b": set()}, None)],
)
def test_the_circle_finder_finds_circles(graph: dict[str, set[str]], expected: list[str] | None) -> None:
    assert _cycle(graph) == expected
