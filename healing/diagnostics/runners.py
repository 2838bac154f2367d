"""Test runners behind one interface: the sandbox (issue #4) and a direct local runner.

The local runner runs the workspace's pytest and node tests in a subprocess, on a temporary git
worktree of HEAD (with an optional diff applied), and reads their JUnit XML. It is the
development path and a fallback; the sandbox backend is the one that isolates.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .results import (
    CaseResult,
    RunResult,
    js_frames,
    node_load_failure,
    parse_node_junit,
    parse_pytest_junit,
    python_frames,
)


class RunnerError(Exception):
    """The tests could not be run at all (not: some tests failed)."""


class TestRunner:
    __test__ = False  # not a pytest test class

    name: ClassVar[str] = ""

    def run(
        self,
        workspace: Any,
        *,
        diff: str | None = None,
        test_ids: list[str] | None = None,
        coverage: bool = False,
    ) -> RunResult:
        raise NotImplementedError


RUNNERS: dict[str, type[TestRunner]] = {}


def register_runner(cls: type[TestRunner]) -> type[TestRunner]:
    RUNNERS[cls.name] = cls
    return cls


def get_runner(name: str, **options: Any) -> TestRunner:
    try:
        return RUNNERS[name](**options)
    except KeyError:
        raise RunnerError(
            f"No test runner called {name!r}; known: {', '.join(sorted(RUNNERS))}"
        ) from None


def _git(
    path: Path, *args: str, input_text: str | None = None, timeout: int = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(path), *args],
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def scratch_tree(repo: Path, diff: str | None = None) -> Iterator[Path]:
    """A detached git worktree of HEAD in a temporary directory, removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="selfheal-diag-"))
    tree = parent / "tree"
    added = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), "HEAD")
    if added.returncode != 0:
        shutil.rmtree(parent, ignore_errors=True)
        raise RunnerError(f"git worktree add failed: {added.stderr.strip()}")
    try:
        if diff:
            applied = _git(tree, "apply", "--whitespace=nowarn", "-", input_text=diff)
            if applied.returncode != 0:
                raise RunnerError(f"the diff does not apply to HEAD: {applied.stderr.strip()}")
        yield tree
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        _git(repo, "worktree", "prune")


