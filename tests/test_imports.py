"""One-way imports in scaffold/: no cycle anywhere, and the layering contracts below.

The graph is read from the AST of every module, so every import counts: module-level ones,
function-level ones (a cycle can't hide in a function) and `if TYPE_CHECKING:` ones (nor in a
type hint). `from scaffold import x` is an edge to the module scaffold.x when there is one, else
to the package; relative imports are resolved against the importing module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scaffold"

# Inside scaffold.templatesets a module imports only modules of a lower layer.
TEMPLATESETS_LAYERS = {
    "scaffold.templatesets": 0,  # __init__: a docstring, no imports
    "scaffold.templatesets.sources": 1,
    "scaffold.templatesets.manifest": 1,
    "scaffold.templatesets.overlay": 2,
    "scaffold.templatesets.loader": 3,
    "scaffold.templatesets.prompts": 4,
    "scaffold.templatesets.schema": 4,
}
# What scaffold.templatesets may use from the rest of the package.
TEMPLATESETS_MAY_IMPORT = {"scaffold.errors", "scaffold.images", "scaffold.progress"}
# Modules that import nothing from scaffold, or only the listed ones.
LEAVES = {
    "scaffold.errors": set(),
    "scaffold.progress": set(),  # says what runs; the CLI decides whether it is shown
    "scaffold.dockerfile": set(),
    "scaffold.checkers": set(),
    "scaffold.copier_adapter": set(),  # the one module that may name copier's private API
    "scaffold.images": {"scaffold.errors"},
    "scaffold.policy": {
        "scaffold.dockerfile",
        "scaffold.images",
        "scaffold.state",
        "scaffold.templatesets.loader",
    },
    "scaffold.state": {"scaffold.errors"},  # owns .dockergen/: everything else asks it
}
# The CLI imports only the library API (issue 10, item 4): scaffold (the version), scaffold.api
# and scaffold.errors.
CLI_MAY_IMPORT = {"scaffold", "scaffold.api", "scaffold.errors"}


@dataclass(frozen=True)
class Edge:
    target: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target}"


Graph = dict[str, dict[str, Edge]]


def modules(package: Path) -> dict[str, Path]:
    """Dotted name -> file for every module of the package (packages by their __init__)."""
    out: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if all(part.isidentifier() for part in parts):
            out[".".join(parts)] = path
    return out


def import_graph(package: Path) -> Graph:
    """module -> {imported module of the same package -> its first import statement}."""
    known = modules(package)
    graph: Graph = {}
    for name, path in known.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        shown = path.relative_to(package.parent).as_posix()
        edges: dict[str, Edge] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), shown)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = here[: len(here) - node.level + 1]  # `..`: one up
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                while target not in known and "." in target:  # import a.b.c where c is a name
                    target = target.rsplit(".", 1)[0]
                if target in known and target != name and target not in edges:
                    edges[target] = Edge(target, shown, node.lineno)
        graph[name] = edges
    return graph


Cycle = tuple[list[str], list[Edge]]


def cycles(graph: Graph) -> list[Cycle]:
    """Each group of modules that import each other (Tarjan), with one shortest cycle in it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    out = []
    for group in groups:
        start, members = group[0], set(group)
        paths: dict[str, list[Edge]] = {start: []}
        queue = [start]
        found: list[Edge] | None = None
        while queue and found is None:  # breadth first: the shortest way back to start
            node = queue.pop(0)
            for nxt, edge in sorted(graph[node].items()):
                if nxt == start:
                    found = [*paths[node], edge]
                    break
                if nxt in members and nxt not in paths:
                    paths[nxt] = [*paths[node], edge]
                    queue.append(nxt)
        assert found is not None
        out.append((group, found))
    return out


def describe(cycle: Cycle) -> str:
    group, edges = cycle
    names = [edges[-1].target, *(edge.target for edge in edges)]
    text = f"import cycle {' -> '.join(names)} ({'; '.join(map(str, edges))})"
    others = sorted(set(group) - set(names))
    return text + (f"; also in cycles with these: {', '.join(others)}" if others else "")


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(PACKAGE)


