"""Workspace environments on a real project (python-slugify 5.0.2 from PyPI, its tests needing
text-unidecode), under FULL isolation.

Run: .venv/bin/python bench/environments.py
Prints: the build on first use (cold pip cache, then warm: same inputs, a fresh environment);
the cost of a cache hit (the look-up a run makes, and a whole run with and without an
environment; target < 50 ms); the sandbox's overhead over a bare run of the project's suite with
the same environment's python (goal ≤ 1.10×); submission → decision once the environment exists.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import contextlib

from bench import _env  # noqa: E402

ROUNDS = 7


def _median_ms(fn: object, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    tmp = _env.setup("environments")
    from django.conf import settings

    settings.SELFHEAL_ENVIRONMENTS = str(tmp / "environments")
    settings.SELFHEAL_SANDBOX_CACHE = str(tmp / "trees")
    from healing.models import EnvironmentBuild, Workspace
    from healing.sandbox import run_tests
    from healing.sandbox.environment_tasks import build_environment
    from healing.sandbox.environments import EnvironmentNotReady, ensure
    from tests.real_projects import (
        SLUGIFY,
        SLUGIFY_BUG,
        SLUGIFY_REQUIREMENTS,
        commit_edit,
        released_repo,
    )

    repo = released_repo(tmp / "slugify", *SLUGIFY, SLUGIFY_REQUIREMENTS)
    commit_edit(repo, "slugify/slugify.py", *SLUGIFY_BUG, "a bug of ours")
    test_command = "python -m pytest -q -p no:cacheprovider test.py"
    ws = Workspace.objects.create(
        name="slugify", path=str(repo), isolation_level="full", test_command=test_command,
        setup_command="python -m pip install -r requirements.txt",
    )  # fmt: skip
    commit = ws.head_commit()

    def first_use() -> float:
        started = time.perf_counter()
        with contextlib.suppress(EnvironmentNotReady):
            ensure(ws, commit)
        build = EnvironmentBuild.objects.get()
        assert build_environment(build.pk) == "ready", EnvironmentBuild.objects.get().log_tail
        ensure(ws, commit)
        return (time.perf_counter() - started) * 1000

    cold = first_use()
    EnvironmentBuild.objects.all().delete()  # the same key again: a fresh env, a warm pip cache
    warm = first_use()
    build = EnvironmentBuild.objects.get()
    print(f"build on first use: cold pip cache {cold / 1000:6.1f} s, warm {warm / 1000:6.1f} s "
          f"({build.size_bytes / 1e6:.0f} MB, tools added: {', '.join(build.tools_added)})")  # fmt: skip

    lookup = _median_ms(lambda: ensure(ws, commit), 25)
    print(f"cache hit, the look-up a run makes (key from git blobs + row): median {lookup:6.1f} ms")
    ws.test_command = "python -c pass"
    setup = ws.setup_command
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(15):  # interleaved: a shared machine's noise falls on both alike
        for label, command in (("with", setup), ("without", "")):
            ws.setup_command = command
            started = time.perf_counter()
            run_tests(ws)
            times[label].append((time.perf_counter() - started) * 1000)
    ws.setup_command = setup
    with_env, without = (statistics.median(times[k]) for k in ("with", "without"))
    print(f"cache hit, a whole run of `python -c pass`: {with_env:6.1f} ms with the environment, "
          f"{without:6.1f} ms without (+{with_env - without:5.1f} ms; target < 50 ms)")  # fmt: skip

    ws.test_command = test_command
    env = {
        "PATH": f"{build.path}/bin:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "VIRTUAL_ENV": build.path,
        "PYTEST_ADDOPTS": f"--junitxml={tmp / 'bare.xml'} -p no:cacheprovider",
    }  # fmt: skip
    argv = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test.py"]
    bare = _median_ms(lambda: subprocess.run(argv, cwd=repo, env=env, capture_output=True))
    sandboxed = _median_ms(lambda: run_tests(ws))
    result = run_tests(ws)
    print(f"project suite ({len(result.tests)} tests): bare {bare:6.1f} ms, sandboxed (FULL) "
          f"{sandboxed:6.1f} ms (×{sandboxed / bare:.2f}; goal ≤ 1.10)")  # fmt: skip
    submission_to_decision(ws, repo)


def submission_to_decision(ws: object, repo: Path, rounds: int = 4) -> None:
    """Submission → decision for the correct fix, in process (the two stages the worker runs),
    once the environment exists; the first round (the baseline run) is a warm-up."""
    from django.db import transaction

    from healing.intake.actions import do_submit_patch
    from healing.intake.tasks import process_modification
    from healing.models import Modification
    from healing.sandbox.tasks import sandbox_modification
    from tests import factories
    from tests.real_projects import SLUGIFY_BUG, edit_diff

    agent = factories.make_user("bench-agent", role="agent")
    fix = edit_diff(repo, "slugify/slugify.py", SLUGIFY_BUG[1], SLUGIFY_BUG[0])
    times, decisions = [], set()
    for i in range(rounds + 1):
        envelope = {
            "schema_version": "2.0", "patch_id": f"bench-env-{i}", "workspace": ws.name,  # type: ignore[attr-defined]
            "language": "python",
            "error_classification": {"error_type": "logic", "severity": "medium"},
            "confidence_scoring": {"logits": [6.0, 0.1, 0.1]}, "patch_data": {"diff": fix},
        }  # fmt: skip
        started = time.perf_counter()
        with transaction.atomic():
            mod = do_submit_patch(envelope, submitted_by=agent, source="agent:bench")
        if process_modification.run(mod.pk) == "sandboxing":
            sandbox_modification.run(mod.pk)
        elapsed = (time.perf_counter() - started) * 1000
        status = Modification.objects.get(pk=mod.pk).status
        if i:
            times.append(elapsed)
            decisions.add(status)
    print(f"submission → decision, the correct fix, environment built: median "
          f"{statistics.median(times):6.0f} ms over {len(times)} (decisions: {', '.join(sorted(decisions))})")  # fmt: skip


if __name__ == "__main__":
    main()
