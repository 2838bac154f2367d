"""Dangerous patterns, judged on the whole file as git will write it.

Each touched file's full new content is parsed (Python's ast, tree-sitter for JavaScript,
TypeScript and PHP) and every reference is resolved through imports and aliases (pyscan, tsscan).
A hit is the patch's when it sits on a line git's diff adds, or when the file holds more of it
after the patch than before (the same call moved, re-spelt or re-aliased elsewhere is still
counted). Secrets are looked for in the added lines of every file; files without a grammar
(shell scripts, SQL, YAML) fall back to a scan of their added lines.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from .base import FileChange, Finding, Stage, ValidationContext, register
from .danger_rules import (
    PY_SUBPROCESS,
    PY_WRITE_CALLS,
    SECRET_HINTS,
    SECRETS,
    TEXT_CODE,
    outside_repo_literal,
    scan_string,
)
from .lines import LineMap
from .pyscan import Hit, Located, scan
from .syntax import parse_before

# --- which hits are the patch's ---------------------------------------------------------------


def the_patchs(
    after: list[Located], before: list[Located] | None, added: set[int]
) -> list[Located]:
    """Hits on added lines, and for every kind of hit there is more of after the patch than
    before, that many more. `before` None: the old file did not parse, added lines only."""
    chosen = [h for h in after if any(n in added for n in range(h.lines[0], h.lines[1] + 1))]
    if before is None:
        return chosen
    had = Counter((h.hit.rule, h.key) for h in before)
    has = Counter((h.hit.rule, h.key) for h in after)
    shown = Counter((h.hit.rule, h.key) for h in chosen)
    for h in after:
        k = (h.hit.rule, h.key)
        if has[k] - had[k] > shown[k] and h not in chosen:
            chosen.append(h)
            shown[k] += 1
    return chosen


def _findings(located: Iterable[Located], path: str) -> list[Finding]:
    return [
        Finding(
            h.hit.severity,
            h.hit.message,
            h.hit.rule,
            file=path,
            line=h.lines[0],
            column=h.column,
            blocking=h.hit.blocking,
        )
        for h in located
    ]


# --- Python -----------------------------------------------------------------------------------


def python_hits(tree: ast.Module, text: str) -> list[Located]:
    facts = scan(tree)
    hits = list(facts.hits)
    for name, call in facts.calls:
        hits.extend(_python_call_hits(name, call))
    for node in facts.strings:
        hits.extend(
            Hit(sev, rule, msg, node, block)
            for sev, rule, msg, block in scan_string(str(node.value))
        )
    lines = LineMap(text)
    out = []
    for hit in hits:
        try:
            key = ast.unparse(hit.node)  # type: ignore[arg-type]
        except (ValueError, RecursionError, AttributeError):
            key = ast.dump(hit.node)
        out.append(Located(hit, key, lines.py_lines(hit.node), hit.node.col_offset + 1))  # type: ignore[attr-defined]
    return out


def _python_call_hits(name: str, node: ast.Call) -> list[Hit]:
    hits = []
    if name in PY_SUBPROCESS or name.startswith(("subprocess.", "asyncio.create_subprocess")):
        for kw in node.keywords:
            if kw.arg == "shell" and not (
                isinstance(kw.value, ast.Constant) and not kw.value.value
            ):
                hits.append(
                    Hit(
                        "high",
                        "danger.shell_true",
                        f"{name} with shell=True runs a shell command",
                        node,
                    )
                )
    if (
        name in {"yaml.load", "yaml.load_all", "yaml.unsafe_load", "yaml.full_load"}
        and not any(kw.arg == "Loader" for kw in node.keywords)
        and len(node.args) < 2
    ):
        hits.append(
            Hit(
                "high",
                "danger.deserialize",
                f"{name} without a safe Loader can build arbitrary objects",
                node,
            )
        )
    if name in PY_WRITE_CALLS or name.endswith(
        (".write_text", ".write_bytes", ".unlink", ".rmdir")
    ):
        hits.extend(_python_write(node, name))
    return hits


def _python_write(node: ast.Call, name: str) -> list[Hit]:
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
        Hit(
            "critical",
            "danger.write_outside",
            f"{name} writes outside the repository: {literal!r}",
            node,
            True,
        )
    ]


# --- text (secrets everywhere; the rest where there is no tree) -----------------------------


def secret_findings(change: FileChange) -> list[Finding]:
    findings: list[Finding] = []
    text = "\n".join(change.added.values()).lower()
    if not any(hint in text for hint in SECRET_HINTS):
        return findings
    for line_no, line in change.added.items():
        for pattern, severity, what, blocking in SECRETS:
            if pattern.search(line):  # type: ignore[attr-defined]
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
        for severity, rule, message, blocking in scan_string(line):
            findings.append(
                Finding(severity, message, rule, file=change.path, line=line_no, blocking=blocking)
            )
        for pattern, severity, rule, message in TEXT_CODE:
            if pattern.search(line):  # type: ignore[attr-defined]
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


# (language, blob id) → the hits of a file as it was: a blob never changes, and a base commit's
# files are judged again with every patch on it.
_BEFORE: dict[tuple[str, str], list[Located] | None] = {}


def _before_hits(
    change: FileChange, language: str, hits_of: Callable[[Any, str], list[Located]]
) -> list[Located] | None:
    if change.before is None or change.is_added:
        return []
    key = (language, change.before_sha)
    if change.before_sha and key in _BEFORE:
        return _BEFORE[key]
    tree, clean = parse_before(language, change.before)
    hits = hits_of(tree, change.before) if tree is not None and clean else None
    if change.before_sha:
        if len(_BEFORE) >= 256:
            _BEFORE.clear()
        _BEFORE[key] = hits
    return hits


@register
class DangerStage(Stage):
    name = "danger"
    order = 40
    title = "Dangerous patterns and secrets"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        from .tsscan import tree_hits

        findings: list[Finding] = []
        for change in ctx.readable_files():
            ctx.deadline.check()
            if change.is_binary or change.is_removed or change.after is None:
                continue
            findings.extend(secret_findings(change))
            tree = ctx.trees.get(change.path)
            language = change.language
            if tree is None or language is None:
                findings.extend(text_findings(change))
                continue
            if language == "python":
                hits_of: Callable[[Any, str], list[Located]] = python_hits
            else:

                def hits_of(t: Any, text: str, language: str = language) -> list[Located]:
                    return tree_hits(t, text, language)

            after = hits_of(tree, change.after)
            before = _before_hits(change, language, hits_of)
            findings.extend(_findings(the_patchs(after, before, set(change.added)), change.path))
        return _dedupe(findings)
