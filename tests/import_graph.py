"""The import graph of our apps, read from the source (every import, also those inside functions).

Run as a script to print the import circles: `python -m tests.import_graph`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("healing", "monitoring", "approvals", "selfdebug", "selfheal_site")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name, resolved to a module of ours when it is one
    line: int
    top_level: bool  # False: inside a function or class body
    guarded: bool  # inside a try whose handlers catch ImportError/ModuleNotFoundError


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(apps: tuple[str, ...] = APPS) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for app in apps:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names: list[ast.expr] = []
    if handler.type is None:
        return False
    names = list(handler.type.elts) if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        isinstance(n, ast.Name) and n.id in {"ImportError", "ModuleNotFoundError"} for n in names
    )


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest prefix of `name` that is one of our modules, else `name` itself."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return name


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, top: bool, guarded: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(name, _resolve(alias.name, known), child.lineno, top, guarded)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    source = ".".join([*base, child.module] if child.module else base)
                else:
                    source = child.module or ""
                for alias in child.names:
                    # `from pkg import submodule` imports the submodule.
                    yield Import(
                        name, _resolve(f"{source}.{alias.name}", known), child.lineno, top, guarded
                    )
            elif isinstance(child, ast.Try):
                catches = any(_catches_import_error(h) for h in child.handlers)
                for stmt in child.body:
                    yield from visit_one(stmt, top, guarded or catches)
                for part in (*child.handlers, *child.orelse, *child.finalbody):
                    yield from visit_one(part, top, guarded)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from visit(child, False, guarded)
            else:
                yield from visit(child, top, guarded)

    def visit_one(node: ast.AST, top: bool, guarded: bool) -> Iterator[Import]:
        wrapper = ast.Module(body=[node], type_ignores=[])  # type: ignore[list-item]
        yield from visit(wrapper, top, guarded)

    yield from visit(tree, True, False)


def graph(apps: tuple[str, ...] = APPS) -> list[Import]:
    known = modules(apps)
    return [imp for name, path in known.items() for imp in imports_of(name, path, known)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), largest first."""
    ours = {e.importer for e in edges}
    adjacency: dict[str, set[str]] = {n: set() for n in ours}
    for e in edges:
        if e.target in ours and e.target != e.importer:
            adjacency[e.importer].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in adjacency[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(adjacency):
        if v not in index:
            strongconnect(v)
    return sorted(found, key=len, reverse=True)


def app_of(module: str) -> str:
    return module.partition(".")[0]


if __name__ == "__main__":
    edges = graph()
    for label, selected in (
        ("every import", edges),
        ("module-level imports only", [e for e in edges if e.top_level]),
    ):
        found = cycles(selected)
        print(f"{label}: {len(found)} circle(s)")
        for component in found:
            apps = sorted({app_of(m) for m in component})
            print(f"  {len(component)} modules across {', '.join(apps)}:")
            for m in component:
                print(f"    {m}")
    print("cross-app edges:")
    pairs: dict[tuple[str, str], int] = {}
    for e in edges:
        a, b = app_of(e.importer), app_of(e.target)
        if a != b and b in APPS:
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
    for (a, b), n in sorted(pairs.items()):
        print(f"  {a} -> {b}: {n}")
