"""Sandbox (issue #4): run a workspace's tests on a scratch tree of HEAD, isolated and limited.

`run_tests(workspace, diff=..., test_ids=...)` is the contract other areas call. The isolation
backends live in `backends.py` (registry), limits in `limits.py`, the process runner in
`runner.py`, per-test reports in `reports.py`, the scratch tree in `scratch.py`.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    duration_ms: float = 0.0


@dataclass
class SandboxResult:
    ok: bool  # the patch introduced no new failure and ran within its limits
    isolation_level: str
    # wall_time | memory | cpu | processes | file_size | output | network | filesystem | emergency_stop
    limit_hit: str | None = None
    duration_ms: float = 0.0
    tests: list[TestOutcome] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)  # failing now, passing on the baseline
    fixed: list[str] = field(default_factory=list)  # failing on the baseline, passing now
    coverage: float | None = None  # 0..1 coverage of the touched lines, when measured
    output_tail: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failing(self) -> list[str]:
        return [t.nodeid for t in self.tests if t.outcome in {"failed", "error"}]

    @property
    def cut_short(self) -> bool:
        """The runner killed the run on a limit (or a stop): its tests never all ran. A limit
        only named from what the tests printed (`limit_inferred`) let the run finish."""
        return bool(self.limit_hit) and not self.detail.get("limit_inferred")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class IsolationUnavailable(Exception):
    """The workspace's required isolation level cannot be had here. Never downgrade: block."""


def capabilities() -> dict[str, Any]:
    from .backends import capabilities as _capabilities

    return _capabilities()


FAILING = {"failed", "error"}
OUTPUT_TAIL = 8000


def _environment(
    scratch: Any, level: str, workspace: Any, project_env: Path | None = None
) -> dict[str, str]:
    """A clean environment: nothing of the worker's (its secrets) is inherited."""
    junit = scratch.reports / "junit.xml"
    # The workspace's own environment (read-only, see environments.py) or Selfheal's.
    prefix = project_env or Path(sys.prefix)
    env = {
        "PATH": f"{prefix / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch.home),
        "TMPDIR": "/tmp" if level == "full" else str(scratch.tmp),  # noqa: S108 - a private tmpfs under FULL
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTEST_ADDOPTS": f"--junitxml={junit} -p no:cacheprovider -o junit_family=xunit1",
        "NODE_OPTIONS": f"--test-reporter=spec --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination={scratch.reports / 'node-junit.xml'}",
        "CI": "1",
        "SELFHEAL_SANDBOX": level,
    }
    from .. import tunables

    if project_env is not None:
        # Its plugins are the project's own: pytest loads them as the project's CI would.
        env["VIRTUAL_ENV"] = str(project_env)
    elif not tunables.get("sandbox.pytest_plugin_autoload", workspace):
        # The interpreter is Selfheal's: its installed pytest plugins are not the workspace's,
        # and importing them cost ~1.5 s of every run (schemathesis, hypothesis, pytest-django).
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _command(
    workspace: Any, scratch: Any, test_ids: list[str] | None, coverage_files: list[str]
) -> list[str]:
    argv = shlex.split(workspace.test_command)
    if argv and argv[0] == "phpunit":
        argv += ["--log-junit", str(scratch.reports / "phpunit.xml")]
    if coverage_files and argv[:3] == ["python", "-m", "pytest"]:
        include = ",".join(str(scratch.tree / f) for f in coverage_files)
        argv = [
            "python",
            "-m",
            "coverage",
            "run",
            f"--data-file={scratch.reports / '.coverage'}",
            f"--include={include}",
            "-m",
            "pytest",
            *argv[3:],
        ]
    return [*argv, *(test_ids or [])]


