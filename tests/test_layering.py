"""The import arrows of the packages point down ARCHITECTURE.md's table, and no two packages (or
two modules of one package) import each other.

Every ``import``/``from ... import`` of every module is read with :mod:`ast`, including imports
inside functions (a function-level import is still an arrow). Package order, top of the table
first: ``syscore`` < ``sysobjects`` < ``sysdata`` < ``sysbrokers`` < ``systems`` <
``sysexecution`` < ``syscontrol`` < ``sysexo`` < ``syslogdiag`` < ``sysproduction`` <
``sysinit``. A package may import only packages above it, and only those its row allows
(with what they in turn may import); ``sysinit`` may not import ``sysproduction``'s consoles
(``interactive_*``).
"""
from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: ARCHITECTURE.md's table, in its order: package -> what its row says it may import.
ALLOWED: dict[str, set[str]] = {
    "syscore": set(),
    "sysobjects": {"syscore"},
    "sysdata": {"sysobjects", "syscore"},
    "sysbrokers": {"sysobjects", "sysdata", "syscore"},
    "systems": {"sysobjects", "syscore", "sysdata"},
    "sysexecution": {"sysobjects", "sysdata", "sysbrokers"},
    "syscontrol": {"sysdata", "syscore"},
    "sysexo": {"sysobjects", "sysdata", "sysbrokers", "systems"},
    "syslogdiag": {"sysdata", "syscore"},
    "sysproduction": {"syscore", "sysobjects", "sysdata", "sysbrokers", "systems",
                      "sysexecution", "syscontrol", "sysexo", "syslogdiag"},
    "sysinit": {"syscore", "sysobjects", "sysdata", "sysbrokers", "systems", "sysexecution",
                "syscontrol", "sysexo", "syslogdiag", "sysproduction"},
}
ORDER = list(ALLOWED)


def _closure(package: str) -> set[str]:
    seen: set[str] = set()
    todo = list(ALLOWED[package])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(ALLOWED[name])
    return seen


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, type_checking: bool = True) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(line, imported module, names taken from it)`` for every import in ``path`` (relative
    ones resolved; ``names`` is empty for ``import x``); without those under ``if
    TYPE_CHECKING:`` when ``type_checking`` is False."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str, tuple[str, ...]]] = []
    type_only = {id(inner) for node in ast.walk(tree)
                 if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                 for stmt in node.body for inner in ast.walk(stmt)}
    for node in ast.walk(tree):
        if not type_checking and id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target, tuple(alias.name for alias in node.names)))
    return found


@cache
def project_modules() -> dict[str, Path]:
    modules = {}
    for package in ORDER:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


@cache
def import_graph(type_checking: bool = True) -> dict[str, list[tuple[str, str]]]:
    """module -> [(imported project module, "file:line")]; ``type_checking``: see
    :func:`imports_of`."""
    modules = project_modules()
    graph: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, path in modules.items():
        for line, target, names in imports_of(path, type_checking):
            where = f"{path.relative_to(ROOT)}:{line}"
            # ``from pkg import module`` imports the module; other names come from ``pkg``
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            targets = submodules + ([target] if len(submodules) < len(names) or not names else [])
            for found in targets:
                if found in modules and found != name:
                    graph[name].append((found, where))
    return graph


def upward_arrows() -> list[str]:
    bad = []
    for source, targets in import_graph().items():
        top = source.split(".")[0]
        allowed = _closure(top) | {top}
        for target, where in targets:
            other = target.split(".")[0]
            if other not in allowed:
                bad.append(f"{where}: {top} imports {target}")
            elif (top == "sysinit" and other == "sysproduction"
                  and target.split(".")[1].startswith("interactive_")):
                bad.append(f"{where}: sysinit imports the console {target}")
    return sorted(set(bad))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_cycles() -> list[list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for source, targets in import_graph().items():
        for target, _where in targets:
            a, b = source.split(".")[0], target.split(".")[0]
            if a != b:
                edges[a].add(b)
    return _cycles(edges)


def module_cycles(package: str) -> list[list[str]]:
    """Cycles between the modules of ``package`` at run time (packages' ``__init__`` re-exports
    and ``if TYPE_CHECKING:`` imports left out)."""
    modules = project_modules()
    is_init = {name for name, path in modules.items() if path.name == "__init__.py"}
    edges: dict[str, set[str]] = defaultdict(set)
    for source, targets in import_graph(type_checking=False).items():
        if source.split(".")[0] != package or source in is_init:
            continue
        for target, _where in targets:
            if target.split(".")[0] == package and target not in is_init:
                edges[source].add(target)
    return _cycles(edges)


def test_the_graph_sees_function_level_imports():
    # ``DataBlob.clock`` imports syscore.clock inside the property
    assert any(t == "syscore.clock" for t, _ in import_graph()["sysdata.data_blob"])


def test_no_import_points_up_the_table():
    assert upward_arrows() == []


def test_no_two_packages_import_each_other():
    assert package_cycles() == []


def test_no_two_modules_of_a_package_import_each_other():
    cycles = {package: module_cycles(package) for package in ORDER}
    assert {package: found for package, found in cycles.items() if found} == {}


def test_the_table_detects_an_upward_arrow():
    assert "sysbrokers" not in _closure("sysdata")
    assert "sysinit" not in _closure("sysproduction")
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
