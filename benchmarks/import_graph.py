"""The import graph between aicenter's packages, as a table (package → packages it imports).

Run: .venv/bin/python benchmarks/import_graph.py

Every ``import``/``from ... import`` of an ``aicenter`` module counts, at module level and
inside functions alike (a deferred import is still a dependency), except those under
``if TYPE_CHECKING:``. A package is the first name under ``aicenter`` (``aicenter.services``);
a top-level module (``aicenter/settings.py``) is a package of its own. ``tests/
test_architecture.py`` checks this graph against the layers of DESIGN.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


@dataclass(frozen=True)
class Edge:
    """One import of module ``target`` by ``source`` (a file), at ``line``."""

    source: str
    target: str
    line: int
    in_function: bool

    @property
    def source_package(self) -> str:
        return package_of(self.source)

    @property
    def target_package(self) -> str:
        return package_of(self.target)


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            for orelse in node.orelse:
                yield from _imports(orelse, in_function)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(node, inner)


def edges(src: Path = SRC) -> list[Edge]:
    """Every import of an aicenter module by a module under ``src/aicenter``."""
    found = []
    for path in sorted((src / "aicenter").rglob("*.py")):
        source = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, in_function in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                if node.level:  # relative: resolve against the importing package
                    base = source.split(".")[: len(source.split(".")) - node.level
                                             + (path.name == "__init__.py")]
                    targets = [".".join([*base, node.module] if node.module else base)]
                else:
                    targets = [node.module or ""]
            for target in targets:
                if target == "aicenter" or target.startswith("aicenter."):
                    found.append(Edge(source, target, node.lineno, in_function))
    return found


def package_graph(found: list[Edge] | None = None) -> dict[str, set[str]]:
    """package → the other packages it imports."""
    graph: dict[str, set[str]] = {}
    for edge in edges() if found is None else found:
        source, target = edge.source_package, edge.target_package
        graph.setdefault(source, set())
        if target not in (source, "aicenter"):
            graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    graph = package_graph()
    width = max(map(len, graph))
    print(f"{'package'.ljust(width)}  imports")
    for package in sorted(graph):
        print(f"{package.ljust(width)}  {', '.join(sorted(graph[package])) or '-'}")
    loops = cycles(graph)
    print("cycles: " + ("; ".join(" <-> ".join(c) for c in loops) if loops else "none"))


if __name__ == "__main__":
    main()
