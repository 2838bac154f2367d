"""Repair by search, for logic failures no template explains (a wrong operator, a bound off by one).

The functions the failing test calls are mutated one token at a time — a comparison, an arithmetic
or boolean operator, min/max, a small integer ±1 — and each mutant that still parses is run against
the failing test, then the whole suite. The first mutant that makes the test pass without breaking
another is proposed. Tests can be satisfied by a wrong fix, so these proposals carry the template
name `search.*`, a medium severity, and go through review like everything else.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fixes import ProposedFix, make_diff, syntax_ok
from .fixes.base import diff_applies
from .fixes.javascript import _code_only
from .fixes.python import _repo_functions
from .logger import DiagnosticLogger
from .results import Failure
from .runners import RunnerError, SandboxRunner

PY_SWAPS = {
    "<": ["<=", ">"],
    "<=": ["<", ">="],
    ">": [">=", "<"],
    ">=": [">", "<="],
    "==": ["!="],
    "!=": ["=="],
    "+": ["-"],
    "-": ["+"],
    "*": ["/", "+"],
    "/": ["//", "*"],
    "//": ["/"],
    "and": ["or"],
    "or": ["and"],
    "min": ["max"],
    "max": ["min"],
    "True": ["False"],
    "False": ["True"],
}
JS_SWAPS = {
    "<": ["<=", ">"],
    "<=": ["<", ">="],
    ">": [">=", "<"],
    ">=": [">", "<="],
    "===": ["!=="],
    "!==": ["==="],
    "+": ["-"],
    "-": ["+"],
    "*": ["/"],
    "&&": ["||"],
    "||": ["&&"],
    "min": ["max"],
    "max": ["min"],
}
_JS_TOKEN = re.compile(
    r"===|!==|<=|>=|&&|\|\||(?<![=!<>+\-])[<>](?!=)|(?<![+\-=])[+\-](?![+\-=])|\*(?!\*)|\b(?:min|max)\b|\b\d+\b"
)


@dataclass
class Mutant:
    path: str
    line: int
    before: str
    after: str
    text: str

    @property
    def description(self) -> str:
        return f"Change `{self.before}` to `{self.after}` on line {self.line} of {self.path}."


def called_names(test_line: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_$][\w$]*)\s*\(", test_line)) - {
        "assert", "assertEqual", "assertTrue", "strictEqual", "deepStrictEqual", "equal", "ok", "expect",
        "print", "len", "list", "dict", "set", "tuple", "int", "str", "float", "approx", "test", "it",
    }  # fmt: skip


def _python_targets(root: Path, case: Failure) -> Iterator[tuple[str, str, int, int]]:
    """(path, text, first line, last line) of the source functions the failing test calls."""
    names: set[str] = set(
        re.findall(r"where .*? = (?:[\w.]+\.)?(\w+)\(", case.message + case.details)
    )
    for frame in case.frames:
        if frame.path.endswith(".py") and not frame.path.startswith("/"):
            try:
                lines = (root / frame.path).read_text().splitlines()
                names |= called_names(lines[frame.line - 1])
            except (OSError, IndexError, UnicodeDecodeError):
                continue
    seen = set()
    for name in sorted(names):
        for path, text, node, _ in _repo_functions(root, name):
            key = (path, node.lineno)
            if key not in seen:
                seen.add(key)
                yield path, text, node.body[0].lineno, node.end_lineno or node.lineno


def _python_mutants(path: str, text: str, first: int, last: int) -> Iterator[Mutant]:
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    for tok in tokens:
        row, col = tok.start
        if not first <= row <= last or tok.type not in (
            tokenize.OP,
            tokenize.NAME,
            tokenize.NUMBER,
        ):
            continue
        options = PY_SWAPS.get(tok.string, [])
        if tok.type == tokenize.NUMBER and tok.string.isdigit() and int(tok.string) < 1000:
            options = [str(int(tok.string) + 1)] + (
                [str(int(tok.string) - 1)] if int(tok.string) > 0 else []
            )
        for option in options:
            src = lines[row - 1]
            new_line = src[:col] + option + src[col + len(tok.string) :]
            mutated = "".join(lines[: row - 1] + [new_line] + lines[row:])
            yield Mutant(path, row, tok.string, option, mutated)


def _js_targets(root: Path, case: Failure) -> Iterator[tuple[str, str, int, int]]:
    names: set[str] = set()
    for frame in case.frames:
        try:
            lines = (root / frame.path).read_text().splitlines()
            names |= called_names(lines[frame.line - 1])
        except (OSError, IndexError, UnicodeDecodeError):
            continue
    for path in sorted(root.rglob("*.js")):
        rel = path.relative_to(root)
        if {".git", "node_modules"} & set(rel.parts) or re.search(
            r"(\.test|\.spec|-test|_test)\.js$|^test", rel.name
        ):
            continue
        text = path.read_text(errors="replace")
        lines = text.splitlines()
        for name in sorted(names):
            for i, line in enumerate(lines):
                if re.search(
                    rf"\bfunction\s+{re.escape(name)}\s*\(|\b{re.escape(name)}\s*=\s*(?:function|\()",
                    line,
                ):
                    end = next(
                        (j for j in range(i + 1, len(lines)) if lines[j].startswith("}")),
                        len(lines) - 1,
                    )
                    yield str(rel), text, i + 2, end


def _js_mutants(path: str, text: str, first: int, last: int) -> Iterator[Mutant]:
    lines = text.splitlines(keepends=True)
    for row in range(first, last + 1):
        src = lines[row - 1]
        masked = _code_only(src)
        for m in _JS_TOKEN.finditer(masked):
            token = m.group(0)
            options = JS_SWAPS.get(token, [])
            if token.isdigit() and int(token) < 1000:
                options = [str(int(token) + 1)] + ([str(int(token) - 1)] if int(token) > 0 else [])
            for option in options:
                new_line = src[: m.start()] + option + src[m.end() :]
                yield Mutant(
                    path, row, token, option, "".join(lines[: row - 1] + [new_line] + lines[row:])
                )


def search_fix(
    runner: SandboxRunner,
    workspace: Any,
    tree: Path,
    case: Failure,
    baseline_failing: set[str],
    logger: DiagnosticLogger,
    *,
    budget: int = 25,
    pattern: str = "",
) -> tuple[ProposedFix, dict[str, Any]] | None:
    """The first single-token mutant that fixes `case` and breaks nothing, with its verification."""
    if "::" not in case.nodeid:
        return None
    is_js = case.language == "javascript"
    targets = _js_targets(tree, case) if is_js else _python_targets(tree, case)
    tried = 0
    with logger.context("search_fix", test=case.nodeid, budget=budget) as ctx:
        for path, text, first, last in targets:
            mutants = (
                _js_mutants(path, text, first, last)
                if is_js
                else _python_mutants(path, text, first, last)
            )
            for mutant in mutants:
                if tried >= budget:
                    ctx["result"] = {"tried": tried, "found": False}
                    return None
                if not syntax_ok(path, mutant.text):
                    continue
                diff = make_diff(path, text, mutant.text)
                if not diff_applies(tree, diff):
                    continue
                tried += 1
                try:
                    alone = runner.run(workspace, diff=diff, test_ids=[case.nodeid])
                except RunnerError:
                    continue
                if not any(c.nodeid == case.nodeid and c.outcome == "passed" for c in alone.cases):
                    continue
                try:
                    suite = runner.run(workspace, diff=diff)
                except RunnerError:
                    continue
                failing = {c.nodeid for c in suite.failures}
                if case.nodeid in failing or failing - baseline_failing or suite.error:
                    continue
                verdict = {
                    "passed": True,
                    "target_fixed": True,
                    "new_failures": [],
                    "still_failing": sorted(failing),
                    "all_pass": not failing,
                    "totals": suite.totals(),
                    "search_candidates_tried": tried,
                }
                ctx["result"] = {"tried": tried, "found": mutant.description}
                language = "javascript" if is_js else "python"
                fix = ProposedFix(
                    f"search.{language}_mutation", pattern, path, diff, mutant.description, language
                )
                return fix, verdict
        ctx["result"] = {"tried": tried, "found": False}
    return None
