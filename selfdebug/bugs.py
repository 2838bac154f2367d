"""Static bug detection per file: pyflakes, bandit and a few AST checks.

Each finding has a tool, a code, a severity, a file and a line. Where a fix template exists for
the code (BUG_TEMPLATES), `propose_bug_fix` produces a validated diff through the same template
machinery as test failures.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyflakes.api
import pyflakes.messages as pm
import pyflakes.reporter

from healing.sandbox import TestOutcome

from .fixes import TEMPLATES, FixContext, ProposedFix
from .results import Failure, at

_SKIP = {".git", "node_modules", ".venv", "venv", "__pycache__", "site-packages"}

PYFLAKES_CODES: dict[type, tuple[str, str]] = {
    pm.UndefinedName: ("undefined-name", "high"),
    pm.UndefinedLocal: ("undefined-local", "high"),
    pm.UndefinedExport: ("undefined-export", "medium"),
    pm.UnusedImport: ("unused-import", "low"),
    pm.UnusedVariable: ("unused-variable", "low"),
    pm.RedefinedWhileUnused: ("redefined-unused", "medium"),
    pm.ImportStarUsed: ("import-star", "low"),
    pm.DuplicateArgument: ("duplicate-argument", "high"),
    pm.ReturnOutsideFunction: ("return-outside-function", "high"),
    pm.IsLiteral: ("is-literal", "medium"),
    pm.FStringMissingPlaceholders: ("fstring-without-placeholders", "low"),
    pm.MultiValueRepeatedKeyLiteral: ("repeated-dict-key", "medium"),
}


@dataclass
class BugFinding:
    tool: str
    code: str
    severity: str
    path: str
    line: int
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Collector(pyflakes.reporter.Reporter):
    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[BugFinding] = []

    def unexpectedError(self, filename: str, msg: str) -> None:  # noqa: N802 - pyflakes' API
        self.found.append(BugFinding("pyflakes", "unreadable", "medium", self.path, 1, str(msg)))

    def syntaxError(self, filename: str, msg: str, lineno: int, offset: int, text: str) -> None:  # noqa: N802
        self.found.append(
            BugFinding("pyflakes", "syntax-error", "high", self.path, lineno or 1, str(msg))
        )

    def flake(self, message: pm.Message) -> None:
        code, severity = PYFLAKES_CODES.get(type(message), (type(message).__name__, "low"))
        detail = {"args": [str(a) for a in message.message_args]}
        self.found.append(
            BugFinding(
                "pyflakes",
                code,
                severity,
                self.path,
                message.lineno,
                message.message % message.message_args,
                detail,
            )
        )


def python_files(tree: Path) -> list[Path]:
    return sorted(
        p for p in tree.rglob("*.py") if not _SKIP.intersection(p.relative_to(tree).parts)
    )


_RISKY_CALLS = {("json", "loads"), ("json", "load"), ("urllib.request", "urlopen"), ("", "open")}


def ast_findings(relpath: str, text: str) -> list[BugFinding]:
    """Bare excepts, and risky I/O outside any try block inside a function."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found = []
    protected: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            found.append(
                BugFinding(
                    "ast",
                    "bare-except",
                    "medium",
                    relpath,
                    node.lineno,
                    "A bare `except:` also catches KeyboardInterrupt and SystemExit.",
                )
            )
        if isinstance(node, ast.Try):
            for sub in node.body:
                protected.update(id(n) for n in ast.walk(sub))
        if isinstance(node, ast.With):
            protected.add(id(node))
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if not isinstance(node, ast.Call) or id(node) in protected:
                continue
            target = node.func
            owner, name = "", ""
            if isinstance(target, ast.Name):
                name = target.id
            elif isinstance(target, ast.Attribute):
                name = target.attr
                owner = ast.unparse(target.value)
            if (owner, name) in _RISKY_CALLS:
                label = f"{owner}.{name}" if owner else name
                found.append(
                    BugFinding(
                        "ast",
                        "missing-error-handling",
                        "low",
                        relpath,
                        node.lineno,
                        f"`{label}()` can raise on bad input or a missing file and nothing here handles it.",
                    )
                )
    return found


def bandit_findings(tree: Path, files: list[Path], timeout: float = 120) -> list[BugFinding]:
    exe = shutil.which("bandit") or str(Path(sys.executable).with_name("bandit"))
    if not Path(exe).exists() or not files:
        return []
    proc = subprocess.run(
        [exe, "-q", "-f", "json", *[str(f.relative_to(tree)) for f in files]],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        data = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        return []
    found = []
    for item in data.get("results", []):
        found.append(
            BugFinding(
                "bandit",
                f"{item.get('test_id', '')}:{item.get('test_name', '')}",
                str(item.get("issue_severity", "LOW")).lower(),
                str(Path(item.get("filename", "")).as_posix()).removeprefix("./"),
                int(item.get("line_number") or 1),
                item.get("issue_text", ""),
                {
                    "confidence": str(item.get("issue_confidence", "")).lower(),
                    "cwe": item.get("issue_cwe", {}),
                },
            )
        )
    return found


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py") or "tests" in path.parts


def scan_tree(tree: Path, *, use_bandit: bool = True) -> list[BugFinding]:
    files = python_files(tree)
    found: list[BugFinding] = []
    for path in files:
        rel = str(path.relative_to(tree))
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        collector = _Collector(rel)
        pyflakes.api.check(text, rel, collector)
        found.extend(collector.found)
        found.extend(ast_findings(rel, text))
    if use_bandit:
        # Tests use assert and fixtures on purpose; bandit looks at the code under test.
        found.extend(
            bandit_findings(tree, [f for f in files if not _is_test_file(f.relative_to(tree))])
        )
    return sorted(found, key=lambda b: (b.path, b.line, b.code))


BUG_TEMPLATES = {
    "undefined-name": "python.name_close_match",
    "unused-import": "python.remove_unused_import",
    "bare-except": "python.bare_except",
}


def propose_bug_fix(tree: Path, bug: BugFinding) -> ProposedFix | None:
    template = TEMPLATES.get(BUG_TEMPLATES.get(bug.code, ""))
    if template is None:
        return None
    args = bug.detail.get("args") or []
    groups = {"name": args[0] if args else ""}
    message = (
        f"NameError: name '{groups['name']}' is not defined"
        if bug.code == "undefined-name"
        else bug.message
    )
    case = Failure(
        TestOutcome(
            nodeid=bug.path, outcome="failed", message=message, traceback=at(bug.path, bug.line)
        ),
        language="python",
    )
    return template.propose(
        FixContext(root=tree, case=case, groups=groups, pattern=f"bug-{bug.code}")
    )
