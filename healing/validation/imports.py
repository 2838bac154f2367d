"""New imports, checked against the workspace's allow and deny lists.

A denied import rejects the patch. With a non-empty allow list, an import that is neither on it
nor a module of the repository itself is reported (medium) and raises the safety level.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Any

from .base import FileChange, Finding, Stage, ValidationContext, register
from .grammars import text as node_text
from .grammars import walk
from .lines import LineMap
from .pyscan import normalise, scan
from .syntax import parse_before
from .tsscan import string_value


def matches(module: str, entries: list[str]) -> bool:
    """Whether `module` (or the module it is another name of: posix is os) is on the list."""
    names = {module, normalise(module)}
    return any(
        m == e or m.startswith(e.rstrip(".") + ".") or e == "*" for m in names for e in entries
    )


def python_imports(tree: ast.Module, text: str) -> list[tuple[str, int, int]]:
    """Every module the file imports: statements, and __import__/importlib with a literal name."""
    lines = LineMap(text)
    return [
        (module, lines.py_lines(node)[0], node.col_offset + 1)  # type: ignore[attr-defined]
        for module, node in scan(tree).imports
    ]


def tree_imports(tree: Any, text: str, language: str) -> list[tuple[str, int, int]]:
    lines = LineMap(text)
    found = []
    for node in walk(tree.root_node):
        module = ""
        if node.type in {"import_statement", "export_statement"}:
            module = string_value(node.child_by_field_name("source")) or ""
        elif node.type == "call_expression":
            func = node_text(node.child_by_field_name("function"))
            args = node.child_by_field_name("arguments")
            if func in {"require", "import"} and args is not None and args.named_child_count:
                module = string_value(args.named_children[0]) or ""
        elif node.type == "namespace_use_clause":
            module = node_text(node).split(" as ")[0].strip().lstrip("\\").replace("\\", ".")
        if module:
            line = lines.byte_lines(node.start_byte, node.end_byte)[0]
            found.append((module.removeprefix("node:"), line, node.start_point[1] + 1))
    return found


# (language, blob id) → the modules a file imported before the patch: a blob never changes.
_BEFORE: dict[tuple[str, str], Counter[str]] = {}


def new_imports(change: FileChange, tree: Any, language: str) -> list[tuple[str, int, int]]:
    """Imports the file has after the patch that it did not have before (each module counted)."""

    def of(t: Any, text: str) -> list[tuple[str, int, int]]:
        return python_imports(t, text) if language == "python" else tree_imports(t, text, language)

    after = of(tree, change.after or "")
    had: Counter[str] = Counter()
    if change.before is not None and not change.is_added:
        key = (language, change.before_sha)
        cached = _BEFORE.get(key) if change.before_sha else None
        if cached is not None:
            had = Counter(cached)
        else:
            old_tree, _ = parse_before(language, change.before)
            if old_tree is not None:
                had = Counter(module for module, _, _ in of(old_tree, change.before))
            if change.before_sha:
                if len(_BEFORE) >= 256:
                    _BEFORE.clear()
                _BEFORE[key] = Counter(had)
    added = set(change.added)
    out = []
    for module, line, col in after:
        if had[module] > 0 and line not in added:
            had[module] -= 1
            continue
        out.append((module, line, col))
    return out


def is_local(module: str, language: str, repo: Path) -> bool:
    if module.startswith((".", "/")):
        return True
    if language == "python":
        top = module.split(".")[0]
        return (repo / f"{top}.py").exists() or (repo / top).is_dir()
    return False


@register
class ImportStage(Stage):
    name = "imports"
    order = 50
    title = "Imports"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        ws = ctx.workspace
        deny = list(ws.import_denylist or [])
        allow = list(ws.import_allowlist or [])
        findings: list[Finding] = []
        self._imports: list[str] = []
        for change in ctx.readable_files():
            ctx.deadline.check()
            tree = ctx.trees.get(change.path)
            language = change.language
            if tree is None or language is None or change.is_removed:
                continue
            imports = new_imports(change, tree, language)
            judged: set[tuple[str, int]] = set()
            for module, line, col in imports:
                self._imports.append(module)
                denied = matches(module, deny)
                rule = "import.denied" if denied else "import.not_allowed"
                if (rule, line) in judged:
                    continue  # `from x import a, b` names x, x.a and x.b: one finding
                if denied:
                    judged.add((rule, line))
                    findings.append(
                        Finding(
                            "high",
                            f"import of {module!r} is denied in this workspace",
                            "import.denied",
                            file=change.path,
                            line=line,
                            column=col,
                            blocking=True,
                        )
                    )
                elif (
                    allow
                    and not matches(module, allow)
                    and not is_local(module, language, ws.repo_path)
                ):
                    judged.add((rule, line))
                    findings.append(
                        Finding(
                            "medium",
                            f"import of {module!r} is not on this workspace's allow list",
                            "import.not_allowed",
                            file=change.path,
                            line=line,
                            column=col,
                        )
                    )
        return findings

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        return {"new_imports": sorted(set(getattr(self, "_imports", [])))}
