"""One walk per Python file: the calls, string literals and imports on the lines a patch adds,
and the names the file binds by import. Shared by the danger and import stages.

Statements are visited first (there are few); an added statement's expressions are walked only
when its source mentions a name or a word the danger stage cares about. A call's name and a
string's text are in the statement's own source, so nothing that could match is skipped.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .base import FileChange, ValidationContext
from .danger_rules import PY_TRIGGER_WORDS, RISKY_TEXT

BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def build(
    tree: ast.Module,
    added: Iterable[int],
    source_lines: list[str],
    trigger_words: frozenset[str],
    trigger_text: Callable[[str], bool],
) -> PyIndex:
    index = PyIndex()
    lines = sorted(added)
    count = len(lines)

    def touches(start: int, end: int) -> bool:
        i = bisect_left(lines, start)
        return i < count and lines[i] <= end

    for node in tree.body:  # module-level imports bind names for the whole file
        if isinstance(node, ast.Import | ast.ImportFrom):
            _bind(index.aliases, node)
    triggers = trigger_words | {
        name
        for name, target in index.aliases.items()
        if not trigger_words.isdisjoint(target.split("."))
    }

    def triggered(start: int, end: int) -> bool:
        text = "\n".join(source_lines[start - 1 : end])
        return trigger_text(text) or not triggers.isdisjoint(_WORD.findall(text))

    def collect(nodes: Iterable[ast.AST]) -> None:
        for root in nodes:
            for node in ast.walk(root):
                if isinstance(node, ast.Call | ast.Constant):
                    start = node.lineno
                    if not touches(start, node.end_lineno or start):
                        continue
                    if isinstance(node, ast.Call):
                        index.calls.append(node)
                    elif isinstance(node.value, str):
                        index.strings.append(node)
                elif isinstance(node, ast.Import | ast.ImportFrom) and touches(
                    node.lineno, node.lineno
                ):
                    index.imports.append(node)
                    _bind(index.aliases, node)

    stack: list[ast.AST] = list(tree.body)
    while stack:
        stmt = stack.pop()
        start = getattr(stmt, "lineno", None)
        nested = [child for name in BODY_FIELDS for child in getattr(stmt, name, None) or []]
        if start is None:  # match_case: no position of its own
            stack.extend(nested)
            continue
        end = getattr(stmt, "end_lineno", None) or start
        if not touches(start, end):
            continue
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            index.imports.append(stmt)
            _bind(index.aliases, stmt)
            continue
        if not nested:
            if triggered(start, end):
                collect([stmt])
            continue
        stack.extend(nested)
        decorators = getattr(stmt, "decorator_list", None) or []
        header_start = min([start, *(d.lineno for d in decorators)])
        header_end = min(getattr(c, "lineno", end) for c in nested) - 1
        if touches(header_start, max(header_end, start)) and triggered(
            header_start, max(header_end, start)
        ):
            collect(v for name, v in _header_fields(stmt))
    return index


def _header_fields(stmt: ast.AST) -> Iterable[tuple[str, ast.AST]]:
    for name, value in ast.iter_fields(stmt):
        if name in BODY_FIELDS:
            continue
        if isinstance(value, ast.AST):
            yield name, value
        elif isinstance(value, list):
            yield from ((name, v) for v in value if isinstance(v, ast.AST))


def index_for(ctx: ValidationContext, change: FileChange) -> PyIndex | None:
    tree = ctx.trees.get(change.path)
    if not isinstance(tree, ast.Module) or change.after is None:
        return None
    cache: dict[str, PyIndex] = ctx.__dict__.setdefault("_py_index", {})
    if change.path not in cache:
        cache[change.path] = build(
            tree,
            change.added,
            change.after.splitlines(),
            PY_TRIGGER_WORDS,
            lambda t: bool(RISKY_TEXT.search(t)),
        )
    return cache[change.path]
