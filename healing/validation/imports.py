"""New imports, checked against the workspace's allow and deny lists.

A denied import rejects the patch. With a non-empty allow list, an import that is neither on it
nor a module of the repository itself is reported (medium) and raises the safety level.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .base import FileChange, Finding, Stage, ValidationContext, register
from .grammars import text as node_text
from .grammars import walk
from .pyindex import PyIndex, index_for


def matches(module: str, entries: list[str]) -> bool:
    return any(module == e or module.startswith(e.rstrip(".") + ".") or e == "*" for e in entries)


def python_imports(index: PyIndex) -> list[tuple[str, int, int]]:
    found = []
    for node in index.imports:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, node.col_offset + 1) for alias in node.names)
        elif not node.level and node.module:
            found.append((node.module, node.lineno, node.col_offset + 1))
    return found


def tree_imports(change: FileChange, tree: object, language: str) -> list[tuple[str, int, int]]:
    added = set(change.added)
    found = []
    for node in walk(tree.root_node):  # type: ignore[attr-defined]
        line = node.start_point[0] + 1
        if line not in added:
            continue
        module = ""
        if node.type in {"import_statement", "export_statement"}:
            source = node.child_by_field_name("source")
            module = node_text(source)[1:-1] if source is not None else ""
        elif node.type == "call_expression":
            func = node_text(node.child_by_field_name("function"))
            args = node.child_by_field_name("arguments")
            if func in {"require", "import"} and args is not None and args.named_child_count:
                first = args.named_children[0]
                if first.type == "string":
                    module = node_text(first)[1:-1]
        elif node.type == "namespace_use_clause":
            module = node_text(node).split(" as ")[0].strip().lstrip("\\").replace("\\", ".")
        if module:
            found.append((module.removeprefix("node:"), line, node.start_point[1] + 1))
    return found


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
            tree = ctx.trees.get(change.path)
            language = change.language
            if tree is None or language is None or not change.added:
                continue
            if language == "python":
                index = index_for(ctx, change)
                imports = python_imports(index) if index is not None else []
            else:
                imports = tree_imports(change, tree, language)
            for module, line, col in imports:
                self._imports.append(module)
                if matches(module, deny):
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