def clean_env(home: Path) -> dict[str, str]:
    """The child sees none of our settings (DJANGO_SETTINGS_MODULE, DATABASE_URL, keys...)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NODE_NO_WARNINGS": "1",
        # Only the pytest plugins a run names with -p: the ones installed beside Selfheal are not
        # the repository's, and importing them cost ~1.5 s of every (re)run.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


PY_TEST_GLOBS = ("test_*.py", "*_test.py")
# What `node --test` itself discovers (plus *.spec.js).
JS_TEST_GLOBS = tuple(
    f"{stem}.{ext}"
    for stem in ("*.test", "*-test", "*_test", "test-*", "test", "*.spec")
    for ext in ("js", "mjs", "cjs")
)
_JS_TEST_DIRS = {"test", "tests", "__tests__"}
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__"}


def find_tests(tree: Path, globs: tuple[str, ...]) -> list[str]:
    found = set()
    for pattern in globs:
        for path in tree.rglob(pattern):
            rel = path.relative_to(tree)
            if not _SKIP_DIRS.intersection(rel.parts):
                found.add(str(rel))
    if globs == JS_TEST_GLOBS:
        for ext in ("js", "mjs", "cjs"):
            for path in tree.rglob(f"*.{ext}"):
                rel = path.relative_to(tree)
                if _JS_TEST_DIRS.intersection(rel.parts[:-1]) and not _SKIP_DIRS.intersection(
                    rel.parts
                ):
                    found.add(str(rel))
    return sorted(found)


def _is_js(test_id: str) -> bool:
    return bool(re.search(r"\.(m?js|cjs)(::|$)", test_id))


@register_runner
class LocalRunner(TestRunner):
    """pytest and `node --test` in a subprocess on a scratch worktree, with PARTIAL's namespaces
    (no network, own PIDs) where the kernel allows; the file system is not isolated."""

    name = "local"

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self.per_test_timeout = max(5.0, min(60.0, timeout / 3))

    def run(
        self,
        workspace: Any,
        *,
        diff: str | None = None,
        test_ids: list[str] | None = None,
        coverage: bool = False,
    ) -> RunResult:
        repo = Path(workspace.path)
        with scratch_tree(repo, diff) as tree:
            return self.run_tree(tree, test_ids=test_ids, coverage=coverage)

    def run_tree(
        self, tree: Path, *, test_ids: list[str] | None = None, coverage: bool = False
    ) -> RunResult:
        started = time.monotonic()
        result = RunResult(backend=self.name)
        work = Path(tempfile.mkdtemp(prefix="selfheal-run-"))
        try:
            py_ids = [t for t in test_ids if not _is_js(t)] if test_ids is not None else None
            js_ids = [t for t in test_ids if _is_js(t)] if test_ids is not None else None
            if py_ids or (py_ids is None and find_tests(tree, PY_TEST_GLOBS)):
                self._run_python(tree, work, py_ids or [], coverage, result)
            if js_ids or (js_ids is None and find_tests(tree, JS_TEST_GLOBS)):
                self._run_node(tree, work, js_ids, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result.duration_ms = (time.monotonic() - started) * 1000
        return result

    def _exec(self, cmd: list[str], tree: Path, work: Path) -> subprocess.CompletedProcess:
        env = clean_env(work)
        if (tree / "src").is_dir():
            env["PYTHONPATH"] = str(tree / "src")  # the src/ layout, without installing the project
        from healing.sandbox.backends import network_isolation

        try:
            return subprocess.run(
                # Own network and PID namespaces where the kernel allows, as PARTIAL isolation:
                # a repository's tests run by our own diagnostics reach no network either.
                [*network_isolation(), *cmd],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RunnerError(
                f"the tests ran past {self.timeout:.0f} s: {' '.join(cmd[:4])}"
            ) from exc

    def _run_python(
        self, tree: Path, work: Path, test_ids: list[str], coverage: bool, result: RunResult
    ) -> None:
        xml = work / "pytest.xml"
        pytest_args = [
            "-q",
            "-p",
            "no:cacheprovider",
            "--tb=short",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={xml}",
        ]
        if importlib.util.find_spec("pytest_timeout") is not None:
            # One hanging test fails on its own instead of running the whole run out of time.
            pytest_args += ["-p", "pytest_timeout", f"--timeout={self.per_test_timeout:.0f}"]
        prefix = [sys.executable, "-m"]
        if coverage:
            data = work / ".coverage"
            prefix = [
                sys.executable,
                "-m",
                "coverage",
                "run",
                f"--data-file={data}",
                "--source=.",
                "-m",
            ]
        proc = self._exec([*prefix, "pytest", *pytest_args, *test_ids], tree, work)
        result.output_tail += proc.stdout[-4000:] + proc.stderr[-2000:]
        if not xml.exists():
            result.error += f"pytest wrote no report (exit {proc.returncode}). "
            return
        result.cases.extend(parse_pytest_junit(xml.read_text(), tree))
        if coverage:
            out = work / "coverage.json"
            self._exec(
                [
                    sys.executable,
                    "-m",
                    "coverage",
                    "json",
                    f"--data-file={work / '.coverage'}",
                    "-o",
                    str(out),
                ],
                tree,
                work,
            )
            if out.exists():
                data = json.loads(out.read_text())
                result.coverage = {
                    "percent": round(data["totals"]["percent_covered"], 2),
                    "files": {
                        name: round(info["summary"]["percent_covered"], 2)
                        for name, info in data["files"].items()
                    },
                }

    def _run_node(
        self, tree: Path, work: Path, test_ids: list[str] | None, result: RunResult
    ) -> None:
        if shutil.which("node") is None:
            result.error += "node is not installed; JavaScript tests were not run. "
            return
        by_file: dict[str, list[str]] = {}
        if test_ids is None:
            by_file = {f: [] for f in find_tests(tree, JS_TEST_GLOBS)}
        else:
            for test_id in test_ids:
                file, _, name = test_id.partition("::")
                by_file.setdefault(file, []).append(name)
        for index, (file, names) in enumerate(by_file.items()):
            xml = work / f"node-{index}.xml"
            cmd = [
                "node",
                "--test",
                f"--test-timeout={self.per_test_timeout * 1000:.0f}",
                "--test-reporter=junit",
                f"--test-reporter-destination={xml}",
            ]
            if names:
                cmd.append(
                    "--test-name-pattern=^(" + "|".join(re.escape(n) for n in names if n) + ")$"
                )
            proc = self._exec([*cmd, file], tree, work)
            result.output_tail += proc.stdout[-2000:] + proc.stderr[-2000:]
            if xml.exists() and xml.read_text().strip():
                cases = parse_node_junit(xml.read_text(), file, tree)
                for case in cases:
                    # A file that fails to load is reported as one test named after its path, and
                    # the error itself only reaches stderr: load the file once more to read it.
                    if case.nodeid == f"{file}::{tree / file}":
                        case.nodeid = file
                        loaded = self._exec(["node", file], tree, work)
                        case.details = loaded.stderr[-6000:]
                        case.message, case.frames = node_load_failure(loaded.stderr, tree)
                result.cases.extend(cases)
            else:
                result.error += f"node wrote no report for {file} (exit {proc.returncode}). "


@register_runner
class SandboxRunner(TestRunner):
    """healing.sandbox.run_tests: the isolated runner of issue #4 (limits, no network)."""

    name = "sandbox"

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout

    def run(
        self,
        workspace: Any,
        *,
        diff: str | None = None,
        test_ids: list[str] | None = None,
        coverage: bool = False,
    ) -> RunResult:
        from healing import sandbox

        started = time.monotonic()
        try:
            sandboxed = sandbox.run_tests(workspace, diff=diff, test_ids=test_ids)
        except NotImplementedError as exc:
            raise RunnerError(f"the sandbox is not available: {exc}") from exc
        result = RunResult(backend=self.name, output_tail=sandboxed.output_tail)
        root = Path(workspace.path)
        for outcome in sandboxed.tests:
            is_js = _is_js(outcome.nodeid)
            frames = (
                js_frames(outcome.message, root) if is_js else python_frames(outcome.message, root)
            )
            first_line = outcome.message.strip().splitlines()[-1] if outcome.message.strip() else ""
            result.cases.append(
                CaseResult(
                    nodeid=outcome.nodeid,
                    outcome=outcome.outcome,
                    message=first_line,
                    details=outcome.message,
                    duration_ms=outcome.duration_ms,
                    language="javascript" if is_js else "python",
                    frames=frames,
                )
            )
        if sandboxed.coverage is not None:
            result.coverage = {"percent": round(sandboxed.coverage * 100, 2), "files": {}}
        if sandboxed.cut_short:  # a limit only named from the output let every test run
            result.error = f"the sandbox stopped the run: {sandboxed.limit_hit}"
        result.duration_ms = (time.monotonic() - started) * 1000
        return result


__all__ = [
    "RUNNERS",
    "CaseResult",
    "LocalRunner",
    "RunnerError",
    "SandboxRunner",
    "TestRunner",
    "get_runner",
]