def _run_in_scratch(
    workspace: Any,
    backend: Any,
    commit: str,
    diff: str | None,
    test_ids: list[str] | None,
    limits: Any,
    progress: Callable[[dict[str, Any]], None] | None = None,
    project_env: Path | None = None,
) -> SandboxResult:
    from . import reports, stop
    from .coverage import added_lines, touched_coverage
    from .runner import execute
    from .scratch import DiffDoesNotApply

    started = time.time()
    try:
        # Each backend prepares its tree from a cached checkout of the commit, so preparing
        # costs the patch, not the repository (see scratch.py).
        with backend.prepare(workspace.repo_path, commit, diff) as scratch:
            touched = added_lines(diff) if diff else {}
            from .. import tunables

            measure = bool(touched) and tunables.get("sandbox.measure_coverage", workspace)
            coverage_files = [f for f in touched if f.endswith(".py")] if measure else []
            argv = _command(workspace, scratch, test_ids, coverage_files)
            env = _environment(scratch, backend.level, workspace, project_env)
            if project_env is not None:
                # Read-only at the path it was built at (FULL binds it; elsewhere its modes).
                scratch.binds += _environment_binds(project_env, scratch.tree)
            wrapped = backend.wrap(
                ["/bin/sh", "-c", 'exec "$@"', "sh", *argv], scratch=scratch, env=env
            )
            execution = execute(
                wrapped,
                cwd=scratch.tree,
                env=env,
                limits=limits,
                output_path=scratch.root / "output.log",
                should_stop=lambda: stop.stopped_since(started),
                on_progress=_progress_reporter(progress, limits) if progress else None,
            )
            tests: list[TestOutcome] = []
            for name in ("junit.xml", "node-junit.xml", "phpunit.xml"):
                tests += reports.parse_junit(scratch.reports / name)
            # Paths inside the scratch tree mean nothing once it is gone.
            for test in tests:
                test.nodeid = test.nodeid.replace(str(scratch.tree) + "/", "")
            coverage = (
                touched_coverage(scratch, coverage_files, touched) if coverage_files else None
            )
    except DiffDoesNotApply as exc:
        return SandboxResult(
            ok=False,
            isolation_level=backend.level,
            detail={"error": "diff_does_not_apply", "message": str(exc), "commit": commit},
        )
    limit_hit = execution.limit_hit
    inferred = None
    if limit_hit is None and execution.exit_code != 0:
        evidence = execution.output + "\n".join(t.message for t in tests if t.outcome in FAILING)
        limit_hit = inferred = reports.infer_limit(evidence)
    return SandboxResult(
        ok=limit_hit is None and execution.exit_code == 0,
        isolation_level=backend.level,
        limit_hit=limit_hit,
        duration_ms=round(execution.duration_ms, 1),
        tests=tests,
        coverage=coverage,
        output_tail=execution.output[-OUTPUT_TAIL:],
        detail={
            "commit": commit,
            "exit_code": execution.exit_code,
            "signal": execution.signal,
            "cpu_s": round(execution.cpu_s, 3),
            "max_rss_kb": execution.max_rss_kb,
            "output_bytes": execution.output_bytes,
            "limits": limits.as_json(),
            # Named from what the tests printed, not struck by the runner (see run_tests).
            **({"limit_inferred": True} if inferred else {}),
            "command": argv,
            **({"environment": str(project_env)} if project_env else {}),
            **(
                {"warning": "NO ISOLATION: this run was not sandboxed"}
                if backend.level == "none"
                else {}
            ),
        },
    )


def _environment_binds(project_env: Path, tree: Path) -> list[tuple[Path, Path]]:
    """The environment, the interpreter its virtualenv points at when that is not /usr's, and
    what the setup put in the tree (node_modules, vendor) back at its place."""
    binds = [(project_env, project_env)]
    kept = project_env / "tree"
    if kept.is_dir():
        binds += [(path, tree / path.name) for path in sorted(kept.iterdir())]
    prefix = Path(os.path.realpath(project_env / "bin" / "python")).parent.parent
    if not str(prefix).startswith("/usr"):
        binds.append((prefix, prefix))
    return binds


def _progress_reporter(
    progress: Callable[[dict[str, Any]], None], limits: Any
) -> Callable[[float, Path], None]:
    from .runner import count_progress

    def report(elapsed_s: float, output_path: Path) -> None:
        tests_run, failures = count_progress(output_path)
        progress(
            {
                "tests_run": tests_run,
                "failures": failures,
                "elapsed_ms": round(elapsed_s * 1000),
                "limit_ms": round(limits.wall_time_s * 1000),
            }
        )

    return report


def console_results(modification: Any) -> dict[str, Any]:
    """The review page's view of a patch's sandbox runs, each against the baseline."""
    from ..models.sandbox import SandboxRun
    from .environments import dependency_change

    runs = []
    dependencies = None
    for run in SandboxRun.objects.for_modification(modification.pk):
        if dependencies is None and run.kind == "patched":
            dependencies = dependency_change(run.detail or {})
        tests = run.tests or []
        runs.append(
            {
                "label": f"{run.kind} · {run.isolation_level}",
                "kind": run.kind,
                "isolation_level": run.isolation_level,
                "ok": run.ok,
                "passed": sum(1 for t in tests if t.get("outcome") == "passed"),
                "failed": sum(1 for t in tests if t.get("outcome") in FAILING),
                "duration_ms": run.duration_ms,
                "limit_hit": run.limit_hit or None,
                "new_failures": run.new_failures,
                "fixed": run.fixed,
            }
        )
    return {"runs": runs, "dependencies": dependencies}


