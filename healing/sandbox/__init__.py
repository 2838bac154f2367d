"""Sandbox: run a workspace's tests on a scratch tree of a commit, isolated and limited.

`run_tests(workspace, diff=..., test_ids=...)` is the contract other areas call. The isolation
backends live in `backends.py` (registry), limits in `limits.py`, the process runner in
`runner.py`, per-test reports in `reports.py`, the scratch tree in `scratch.py`.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    duration_ms: float = 0.0
    traceback: str = ""  # the failure's full text, as the reporter wrote it
    # The id that selects this test again (pytest's node id, from the report's file attribute);
    # empty where the report does not say which file the test is in (node --test).
    test_id: str = ""
    name: str = ""  # the test's own name, without its class or file
    report: str = ""  # the report file it was read from


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
    # Line coverage of the whole run, when asked for (run_command): percent overall and per file
    # (repository-relative paths).
    coverage_percent: float | None = None
    file_coverage: dict[str, float] = field(default_factory=dict)
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
    scratch: Any,
    level: str,
    workspace: Any,
    *,
    reporters: bool = True,
    project_env: Path | None = None,
) -> dict[str, str]:
    """A clean environment: nothing of the worker's (its secrets) is inherited. Without
    `reporters`, the command names its own reports (run_command)."""
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
    }
    if not reporters:
        del env["PYTEST_ADDOPTS"], env["NODE_OPTIONS"]
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


REPORTS_PLACEHOLDER = "{reports}"
# coverage.py over the whole tree, then its JSON report, in the same sandboxed run.
_COVERAGE_ALL = (
    'r=$1; shift; python -m coverage run --data-file="$r/.coverage" --source=. "$@"; rc=$?; '
    'python -m coverage json -q --data-file="$r/.coverage" -o "$r/coverage.json" >/dev/null 2>&1; '
    "exit $rc"
)


def _own_command(argv: list[str], scratch: Any, coverage: bool) -> list[str]:
    """run_command's argv, with the report directory filled in and, for `python -m pytest`
    with `coverage`, measured over the whole tree."""
    reports = str(scratch.reports)
    argv = [arg.replace(REPORTS_PLACEHOLDER, reports) for arg in argv]
    if coverage and argv[:3] == ["python", "-m", "pytest"]:
        return ["/bin/sh", "-c", _COVERAGE_ALL, "sh", reports, *argv[1:]]
    return argv


def _strip_tree(test: TestOutcome, tree: str) -> None:
    # Paths inside the scratch tree mean nothing once it is gone.
    for name in ("nodeid", "test_id", "name", "message", "traceback"):
        setattr(test, name, getattr(test, name).replace(tree, ""))


REPORTS = ("junit.xml", "node-junit.xml", "phpunit.xml")
# Worker environment variables whose values never leave in a run's output, whatever a test did
# to get hold of them.
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|DATABASE_URL|REDIS_URL", re.I)


def _redact(text: str) -> str:
    for name, value in os.environ.items():
        if len(value) >= 6 and SECRET_NAME.search(name) and value in text:
            text = text.replace(value, f"[{name} redacted]")
    return text


def _run_in_scratch(
    workspace: Any,
    backend: Any,
    commit: str,
    diff: str | None,
    test_ids: list[str] | None,
    limits: Any,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    command: list[str] | None = None,
    measure_all: bool = False,
    project_env: Path | None = None,
) -> SandboxResult:
    """One run on a scratch tree: the workspace's test command, or `command` (run_command)."""
    from . import reports, stop
    from .coverage import added_lines, touched_coverage
    from .runner import execute
    from .scratch import DiffDoesNotApply

    started = time.time()
    findings: list[str] = []
    try:
        # Each backend prepares its tree from a cached checkout of the commit, so preparing
        # costs the patch, not the repository (see scratch.py).
        with backend.prepare(workspace.repo_path, commit, diff) as scratch:
            touched = added_lines(diff) if diff else {}
            from .. import tunables

            measure = bool(touched) and tunables.get("sandbox.measure_coverage", workspace)
            coverage_files = [f for f in touched if f.endswith(".py")] if measure else []
            if command is None:
                argv = _command(workspace, scratch, test_ids, coverage_files)
            else:
                argv = _own_command(command, scratch, measure_all)
                coverage_files = []
            env = _environment(
                scratch, backend.level, workspace, reporters=command is None,
                project_env=project_env,
            )  # fmt: skip
            if project_env is not None:
                # Read-only at the path it was built at (FULL binds it; elsewhere its modes).
                scratch.binds += _environment_binds(project_env, scratch.tree)
                if backend.level != "full":
                    _link_kept_dirs(scratch)
            wrapped = backend.wrap(
                ["/bin/sh", "-c", 'exec "$@"', "sh", *argv], scratch=scratch, env=env
            )
            execution = execute(
                wrapped,
                cwd=scratch.tree,
                env=env,
                limits=limits,
                should_stop=lambda: stop.stopped_since(started),
                on_progress=_progress_reporter(progress, limits) if progress else None,
            )
            # Everything below is read from a directory the tests could write: without following
            # a link, bounded, and anything odd there is a finding against the run.
            report_names = (
                REPORTS
                if command is None
                # The command named its reports: every JUnit file it wrote there.
                else tuple(sorted(p.name for p in scratch.reports.glob("*.xml")))
            )
            tests: list[TestOutcome] = []
            for name in report_names:
                try:
                    tests += reports.parse_junit(scratch.reports / name, scratch.root)
                except reports.UntrustedFile as exc:
                    findings.append(f"untrusted test report: {exc}")
            tree_prefix = str(scratch.tree) + "/"
            for test in tests:
                _strip_tree(test, tree_prefix)
                test.message = _redact(test.message)
                test.traceback = _redact(test.traceback)
            coverage = None
            if coverage_files:
                try:
                    coverage = touched_coverage(scratch, coverage_files, touched)
                except reports.UntrustedFile as exc:
                    findings.append(f"untrusted coverage data: {exc}")
            coverage_percent: float | None = None
            file_coverage: dict[str, float] = {}
            if measure_all:
                try:
                    coverage_percent, file_coverage = reports.parse_coverage_json(
                        scratch.reports / "coverage.json"
                    )
                except reports.UntrustedFile as exc:
                    findings.append(f"untrusted coverage data: {exc}")
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
    if limit_hit is None and command is None:
        findings += _inconsistencies(execution.exit_code, tests)
    return SandboxResult(
        ok=limit_hit is None and execution.exit_code == 0 and not findings,
        isolation_level=backend.level,
        limit_hit=limit_hit,
        duration_ms=round(execution.duration_ms, 1),
        tests=tests,
        coverage=coverage,
        # run_command's caller may read what its command printed: all the runner kept of it.
        output_tail=_redact(
            execution.output[-OUTPUT_TAIL:]
            if command is None
            else execution.output.replace(tree_prefix, "")
        ),
        coverage_percent=coverage_percent,
        file_coverage=file_coverage,
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
            **({"findings": findings} if findings else {}),
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


def _link_kept_dirs(scratch: Any) -> None:
    """Where nothing is bound over the tree (PARTIAL, NONE), what the setup put in it
    (node_modules, vendor) is linked into it instead, from the run's writable layer: node and
    PHP resolve a linked directory to the environment, whose files are read-only by mode."""
    layer = scratch.patched if scratch.overlay else scratch.tree
    for source, target in scratch.binds:
        link = layer / target.name
        if target.parent == scratch.tree and source != target and not os.path.lexists(link):
            link.symlink_to(source, target_is_directory=True)


def _inconsistencies(exit_code: int | None, tests: list[TestOutcome]) -> list[str]:
    """The report against the runner's own exit status: pytest, node --test and phpunit all
    exit 0 exactly when no test failed. A report that disagrees was forged or is incomplete."""
    failing = [t.nodeid for t in tests if t.outcome in FAILING]
    if exit_code == 0 and failing:
        return [f"the test command exited 0 but its report names {len(failing)} failing test(s)"]
    if exit_code not in (0, None) and tests and not failing:
        return [
            f"the test command exited {exit_code} but its report names no failing test: the "
            "report does not match the run (forged, or cut short)"
        ]
    return []


def _progress_reporter(
    progress: Callable[[dict[str, Any]], None], limits: Any
) -> Callable[[float, BinaryIO], None]:
    from .runner import count_progress

    def report(elapsed_s: float, out: BinaryIO) -> None:
        tests_run, failures = count_progress(out)
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
    result = _run_in_scratch(
        workspace, backend, commit, None, None, limits, project_env=project_env
    )
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


def _backend_for(workspace: Any) -> Any:
    """The backend of the workspace's isolation level; IsolationUnavailable where this machine
    cannot give it (never a weaker one)."""
    from .backends import get_backend

    backend = get_backend(workspace.isolation_level)
    available, why = backend.available()
    if not available:
        raise IsolationUnavailable(
            f"{backend.label} isolation is required by {workspace.name} but unavailable: {why}"
        )
    return backend


def _emergency_stopped(backend: Any) -> SandboxResult | None:
    from ..models import EngineState

    if not EngineState.objects.current().is_emergency_stopped:
        return None
    return SandboxResult(
        ok=False,
        isolation_level=backend.level,
        limit_hit="emergency_stop",
        detail={"message": "engine is emergency-stopped"},
    )


def run_command(
    workspace: Any,
    argv: list[str],
    *,
    diff: str | None = None,
    coverage: bool = False,
    wall_time_s: float | None = None,
) -> SandboxResult:
    """Run `argv` instead of the workspace's test command, exactly as run_tests runs it: on a
    scratch tree of HEAD with `diff` applied, through the backend of the workspace's isolation
    level, with its limits (`wall_time_s` may replace the wall-clock one). No baseline, nothing
    stored: the caller judges.

    `{reports}` in argv is the run's report directory; every `*.xml` the command writes there
    is read as JUnit (`TestOutcome.report` names the file). With `coverage`, a
    `python -m pytest` argv is measured over the whole tree (`file_coverage`). `output_tail`
    holds all the runner kept of the output (its last 64 KB). Raises IsolationUnavailable."""
    from dataclasses import replace

    from . import environments
    from .limits import Limits

    backend = _backend_for(workspace)
    if (stopped := _emergency_stopped(backend)) is not None:
        return stopped
    limits = Limits.for_workspace(workspace)
    if wall_time_s is not None:
        limits = replace(limits, wall_time_s=wall_time_s)
    commit = workspace.head_commit()
    # The workspace's environment (the patched tree's for a dependency change), or
    # EnvironmentNotReady: the caller waits for the build.
    envs = environments.ensure(workspace, commit, diff)
    return _run_in_scratch(
        workspace, backend, commit, diff, None, limits, command=argv, measure_all=coverage,
        project_env=Path(envs[-1].path) if envs else None,
    )  # fmt: skip


def run_tests(
    workspace: Any,
    *,
    diff: str | None = None,
    test_ids: list[str] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    commit: str | None = None,
) -> SandboxResult:
    """Run the workspace's tests on a scratch tree of `commit` (HEAD when not given; a patch's
    `base_commit`, the commit validation judged) with `diff` applied, isolated.

    With a diff, the result is judged against the baseline run of the same commit:
    `new_failures` failed now but not before (or disappeared: a test of the baseline the patched
    run does not report is a failure), `fixed` failed before and pass now. A patched run that
    reports no test, or whose report disagrees with the runner's exit status, fails. Raises
    IsolationUnavailable when the workspace's isolation level cannot be had (the caller blocks
    the patch)."""
    from . import environments
    from .limits import Limits

    backend = _backend_for(workspace)
    if (stopped := _emergency_stopped(backend)) is not None:
        return stopped
    limits = Limits.for_workspace(workspace)
    commit = commit or workspace.head_commit()
    # The workspace's environments (the commit's, and the patched tree's when the diff changes a
    # setup input), or EnvironmentNotReady: the caller blocks until the build finishes.
    envs = environments.ensure(workspace, commit, diff)
    base_env, patched_env = (Path(envs[0].path), Path(envs[-1].path)) if envs else (None, None)
    result = _run_in_scratch(
        workspace, backend, commit, diff, test_ids, limits, progress, project_env=patched_env
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
    if test_ids is None:
        # Renamed, deleted or no longer collected: a test that vanished cannot vouch for the patch.
        reported = {t.nodeid for t in result.tests}
        missing = sorted(n for n in before if n not in reported)
        if missing:
            result.detail["missing_tests"] = missing
            result.new_failures = sorted({*result.new_failures, *missing})
    result.fixed = sorted(
        t.nodeid for t in result.tests if t.outcome == "passed" and before.get(t.nodeid) in FAILING
    )
    result.detail["baseline_run_id"] = base.pk
    result.detail["baseline_failing"] = sorted(n for n, o in before.items() if o in FAILING)
    if not result.tests:
        result.detail.setdefault("findings", []).append("the patched run reported no test")
    result.ok = (
        result.limit_hit is None
        and "error" not in result.detail
        and not result.new_failures
        and bool(result.tests)
        and not result.detail.get("findings")
        # A failing exit is the baseline's failures and nothing else.
        and (result.detail.get("exit_code") == 0 or bool(result.failing))
    )
    return result


__all__ = [
    "IsolationUnavailable",
    "SandboxResult",
    "TestOutcome",
    "capabilities",
    "console_results",
    "run_command",
    "run_tests",
    "store_run",
]
