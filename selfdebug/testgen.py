"""Test generation: Hypothesis's ghostwriter writes property-based tests for a module without
tests; they run; the ones that pass are proposed as a LOW_RISK modification that only adds a test
file. Ghostwriting imports the module, so it runs in the sandbox like the tests themselves."""

from __future__ import annotations

import ast
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bugs import python_files
from .fixes import make_diff
from .runners import PY_TEST_GLOBS, RunnerError, SandboxRunner, find_tests, head_tree

# Run in the sandbox: the module's import-time code runs there, never in the worker. The text is
# printed between two markers, as the run's output also holds whatever the module printed.
_GHOSTWRITE = """
import importlib, sys
sys.path.insert(0, ".")
from hypothesis.extra import ghostwriter
module = importlib.import_module(sys.argv[1])
text = ghostwriter.magic(module)
print(sys.argv[2] + "\\n" + text + "\\n" + sys.argv[2], flush=True)
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


def ghostwrite(runner: SandboxRunner, workspace: Any, module: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module):
        raise TestGenError(f"{module!r} is not a module name")
    marker = f"--- ghostwritten {secrets.token_hex(8)} ---"
    ran = runner.run_command(workspace, ["python", "-c", _GHOSTWRITE, module, marker])
    if ran.cut_short:
        raise TestGenError(f"the sandbox stopped the ghostwriter: {ran.limit_hit}")
    parts = ran.output_tail.split(marker + "\n")
    if ran.detail.get("exit_code") != 0 or len(parts) < 3:
        tail = (ran.output_tail.strip().splitlines() or ["no output"])[-1]
        raise TestGenError(f"the ghostwriter could not write tests for {module}: {tail}")
    return parts[-2].removesuffix("\n")


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


def generate(runner: SandboxRunner, workspace: Any, module: str) -> GeneratedTests | None:
    text = ghostwrite(runner, workspace, module)
    try:
        compile(text, "<ghostwritten>", "exec")
    except (SyntaxError, ValueError) as exc:
        raise TestGenError(f"the ghostwriter's tests for {module} do not compile: {exc}") from exc
    relpath = f"test_{module.replace('.', '_')}_ghostwritten.py"
    if (head_tree(workspace) / relpath).exists():
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
    from healing.models import Workspace

    from .actions import do_record_fix, submit_proposal
    from .fixes import ProposedFix
    from .models import FixProposal

    workspace = Workspace.objects.get(pk=workspace_id)
    runner = SandboxRunner(timeout=tunables.get("diagnostics.test_timeout_seconds", workspace))
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