def baseline(
    workspace: Any, commit: str, backend: Any, limits: Any, project_env: Path | None = None
) -> Any:
    """The run of the unpatched commit, cached per (workspace, commit, test command)."""
    from ..models import SandboxRun, SandboxRunKind

    cached = SandboxRun.objects.baseline_for(workspace.pk, commit, workspace.test_command)
    # A baseline run in another environment (before a setup command was set, say) is no baseline.
    if cached is not None and (cached.detail or {}).get("environment") == (
        str(project_env) if project_env else None
    ):
        return cached
    result = _run_in_scratch(workspace, backend, commit, None, None, limits, None, project_env)
    return store_run(workspace, result, kind=SandboxRunKind.BASELINE)


def store_run(workspace: Any, result: SandboxResult, *, kind: str, modification: Any = None) -> Any:
    from ..models import SandboxRun

    return SandboxRun.objects.create(
        workspace=workspace,
        modification=modification,
        kind=kind,
        commit=result.detail.get("commit", ""),
        test_command=workspace.test_command,
        isolation_level=result.isolation_level,
        ok=result.ok,
        limit_hit=result.limit_hit or "",
        exit_code=result.detail.get("exit_code"),
        duration_ms=result.duration_ms,
        tests=[asdict(t) for t in result.tests],
        new_failures=result.new_failures,
        fixed=result.fixed,
        coverage=result.coverage,
        output_tail=result.output_tail,
        detail=result.detail,
    )


def run_tests(
    workspace: Any,
    *,
    diff: str | None = None,
    test_ids: list[str] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> SandboxResult:
    """Run the workspace's tests on a scratch tree of HEAD (with `diff` applied), isolated.

    With a diff, the result is judged against the baseline run of HEAD: `new_failures` failed
    now but not before, `fixed` failed before and pass now. Raises IsolationUnavailable when the
    workspace's isolation level cannot be had (the caller blocks the patch)."""
    from ..models import EngineState
    from . import environments
    from .backends import get_backend
    from .limits import Limits

    backend = get_backend(workspace.isolation_level)
    available, why = backend.available()
    if not available:
        raise IsolationUnavailable(
            f"{backend.label} isolation is required by {workspace.name} but unavailable: {why}"
        )
    if EngineState.objects.current().is_emergency_stopped:
        return SandboxResult(
            ok=False,
            isolation_level=backend.level,
            limit_hit="emergency_stop",
            detail={"message": "engine is emergency-stopped"},
        )
    limits = Limits.for_workspace(workspace)
    commit = workspace.head_commit()
    # The workspace's environments (HEAD's, and the patched tree's when the diff changes a setup
    # input), or EnvironmentNotReady: the caller blocks until the build finishes.
    envs = environments.ensure(workspace, commit, diff)
    base_env, patched_env = (Path(envs[0].path), Path(envs[-1].path)) if envs else (None, None)
    result = _run_in_scratch(
        workspace, backend, commit, diff, test_ids, limits, progress, patched_env
    )
    if envs:
        result.detail["environments"] = {"base": envs[0].key, "patched": envs[-1].key}
    if diff is None or result.cut_short or "error" in result.detail:
        # A run cut short by a limit (or a diff that does not apply) fails whatever the baseline says.
        return result
    base = baseline(workspace, commit, backend, limits, base_env)
    if result.limit_hit == base.limit_hit:
        # The unpatched tree meets the same wall (a suite that wants a network the sandbox does
        # not give, say): not the patch's doing, so the patch is judged by its new failures.
        result.detail["limit_on_baseline_too"] = result.limit_hit
        result.limit_hit = None
    before = {t["nodeid"]: t["outcome"] for t in base.tests}
    now_failing = set(result.failing)
    result.new_failures = sorted(n for n in now_failing if before.get(n) not in FAILING)
    result.fixed = sorted(
        t.nodeid for t in result.tests if t.outcome == "passed" and before.get(t.nodeid) in FAILING
    )
    result.detail["baseline_run_id"] = base.pk
    result.detail["baseline_failing"] = sorted(n for n, o in before.items() if o in FAILING)
    result.ok = (
        result.limit_hit is None
        and "error" not in result.detail
        and not result.new_failures
        and (bool(result.tests) or result.detail.get("exit_code") == 0)
    )
    return result


__all__ = [
    "IsolationUnavailable",
    "SandboxResult",
    "TestOutcome",
    "capabilities",
    "console_results",
    "run_tests",
    "store_run",
]
