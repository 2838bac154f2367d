"""A patch must not pass by weakening its judge: changes to the tests themselves are found here
(deleted or skipped tests, fewer or looser assertions, edited test configuration) and the
policy never rates such a patch SAFE or LOW_RISK."""

from __future__ import annotations

import ast
import fnmatch
from typing import Any

from .base import FileChange, Finding, Stage, ValidationContext, register
from .rules import compile_rule
from .syntax import parse_before

TEST_FILE_GLOBS = [
    "test_*.py",
    "*_test.py",
    "tests.py",
    "*.test.js",
    "*.spec.js",
    "*.test.ts",
    "*.spec.ts",
    "*.test.tsx",
    "*.spec.tsx",
    "*.test.jsx",
    "*.spec.jsx",
    "*.test.mjs",
    "*Test.php",
    "*_test.php",
]
TEST_DIRS = ("tests/", "test/", "__tests__/", "spec/")
TEST_CONFIG_GLOBS = [
    "conftest.py",
    "pytest.ini",
    "tox.ini",
    "setup.cfg",
    "pyproject.toml",
    "noxfile.py",
    ".coveragerc",
    "jest.config.*",
    "vitest.config.*",
    "karma.conf.*",
    ".mocharc*",
    "mocha.opts",
    "playwright.config.*",
    "cypress.config.*",
    "phpunit.xml",
    "phpunit.xml.dist",
    "package.json",
    "tsconfig.json",
    "babel.config.*",
]

SKIP_ADDED = compile_rule(
    r"@pytest\.mark\.(?:skip|skipif|xfail)|pytest\.skip\(|pytest\.xfail\(|@unittest\.skip|unittest\.skip\(|"
    r"\bself\.skipTest\(|\b(?:xit|xdescribe|xtest)\s*\(|\b(?:it|describe|test)\.(?:skip|todo)\s*\(|"
    r"markTestSkipped|markTestIncomplete|@group\s+skip|--deselect|-k\s+['\"]?not\b|"
    r"\bassert\s+True\b|expect\(true\)\.toBe\(true\)|assertTrue\(true\)"
)
TEST_DEF = compile_rule(
    r"^\s*(?:async\s+)?def\s+test|^\s*(?:it|test)\s*\(|^\s*(?:public\s+)?function\s+test"
)
ASSERTION = compile_rule(
    r"\bassert\b|\bexpect\s*\(|\$this->assert|\bassert[A-Z]\w*\(|\.should\b|self\.assert"
)


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def is_test_file(path: str) -> bool:
    name = basename(path)
    return (
        any(fnmatch.fnmatch(name, g) for g in TEST_FILE_GLOBS)
        or path.startswith(TEST_DIRS)
        or any(f"/{d}" in path for d in TEST_DIRS)
    )


def is_test_config(path: str) -> bool:
    name = basename(path)
    return any(fnmatch.fnmatch(name, g) for g in TEST_CONFIG_GLOBS)


def _python_counts(tree: ast.AST | None) -> tuple[int, int] | None:
    """(test functions, assert statements) of a Python file's tree, None when it did not parse."""
    if tree is None:
        return None
    tests = asserts = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            tests += 1
        elif isinstance(node, ast.Assert):
            asserts += 1
        elif isinstance(node, ast.Call):
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name.startswith("assert") or name in {"raises", "assertRaises"}:
                asserts += 1
    return tests, asserts


def _text_counts(lines: list[str]) -> tuple[int, int]:
    return sum(bool(TEST_DEF.search(x)) for x in lines), sum(
        bool(ASSERTION.search(x)) for x in lines
    )


def weakening(change: FileChange, after_tree: Any = None) -> list[Finding]:
    """`after_tree`: the syntax stage's tree of the file after the patch (None: it did not
    parse); the tree before is the one the danger and import stages share."""
    path = change.path
    findings: list[Finding] = []
    if change.is_removed:
        return [Finding("high", "deletes a test file", "tests.deleted", file=path)]
    for line_no, line in change.added.items():
        if SKIP_ADDED.search(line):
            findings.append(
                Finding(
                    "high",
                    f"skips or neutralises a test: {line.strip()[:80]!r}",
                    "tests.skipped",
                    file=path,
                    line=line_no,
                )
            )
    before = after = None
    if change.language == "python":
        old_tree = parse_before("python", change.before)[0] if change.before is not None else None
        before, after = _python_counts(old_tree), _python_counts(after_tree)
    if before is None or after is None:
        before = _text_counts(list(change.removed.values()))
        after = _text_counts(list(change.added.values()))
    if after[0] < before[0]:
        findings.append(
            Finding("high", f"removes {before[0] - after[0]} test(s)", "tests.removed", file=path)
        )
    if after[1] < before[1]:
        findings.append(
            Finding(
                "high",
                f"removes or loosens {before[1] - after[1]} assertion(s)",
                "tests.assertions_removed",
                file=path,
            )
        )
    return findings


@register
class ChangedTestsStage(Stage):
    name = "tests"
    order = 60
    title = "Changes to the tests"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for change in ctx.readable_files():
            ctx.deadline.check()
            if is_test_config(change.path):
                findings.append(
                    Finding("medium", "edits test configuration", "tests.config", file=change.path)
                )
            elif is_test_file(change.path) and (change.removed or change.is_removed):
                findings.extend(weakening(change, ctx.trees.get(change.path)))
            elif is_test_file(change.path):
                findings.extend(
                    Finding(
                        "high",
                        f"skips or neutralises a test: {line.strip()[:80]!r}",
                        "tests.skipped",
                        file=change.path,
                        line=n,
                    )
                    for n, line in change.added.items()
                    if SKIP_ADDED.search(line)
                )
        return findings


WEAKENING_RULES = frozenset(
    {"tests.deleted", "tests.skipped", "tests.removed", "tests.assertions_removed", "tests.config"}
)
