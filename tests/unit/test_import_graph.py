"""The layering of src/keystile, read from the source with `ast` (nothing is imported).

- `core/`, `models/`, `errors.py` and `config.py` import no area: they are what areas build on.
- Areas import each other without cycles: if `a` imports `b` (any module of it, at any depth,
  type-checking imports included), nothing in `b` imports `a`, directly or through others.
- Only the composition root (`app.py`, `areas.py`, `cli/`) imports every area.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import keystile

SRC = Path(keystile.__file__).parent
# Shared foundations: they may import each other, never an area.
FOUNDATIONS = {"core", "models", "errors", "config", "migrations"}
# The composition root: it exists to import the areas.
ROOT = {"app", "areas", "cli", "__main__", "__init__", "dev"}


def _unit(module: str) -> str | None:
    """`keystile.members.service` → `members`; None outside keystile."""
    parts = module.split(".")
    if parts[0] != "keystile":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every keystile module a file imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from keystile import members` imports the package `keystile.members`.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.startswith("keystile.")}


def unit_graph() -> dict[str, dict[str, set[str]]]:
    """unit → imported unit → the files that import it."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    units = {
        p.stem if p.is_file() else p.name for p in SRC.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    for path in SRC.rglob("*.py"):
        source = _unit(_module_name(path))
        assert source is not None
        for module in imports_of(path):
            target = _unit(module)
            if target is None or target == source:
                continue
            if target not in units:
                # `from keystile import errors` names a module; anything else must exist.
                continue
            graph[source][target].add(str(path.relative_to(SRC)))
    return graph


def areas(graph: dict[str, dict[str, set[str]]]) -> set[str]:
    names = set(graph) | {t for targets in graph.values() for t in targets}
    return names - FOUNDATIONS - ROOT


def cycles(graph: dict[str, dict[str, set[str]]], among: set[str]) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in among:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(among):
        if node not in index:
            visit(node)
    return sorted(found)


def test_foundations_import_no_area() -> None:
    graph = unit_graph()
    area_names = areas(graph)
    wrong = [
        f"{source} imports {target} ({', '.join(sorted(files))})"
        for source in sorted(FOUNDATIONS)
        for target, files in sorted(graph.get(source, {}).items())
        if target in area_names or target in ROOT
    ]
    assert wrong == []


def test_areas_import_each_other_without_cycles() -> None:
    graph = unit_graph()
    found = cycles(graph, areas(graph))
    detail = [
        f"{' <-> '.join(component)}: "
        + "; ".join(
            f"{s}->{t} ({', '.join(sorted(graph[s][t]))})" for s in component for t in component if t in graph[s]
        )
        for component in found
    ]
    assert detail == []


def test_the_checker_sees_a_cycle() -> None:
    """The cycle finder itself: a two-area loop and a three-area loop are reported, a chain is not."""
    graph = {
        "a": {"b": {"a/x.py"}},
        "b": {"a": {"b/y.py"}, "c": {"b/z.py"}},
        "c": {"d": {"c/x.py"}},
        "d": {"e": {"d/x.py"}},
        "e": {"c": {"e/x.py"}},
        "f": {"a": {"f/x.py"}},
    }
    assert cycles(graph, set(graph)) == [["a", "b"], ["c", "d", "e"]]


# Statement builders: a module that imports one writes SQL.
SQL_BUILDERS = {"select", "insert", "update", "delete", "exists", "func", "text", "union", "literal_column"}
# Where SQL may be written: each area's repository, and the shared foundations.
SQL_HOMES = {"core", "models", "migrations"}


def sql_outside_repositories() -> list[str]:
    """Modules outside repositories and core/ that import tables or statement builders, or run statements."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in SQL_HOMES or path.stem == "repository":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("keystile.models"):
                    found.append(f"{rel}:{node.lineno} imports tables ({node.module})")
                elif node.module.split(".")[0] == "sqlalchemy" and SQL_BUILDERS & {a.name for a in node.names}:
                    found.append(f"{rel}:{node.lineno} imports statement builders from {node.module}")
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "exec_driver_sql"}
            ):
                found.append(f"{rel}:{node.lineno} runs a statement (.{node.func.attr})")
    return found


def test_sql_lives_in_repositories_and_core() -> None:
    """Routes call services, services call repositories: no SQL anywhere else (docs/adding-an-area.md)."""
    assert sql_outside_repositories() == []


def test_routes_call_services_not_repositories() -> None:
    """A route parses, calls a service and shapes the answer; only services call repositories."""
    found = []
    for path in sorted(SRC.rglob("routes*.py")):
        rel = path.relative_to(SRC)
        for module in imports_of(path):
            if module.endswith(".repository"):
                found.append(f"{rel} imports {module}")
    assert found == []