def test_no_import_cycles(graph: Graph) -> None:
    found = [describe(cycle) for cycle in cycles(graph)]
    assert not found, "\n".join(found)


def test_templatesets_import_in_one_direction(graph: Graph) -> None:
    problems = []
    for name, edges in graph.items():
        if not (name + ".").startswith("scaffold.templatesets."):
            continue
        if name not in TEMPLATESETS_LAYERS:
            problems.append(f"{name}: not placed in TEMPLATESETS_LAYERS (tests/test_imports.py)")
            continue
        for target, edge in edges.items():
            if (target + ".").startswith("scaffold.templatesets."):
                if TEMPLATESETS_LAYERS.get(target, 99) >= TEMPLATESETS_LAYERS[name]:
                    problems.append(f"{edge}: a module of the same or a higher layer")
            elif target not in TEMPLATESETS_MAY_IMPORT:
                problems.append(f"{edge}: templatesets may import only {TEMPLATESETS_MAY_IMPORT}")
    assert not problems, "\n".join(problems)


def test_leaf_modules_stay_leaves(graph: Graph) -> None:
    problems = [
        f"{edge}: {name} may import only {sorted(allowed) or 'nothing from scaffold'}"
        for name, allowed in LEAVES.items()
        for target, edge in graph[name].items()
        if target not in allowed
    ]
    assert not problems, "\n".join(problems)


def test_nothing_imports_the_cli(graph: Graph) -> None:
    users = [
        str(edges["scaffold.cli"])
        for name, edges in graph.items()
        if "scaffold.cli" in edges and name != "scaffold.__main__"
    ]
    assert not users, "only scaffold.__main__ may import scaffold.cli:\n" + "\n".join(users)


def test_cli_imports_only_the_api(graph: Graph) -> None:
    extra = [
        str(edge)
        for target, edge in sorted(graph["scaffold.cli"].items())
        if target not in CLI_MAY_IMPORT
    ]
    assert not extra, "the CLI imports only the library API (scaffold.api):\n" + "\n".join(extra)


# ------------------------------------------------------------------- the checker itself


def _package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_cycle_through_a_function_level_import_is_named(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "VERSION = '1'\n",
            "a.py": "from pkg import b\n",
            "b.py": "import os\n\n\ndef f():\n    from pkg.sub.c import g\n    return g\n",
            "sub/__init__.py": "",
            "sub/c.py": "from .. import a, VERSION\n",
            "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d2\n",
            "d2.py": "from .d import x\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b": Edge("pkg.b", "pkg/a.py", 1)}
    assert set(graph["pkg.sub.c"]) == {"pkg.a", "pkg"}  # relative: a module and a name
    found = sorted(describe(cycle) for cycle in cycles(graph))
    assert found == [
        "import cycle pkg.a -> pkg.b -> pkg.sub.c -> pkg.a "
        "(pkg/a.py:1 imports pkg.b; pkg/b.py:5 imports pkg.sub.c; pkg/sub/c.py:1 imports pkg.a)",
        "import cycle pkg.d -> pkg.d2 -> pkg.d "
        "(pkg/d.py:3 imports pkg.d2; pkg/d2.py:1 imports pkg.d)",
    ]


def test_no_cycle_no_finding(tmp_path: Path) -> None:
    files = {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "import pkg.c\n", "c.py": ""}
    assert cycles(import_graph(_package(tmp_path, files))) == []


def test_every_module_of_a_tangle_is_named(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b, e\n",
        "b.py": "from pkg import c\n",
        "c.py": "from pkg import a\n",
        "e.py": "from pkg import a\n",
    }
    assert [describe(cycle) for cycle in cycles(import_graph(_package(tmp_path, files)))] == [
        "import cycle pkg.a -> pkg.e -> pkg.a (pkg/a.py:1 imports pkg.e; pkg/e.py:1 imports "
        "pkg.a); also in cycles with these: pkg.b, pkg.c"
    ]
