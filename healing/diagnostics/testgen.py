"""Test generation: Hypothesis's ghostwriter writes property-based tests for a module without
tests; they run (with the configured runner); the ones that pass are proposed as a LOW_RISK
modification that only adds a test file."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bugs import python_files
from .fixes import make_diff
from .runners import PY_TEST_GLOBS, RunnerError, TestRunner, clean_env, find_tests, scratch_tree

_GHOSTWRITE = """
import importlib, sys
sys.path.insert(0, ".")
from hypothesis.extra import ghostwriter
module = importlib.import_module(sys.argv[1])
print(ghostwriter.magic(module))
"""


class TestGenError(Exception):
    __test__ = False  # not a pytest test class


@dataclass
class GeneratedTests:
    __test__ = False

    module: str
    path: str
    diff: str
    kept: list[str]
    dropped: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "path": self.path,
            "kept": self.kept,
            "dropped": self.dropped,
        }


def module_name(relpath: str) -> str:
    parts = list(Path(relpath).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_without_tests(tree: Path) -> list[str]:
    """Python modules that no test file mentions by name."""
    tests = find_tests(tree, PY_TEST_GLOBS)
    test_text = "\n".join((tree / t).read_text(errors="replace") for t in tests)
    found = []
    for path in python_files(tree):
        rel = str(path.relative_to(tree))
        if rel in tests or path.name in {"conftest.py", "setup.py", "__init__.py"}:
            continue
        name = module_name(rel)
        if not re.search(rf"\b{re.escape(name.split('.')[-1])}\b", test_text):
            found.append(name)
    return found


def ghostwrite(tree: Path, module: str, timeout: float = 120) -> str:
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module):
        raise TestGenError(f"{module!r} is not a module name")
    with tempfile.TemporaryDirectory(prefix="selfheal-ghost-") as home:
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _GHOSTWRITE, module],
                cwd=tree,
                env=clean_env(Path(home)),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TestGenError(f"the ghostwriter ran past {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TestGenError(f"the ghostwriter could not write tests for {module}: {tail}")
    return proc.stdout


def drop_tests(text: str, names: set[str]) -> str:
    """Remove top-level test functions by name (with their decorators)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
            spans.append((start, node.end_lineno or node.lineno))
    for start, end in sorted(spans, reverse=True):
        del lines[start:end]
    return "".join(lines)


def generate(
    runner: TestRunner, workspace: Any, module: str, timeout: float = 120
) -> GeneratedTests | None:
    with scratch_tree(Path(workspace.path)) as tree:
        text = ghostwrite(tree, module, timeout)
    compile(text, "<ghostwritten>", "exec")
    relpath = f"test_{module.replace('.', '_')}_ghostwritten.py"
    if (Path(workspace.path) / relpath).exists():
        raise TestGenError(f"{relpath} exists already")
    try:
        result = runner.run(workspace, diff=make_diff(relpath, "", text), test_ids=[relpath])
    except RunnerError as exc:
        raise TestGenError(str(exc)) from exc
    ours = [c for c in result.cases if c.nodeid.startswith(relpath + "::")]
    failing = {c.nodeid.split("::")[-1] for c in ours if c.outcome != "passed"}
    kept = [c.nodeid.split("::")[-1] for c in ours if c.outcome == "passed"]
    if not kept:
        return None
    final = drop_tests(text, failing) if failing else text
    if failing:
        # Confirm what is left passes on its own, as it will be proposed.
        check = runner.run(workspace, diff=make_diff(relpath, "", final), test_ids=[relpath])
        if not check.cases or any(c.outcome != "passed" for c in check.cases):
            return None
    return GeneratedTests(module, relpath, make_diff(relpath, "", final), kept, sorted(failing))


def generate_and_propose(workspace_id: int, module: str, requested_by_id: int | None = None) -> Any:
    from django.contrib.auth import get_user_model

    from healing import tunables
    from healing.models import FixProposal, Workspace

    from .actions import do_record_fix, submit_proposal
    from .fixes import ProposedFix
    from .runners import get_runner

    workspace = Workspace.objects.get(pk=workspace_id)
    settings = tunables.get_group("diagnostics.", workspace)
    runner = get_runner(
        settings["diagnostics.runner"], timeout=settings["diagnostics.test_timeout_seconds"]
    )
    generated = generate(runner, workspace, module)
    if generated is None:
        return None
    fix = ProposedFix(
        "ghostwriter",
        "testgen",
        generated.path,
        generated.diff,
        f"Property-based tests for {module} (Hypothesis ghostwriter); {len(generated.kept)} kept, "
        f"{len(generated.dropped)} that failed dropped.",
        "python",
    )
    proposal = do_record_fix(
        workspace,
        fix,
        origin=FixProposal.Origin.TESTGEN,
        source="builtin:ghostwriter",
        verification={"passed": True, **generated.as_dict()},
    )
    actor = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    # Adding tests only: low severity, and the metadata asks for LOW_RISK (the policy decides).
    return submit_proposal(
        proposal,
        actor or "system:diagnostics",
        error_type="logic",
        severity="low",
        metadata={"safety_hint": "LOW_RISK", "kind": "tests"},
    )
