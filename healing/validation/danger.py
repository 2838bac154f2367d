"""Dangerous patterns, on syntax trees: only code the patch adds is judged.

Calls are recognised by their resolved names in the tree (so a comment or a docstring that says
"os.system" is not a hit); string literals are scanned for shell and SQL destruction; added lines
of every file are scanned for private keys and tokens. Files without a grammar (shell scripts, SQL,
YAML) fall back to a scan of their added lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from .base import FileChange, Finding, Stage, ValidationContext, register
from .danger_rules import (
    HARMLESS_PATHS,
    HARMLESS_PREFIXES,
    JS_CALLS,
    JS_WRITE_CALLS,
    PHP_CALLS,
    PHP_WRITE_CALLS,
    PY_CALLS,
    PY_SUBPROCESS,
    PY_WRITE_CALLS,
    RISKY_TEXT,
    RM_RF,
    RM_RF_ROOTS,
    SECRET_HINTS,
    SECRETS,
    SQL_DELETE_ALL,
    SQL_DESTROY,
    TEXT_CODE,
)
from .grammars import text as node_text
from .grammars import walk
from .pyindex import PyIndex, index_for


def scan_string(value: str, file: str, line: int, column: int | None) -> list[Finding]:
    findings = []
    for match in RM_RF.finditer(value):
        root = RM_RF_ROOTS.match(match["rest"])
        findings.append(
            Finding(
                "critical" if root else "high",
                f"recursive forced delete: {match.group(0).strip()[:80]!r}",
                "danger.rm_rf",
                file=file,
                line=line,
                column=column,
                blocking=bool(root),
            )
        )
    if SQL_DESTROY.search(value):
        findings.append(
            Finding(
                "high",
                f"destructive SQL: {value.strip()[:80]!r}",
                "danger.sql_destroy",
                file=file,
                line=line,
                column=column,
            )
        )
    elif SQL_DELETE_ALL.search(value):
        findings.append(
            Finding(
                "medium",
                f"DELETE without WHERE: {value.strip()[:80]!r}",
                "danger.sql_delete_all",
                file=file,
                line=line,
                column=column,
            )
        )
    return findings


def outside_repo_literal(value: str) -> bool:
    """A literal path that points outside the repository: absolute, home, or climbing out."""
    if value in HARMLESS_PATHS or value.startswith(HARMLESS_PREFIXES):
        return False
    return (
        value.startswith(("/", "~", "\\"))
        or value.startswith("../")
        or "/../" in value
        or bool(re.match(r"^[A-Za-z]:[\\/]", value))
    )


# --- Python -------------------------------------------------------------------------------


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _resolve(name: str, aliases: dict[str, str]) -> str:
    head, _, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + (f".{rest}" if rest else "")
    return name


def python_findings(change: FileChange, index: PyIndex) -> list[Finding]:
    """Calls and strings on added lines (the index holds only those)."""
    aliases = index.aliases
    findings: list[Finding] = []
    path = change.path
    for node in index.calls:
        name = _resolve(dotted(node.func), aliases)
        line, col = node.lineno, node.col_offset + 1
        if name in PY_CALLS:
            severity, rule, message = PY_CALLS[name]
            findings.append(
                Finding(severity, f"{name}: {message}", rule, file=path, line=line, column=col)
            )
        if name in PY_SUBPROCESS or name.startswith("subprocess."):
            for kw in node.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and not kw.value.value
                ):
                    findings.append(
                        Finding(
                            "high",
                            f"{name} with shell=True runs a shell command",
                            "danger.shell_true",
                            file=path,
                            line=line,
                            column=col,
                        )
                    )
        if (
            name in {"yaml.load", "yaml.load_all"}
            and not any(kw.arg == "Loader" for kw in node.keywords)
            and len(node.args) < 2
        ):
            findings.append(
                Finding(
                    "high",
                    f"{name} without a safe Loader can build arbitrary objects",
                    "danger.deserialize",
                    file=path,
                    line=line,
                    column=col,
                )
            )
        if name in PY_WRITE_CALLS or name.endswith(
            (".write_text", ".write_bytes", ".unlink", ".rmdir")
        ):
            findings.extend(_python_write(node, name, path))
    for node in index.strings:
        if RISKY_TEXT.search(node.value):
            findings.extend(scan_string(node.value, path, node.lineno, node.col_offset + 1))
    return findings


def _python_write(node: ast.Call, name: str, path: str) -> list[Finding]:
    literal = None
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        literal = node.args[0].value
    elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call):
        inner = node.func.value  # Path("/etc/x").write_text(...)
        if (
            inner.args
            and isinstance(inner.args[0], ast.Constant)
            and isinstance(inner.args[0].value, str)
        ):
            literal = inner.args[0].value
    if literal is None or not outside_repo_literal(literal):
        return []
    if name in {"open", "io.open"}:
        mode = (
            node.args[1]
            if len(node.args) > 1
            else next((k.value for k in node.keywords if k.arg == "mode"), None)
        )
        mode_text = (
            mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"
        )
        if not set(mode_text) & set("wax+"):
            return []
    return [
        Finding(
            "critical",
            f"{name} writes outside the repository: {literal!r}",
            "danger.write_outside",
            file=path,
            line=node.lineno,
            column=node.col_offset + 1,
            blocking=True,
        )
    ]


# --- JavaScript / TypeScript / PHP (tree-sitter) --------------------------------------------


def _node_on_added(node: object, added: set[int]) -> bool:
    start = node.start_point[0] + 1  # type: ignore[attr-defined]
    end = node.end_point[0] + 1  # type: ignore[attr-defined]
    return any(n in added for n in range(start, end + 1))


def _first_string_arg(args: object) -> str | None:
    if args is None:
        return None
    for child in args.named_children:  # type: ignore[attr-defined]
        target = (
            child.named_children[0] if child.type == "argument" and child.named_children else child
        )
        if target.type in {"string", "encapsed_string", "template_string"}:
            return node_text(target)[1:-1]
        return None
    return None


def tree_findings(change: FileChange, tree: object, language: str) -> list[Finding]:
    added = set(change.added)
    path = change.path
    findings: list[Finding] = []
    calls = PHP_CALLS if language == "php" else JS_CALLS
    writes = PHP_WRITE_CALLS if language == "php" else JS_WRITE_CALLS
    for node in walk(tree.root_node):  # type: ignore[attr-defined]
        kind = node.type
        if kind in {"call_expression", "new_expression", "function_call_expression"}:
            if not _node_on_added(node, added):
                continue
            func = (
                node.child_by_field_name("function")
                or node.child_by_field_name("constructor")
                or node.child_by_field_name("name")
            )
            name = node_text(func).replace("?.", ".").lstrip("\\")
            args = node.child_by_field_name("arguments")
            line, col = node.start_point[0] + 1, node.start_point[1] + 1
            if name in calls:
                severity, rule, message = calls[name]
                findings.append(
                    Finding(severity, f"{name}: {message}", rule, file=path, line=line, column=col)
                )
            elif name == "setTimeout" and _first_string_arg(args) is not None:
                findings.append(
                    Finding(
                        "medium",
                        "setTimeout with a string runs code",
                        "danger.eval",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            elif (
                language != "php"
                and name.endswith((".exec", ".execSync"))
                and "child" in name.lower()
            ):
                findings.append(
                    Finding(
                        "high",
                        f"{name}: runs a shell command",
                        "danger.os_system",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            if name in {
                "spawn",
                "child_process.spawn",
                "spawnSync",
                "child_process.spawnSync",
            } and "shell: true" in node_text(args).replace("'", "").replace('"', ""):
                findings.append(
                    Finding(
                        "high",
                        f"{name} with shell: true",
                        "danger.shell_true",
                        file=path,
                        line=line,
                        column=col,
                    )
                )
            if name in writes:
                literal = _first_string_arg(args)
                if literal is not None and outside_repo_literal(literal):
                    if name == "fopen" and not re.search(
                        r"[wax+]", node_text(args).split(",", 1)[-1]
                    ):
                        continue
                    findings.append(
                        Finding(
                            "critical",
                            f"{name} writes outside the repository: {literal!r}",
                            "danger.write_outside",
                            file=path,
                            line=line,
                            column=col,
                            blocking=True,
                        )
                    )
        elif kind == "shell_command_expression" and _node_on_added(node, added):
            findings.append(
                Finding(
                    "high",
                    "backtick shell command",
                    "danger.os_system",
                    file=path,
                    line=node.start_point[0] + 1,
                    column=node.start_point[1] + 1,
                )
            )
            findings.extend(
                scan_string(node_text(node), path, node.start_point[0] + 1, node.start_point[1] + 1)
            )
        elif kind in {
            "string",
            "template_string",
            "encapsed_string",
            "string_value",
            "heredoc",
            "nowdoc",
        } and _node_on_added(node, added):
            if node.parent is not None and node.parent.type in {
                "string",
                "template_string",
                "encapsed_string",
            }:
                continue
            findings.extend(
                scan_string(node_text(node), path, node.start_point[0] + 1, node.start_point[1] + 1)
            )
    return findings


# --- text (secrets everywhere; the rest where there is no tree) -----------------------------


def secret_findings(change: FileChange) -> list[Finding]:
    findings: list[Finding] = []
    text = "\n".join(change.added.values()).lower()
    if not any(hint in text for hint in SECRET_HINTS):
        return findings
    for line_no, line in change.added.items():
        for pattern, severity, what, blocking in SECRETS:
            if pattern.search(line):
                findings.append(
                    Finding(
                        severity,
                        f"adds {what}",
                        "secret.added",
                        file=change.path,
                        line=line_no,
                        blocking=blocking,
                    )
                )
                break
    return findings


def text_findings(change: FileChange) -> list[Finding]:
    findings: list[Finding] = []
    for line_no, line in change.added.items():
        findings.extend(scan_string(line, change.path, line_no, None))
        for pattern, severity, rule, message in TEXT_CODE:
            if pattern.search(line):
                findings.append(
                    Finding(
                        severity,
                        message,
                        rule,
                        file=change.path,
                        line=line_no,
                        blocking=severity == "critical",
                    )
                )
    return findings


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.file, f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


@register
class DangerStage(Stage):
    name = "danger"
    order = 40
    title = "Dangerous patterns and secrets"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for change in ctx.readable_files():
            if change.is_binary or not change.added:
                continue
            findings.extend(secret_findings(change))
            tree = ctx.trees.get(change.path)
            language = change.language
            index = index_for(ctx, change) if language == "python" else None
            if index is not None:
                findings.extend(python_findings(change, index))
            elif tree is not None and language is not None:
                findings.extend(tree_findings(change, tree, language))
            else:
                findings.extend(text_findings(change))
        return _dedupe(findings)
