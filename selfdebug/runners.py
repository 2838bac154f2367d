"""The one way self-debugging runs a workspace's code: through the sandbox.

Every run — the diagnostic run, the reruns of progressive isolation, fix verification, the search's
mutants, test generation — is a `healing.sandbox.run_command` on a scratch tree of HEAD (with a
diff applied), through the backend of the workspace's isolation level, with its limits. Where that
level cannot be had, `IsolationUnavailable` goes up and the diagnostic is blocked, never run with
less. Nothing of the workspace is imported or executed in the worker.

The sources are read (patterns, fix templates, static analysis) in `head_tree`, the sandbox's own
cached checkout of HEAD, which no test run writes to.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import time
from pathlib import Path
from typing import Any

from healing import sandbox
from healing.sandbox.scratch import DiffDoesNotApply, base_tree

from .results import RunResult, is_js, node_load_failure, read_node, read_pytest


class RunnerError(Exception):
    """The tests could not be run at all (not: some tests failed)."""


def head_tree(workspace: Any) -> Path:
    """The sandbox's cached checkout of the workspace's HEAD, to read (never to run)."""
    repo = workspace.repo_path  # the work tree, or this worker's mirror of a remote
    try:
        return base_tree(repo, workspace.head_commit())
    except (DiffDoesNotApply, OSError) as exc:
        raise RunnerError(f"cannot check out HEAD of {repo}: {exc}") from exc


PY_TEST_GLOBS = ("test_*.py", "*_test.py")
# What `node --test` itself discovers (plus *.spec.js).
JS_TEST_GLOBS = tuple(
    f"{stem}.{ext}"
    for stem in ("*.test", "*-test", "*_test", "test-*", "test", "*.spec")
    for ext in ("js", "mjs", "cjs")
)
_JS_TEST_DIRS = {"test", "tests", "__tests__"}
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__"}


def find_tests(tree: Path, globs: tuple[str, ...], extra: list[str] | None = None) -> list[str]:
    """Test files of `tree` (and of `extra`, the paths a diff adds) matching `globs`."""
    candidates = {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}
    candidates |= set(extra or [])
    found = set()
    for rel in candidates:
        parts = Path(rel).parts
        if _SKIP_DIRS.intersection(parts):
            continue
        if any(Path(rel).match(pattern) for pattern in globs) or (
            globs == JS_TEST_GLOBS
            and rel.endswith((".js", ".mjs", ".cjs"))
            and _JS_TEST_DIRS.intersection(parts[:-1])
        ):
            found.add(rel)
    return sorted(found)


def _added_paths(diff: str | None) -> list[str]:
    return re.findall(r"^\+\+\+ b/(.+?)\s*$", diff or "", re.M)


PY_REPORT = "pytest.xml"


class SandboxRunner:
    """pytest and `node --test`, run by the sandbox at the workspace's isolation level."""

    name = "sandbox"

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout  # the wall-clock limit of one sandboxed run
        self.per_test_timeout = max(5.0, min(60.0, timeout / 3))

    def run(
        self,
        workspace: Any,
        *,
        diff: str | None = None,
        test_ids: list[str] | None = None,
        coverage: bool = False,
    ) -> RunResult:
        started = time.monotonic()
        result = RunResult(backend=self.name)
        tree = head_tree(workspace)
        py_ids: list[str] | None  # None: no Python tests to run; []: all of them
        if test_ids is None:
            added = _added_paths(diff)
            py_ids = [] if find_tests(tree, PY_TEST_GLOBS, added) else None
            by_file: dict[str, list[str]] = {f: [] for f in find_tests(tree, JS_TEST_GLOBS, added)}
        else:
            py_ids = [t for t in test_ids if not is_js(t)] or None
            by_file = {}
            for test_id in (t for t in test_ids if is_js(t)):
                file, _, name = test_id.partition("::")
                by_file.setdefault(file, []).append(name)
        if py_ids is not None:
            self._run_python(workspace, tree, diff, py_ids, coverage, result)
        if by_file:
            self._run_node(workspace, diff, by_file, result)
        result.duration_ms = (time.monotonic() - started) * 1000
        return result

    def run_command(
        self, workspace: Any, argv: list[str], *, diff: str | None = None, coverage: bool = False
    ) -> sandbox.SandboxResult:
        """`argv` in the sandbox (see healing.sandbox.run_command); RunnerError when the diff
        does not apply."""
        ran = sandbox.run_command(
            workspace, argv, diff=diff, coverage=coverage, wall_time_s=self.timeout
        )
        if ran.detail.get("error") == "diff_does_not_apply":
            raise RunnerError(f"the diff does not apply to HEAD: {ran.detail.get('message', '')}")
        return ran

    def _collect(self, ran: sandbox.SandboxResult, result: RunResult, what: str) -> None:
        result.output_tail += ran.output_tail[-4000:]
        if ran.cut_short:
            result.error += f"the sandbox stopped {what}: {ran.limit_hit}. "

    def _run_python(
        self,
        workspace: Any,
        tree: Path,
        diff: str | None,
        test_ids: list[str],
        coverage: bool,
        result: RunResult,
    ) -> None:
        argv = [
            "python",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--tb=short",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={sandbox.REPORTS_PLACEHOLDER}/{PY_REPORT}",
        ]
        if (tree / "src").is_dir():
            argv += ["-o", "pythonpath=src"]  # the src/ layout, without installing the project
        if importlib.util.find_spec("pytest_timeout") is not None:
            # One hanging test fails on its own instead of running the whole run out of time.
            argv += ["-p", "pytest_timeout", f"--timeout={self.per_test_timeout:.0f}"]
        ran = self.run_command(workspace, [*argv, *test_ids], diff=diff, coverage=coverage)
        self._collect(ran, result, "the Python tests")
        tests = [read_pytest(t) for t in ran.tests if t.report == PY_REPORT]
        if not tests and not ran.cut_short and ran.detail.get("exit_code") not in (0, 5):
            result.error += f"pytest wrote no report (exit {ran.detail.get('exit_code')}). "
        result.cases.extend(tests)
        if coverage and ran.coverage_percent is not None:
            result.coverage = {"percent": ran.coverage_percent, "files": ran.file_coverage}

    def _run_node(
        self, workspace: Any, diff: str | None, by_file: dict[str, list[str]], result: RunResult
    ) -> None:
        # One sandboxed run for every file: node's JUnit report does not say which file a test
        # is in, so each file writes its own.
        reports: dict[str, str] = {}
        commands = []
        for index, (file, names) in enumerate(by_file.items()):
            reports[f"node-{index}.xml"] = file
            cmd = [
                "node",
                "--test",
                f"--test-timeout={self.per_test_timeout * 1000:.0f}",
                "--test-reporter=junit",
                f"--test-reporter-destination={sandbox.REPORTS_PLACEHOLDER}/node-{index}.xml",
            ]
            if names and any(names):
                cmd.append(
                    "--test-name-pattern=^(" + "|".join(re.escape(n) for n in names if n) + ")$"
                )
            commands.append(shlex.join([*cmd, file]))
        ran = self.run_command(
            workspace, ["/bin/sh", "-c", "; ".join([*commands, "exit 0"])], diff=diff
        )
        self._collect(ran, result, "the JavaScript tests")
        seen = set()
        for test in ran.tests:
            if test.report not in reports:
                continue
            file = reports[test.report]
            seen.add(file)
            case = read_node(test, file)
            if case.nodeid == file:
                # The file failed to load: the error only reaches the output. Load it once more.
                loaded = self.run_command(workspace, ["node", file], diff=diff)
                case.traceback = loaded.output_tail[-6000:]
                case.message = node_load_failure(loaded.output_tail)
            result.cases.append(case)
        for file in sorted(set(by_file) - seen):
            result.error += f"node wrote no report for {file}. "


__all__ = ["RunnerError", "SandboxRunner", "find_tests", "head_tree"]
