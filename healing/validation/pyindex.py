"""One pruned walk per Python file: the calls, string literals and imports on the lines a patch
adds, and the names the file binds by import. Shared by the danger and import stages."""

from __future__ import annotations

import ast
from bisect import bisect_left
from dataclasses import dataclass, field

from .base import FileChange, ValidationContext


@dataclass
class PyIndex:
    calls: list[ast.Call] = field(default_factory=list)
    strings: list[ast.Constant] = field(default_factory=list)
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)
    aliases: dict[str, str] = field(
        default_factory=dict
    )  # 'sp' → 'subprocess', 'system' → 'os.system'


def _bind(aliases: dict[str, str], node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            top = alias.name.split(".")[0]
            aliases[alias.asname or top] = alias.name if alias.asname else top
    elif node.module and not node.level:
        for alias in node.names:
            aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def build(tree: ast.Module, added: set[int]) -> PyIndex:
    index = PyIndex()
    lines = sorted(added)
    count = len(lines)

    def touches(start: int, end: int) -> bool:
        i = bisect_left(lines, start)
        return i < count and lines[i] <= end

    for node in tree.body:  # module-level imports bind names for the whole file
        if isinstance(node, ast.Import | ast.ImportFrom):
            _bind(index.aliases, node)
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            if start is not None and not touches(
                start, getattr(child, "end_lineno", None) or start
            ):
                continue
            if isinstance(child, ast.Call):
                index.calls.append(child)
            elif isinstance(child, ast.Constant):
                if isinstance(child.value, str):
                    index.strings.append(child)
                continue
            elif isinstance(child, ast.Import | ast.ImportFrom):
                index.imports.append(child)
                _bind(index.aliases, child)
                continue
            stack.append(child)
    return index


def index_for(ctx: ValidationContext, change: FileChange) -> PyIndex | None:
    tree = ctx.trees.get(change.path)
    if not isinstance(tree, ast.Module):
        return None
    cache: dict[str, PyIndex] = ctx.__dict__.setdefault("_py_index", {})
    if change.path not in cache:
        cache[change.path] = build(tree, set(change.added))
    return cache[change.path]
