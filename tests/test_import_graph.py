"""No import circle in ``intelliauth_ext``: its module import graph, read with ``ast``, is acyclic.

Every import statement counts, wherever it stands: at module level, inside a function
(a lazy import), under ``if TYPE_CHECKING:``, and ``importlib.import_module("...")`` with a
literal name. A circle through a lazy import is still a circle: the two modules still need
each other, only the failure moves from import time to the first call.

Edges follow the usual reading (as import-linter's grimp does): ``from a.b import c`` is an
edge to ``a.b.c`` when that is a module of the package, to ``a.b`` otherwise; ``import a.b``
is an edge to ``a.b``. Importing a submodule does not count as importing its parent
package, or every ``__init__`` that re-exports would close a circle with each of its
modules.

Run as a script (``python tests/test_import_graph.py``) it prints every circle found.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "intelliauth_ext"


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its ``__init__.py``)."""
    modules: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name ``from <level dots><target>`` means inside ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base.pop()  # a module's dots count from its package
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _imported_names(
    tree: ast.AST, module: str, is_package: bool, modules: Mapping[str, Path]
) -> Iterator[str]:
    """Every name of a module of the package that ``tree`` imports, anywhere in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in modules else source
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "importlib"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """Each module of ``package`` and the modules of ``package`` it imports."""
    modules = module_files(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = {
            imported
            for imported in _imported_names(tree, name, is_package, modules)
            if imported in modules
        }
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with a circle: two modules or more, or a self-import.

    Tarjan's algorithm, iterative (the graph is small, but recursion limits are no concern
    of a test). Each component is sorted, and the list is sorted by its first module.
    """
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def describe(graph: Mapping[str, set[str]], component: list[str]) -> str:
    """One circle: its modules, and the imports among them."""
    members = set(component)
    edges = [
        f"    {source} -> {target}"
        for source in component
        for target in sorted(graph[source] & members)
    ]
    return "\n".join([", ".join(component), *edges])


def test_cycle_finder_sees_circles_and_self_imports() -> None:
    """The finder reports a two-module circle, a longer one and a self-import, and no chain."""
    graph = {
        "a": {"b"},
        "b": {"a", "c"},
        "c": {"d"},
        "d": {"e"},
        "e": {"c"},
        "f": {"f"},
        "g": {"a"},
    }
    assert cycles(graph) == [["a", "b"], ["c", "d", "e"], ["f"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_imports_resolve_to_submodules(tmp_path: Path) -> None:
    """``from . import x`` is an edge to the submodule x; ``from . import name`` to the package."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from . import a\n")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .sub import b\n"
        "def lazy():\n"
        "    from pkg.sub.b import thing\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text(
        "import importlib\n"
        "from .. import Name\n"
        "from ..a import f\n"
        "importlib.import_module('pkg.a')\n"
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub.b"},
        "pkg.sub": set(),
        "pkg.sub.b": {"pkg", "pkg.a"},
    }
    assert cycles(graph) == [["pkg", "pkg.a", "pkg.sub.b"]]


def test_intelliauth_ext_has_no_import_circle() -> None:
    """No two modules of intelliauth_ext import each other, directly or round a longer loop."""
    graph = import_graph()
    assert len(graph) > 50  # the whole package was read
    found = cycles(graph)
    assert not found, "import circles in intelliauth_ext:\n" + "\n".join(
        describe(graph, component) for component in found
    )


if __name__ == "__main__":
    package_graph = import_graph()
    circles = cycles(package_graph)
    for circle in circles:
        print(describe(package_graph, circle))
    print(f"{len(package_graph)} modules, {len(circles)} circle(s)")
    sys.exit(1 if circles else 0)
