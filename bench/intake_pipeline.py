"""Push a 200-line, 3-file Python diff through every stage before the sandbox; print p50/p95.

    .venv/bin/python bench/intake_pipeline.py [--runs 200]

Uses a scratch git repository and, like every bench, a scratch SQLite database under a
temporary directory unless DATABASE_URL names another (bench/_env.py), so it never touches var/.
Target: p50 under 10 ms for the whole pipeline. Measured 2026-12-01 on the shared 2 cores (load
average 6-7, before and after in turn): 9 git processes a patch, p50 162-167 ms, p95 214-252 ms
(CPU 35 ms here, 18 ms in git) before; 4, p50 65-74 ms, p95 103-107 ms (CPU 18 ms here, 8 ms
in git) once the base commit's index, tree and blobs were remembered by id, the apply printed
its numstat, one diff-tree gave raw list and patch, the scratch moved to /dev/shm, each tree
was walked once and git's exits were waited for on a pidfd.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_repo(path: Path) -> str:
    """Three modules of ~120 lines, and a diff changing 200 lines across them."""
    path.mkdir()
    for n in range(3):
        lines = [f'"""Module {n}."""', "", "import math", ""]
        for i in range(30):
            lines += [
                f"def f{i}(x, y):",
                f"    value = x * {i} + y",
                "    return math.sqrt(abs(value))",
                "",
            ]
        (path / f"mod{n}.py").write_text("\n".join(lines) + "\n")
    git = ["git", "-C", str(path)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run(
        [*git, "-c", "user.name=b", "-c", "user.email=b@b.invalid", "commit", "-qm", "base"],
        check=True,
    )
    for n in range(3):
        target = path / f"mod{n}.py"
        text = target.read_text()
        for i in range(0, 30 if n < 2 else 6):
            text = text.replace(
                f"    value = x * {i} + y\n",
                f"    value = x * {i} + y + 1  # fixed\n    value = value or 0\n",
                1,
            )
        target.write_text(text)
    diff = subprocess.run([*git, "diff"], capture_output=True, text=True, check=True).stdout
    subprocess.run([*git, "checkout", "-q", "--", "."], check=True)
    return diff


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finer than os.times()'s clock ticks
    return usage.ru_utime + usage.ru_stime


def _count_processes() -> list[int]:
    """Processes started per patch (one entry per run): wall time under load follows them."""
    counts: list[int] = []
    popen_init = subprocess.Popen.__init__

    def counting(self: subprocess.Popen[bytes], *args: object, **kwargs: object) -> None:
        if counts:
            counts[-1] += 1
        popen_init(self, *args, **kwargs)  # type: ignore[arg-type]

    subprocess.Popen.__init__ = counting  # type: ignore[method-assign]
    return counts


def main() -> None:
    import _env

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    run(_env.setup("intake"), args.runs)


def run(tmp: Path, runs: int) -> None:
    from healing.models import Workspace
    from healing.policy import assess_safety
    from healing.validation import ValidationContext, run_pipeline

    diff = make_repo(tmp / "repo")
    import gc

    # What the Celery worker does once it is up (selfheal_site/celery.py).
    gc.freeze()
    changed = sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    workspace = Workspace.objects.create(
        name=f"bench-{tmp.name}", path=str(tmp / "repo"), isolation_level="partial"
    )
    timings = []
    cpu = []
    git_cpu = []
    spawned = _count_processes()
    stage_times: dict[str, list[float]] = {}
    for _ in range(runs + 5):
        spawned.append(0)
        started = time.perf_counter()
        started_cpu = time.process_time()
        started_children = _children_cpu()
        report = run_pipeline(
            ValidationContext(workspace=workspace, diff=diff, source="agent:bench")
        )
        from healing.models import Modification

        mod = Modification(
            workspace=workspace,
            validation=report.as_json(),
            risk_level=report.ctx.risk_level,
            files=[c.path for c in report.ctx.files],
            error_type=report.ctx.error_type,
            severity=report.ctx.severity,
        )
        assess_safety(mod)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        git_cpu.append((_children_cpu() - started_children) * 1000)
        for result in report.results:
            stage_times.setdefault(result.name, []).append(result.duration_ms)
        assert not report.rejected, report.reject_reason()
    timings = timings[5:]  # the first runs build the HEAD index and warm the caches
    cpu = cpu[5:]
    git_cpu = git_cpu[5:]
    q = statistics.quantiles(timings, n=100)
    print(f"intake pipeline: {len(report.ctx.files)} files, {changed} changed lines, {runs} runs")
    print(
        f"  total  p50 {statistics.median(timings):6.2f} ms   p95 {q[94]:6.2f} ms   (target p50 < 10 ms)"
    )
    print(
        f"  (this process's CPU p50 {statistics.median(cpu):.2f} ms; its git processes"
        f" {len(spawned[5:]) and sum(spawned[5:]) / len(spawned[5:]):.1f} a patch, CPU p50"
        f" {statistics.median(git_cpu):.2f} ms; load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores)"
    )
    for name, values in stage_times.items():
        values = values[5:]
        print(
            f"  {name:15} p50 {statistics.median(values):6.2f} ms   p95 {statistics.quantiles(values, n=100)[94]:6.2f} ms"
        )
    from _table import header, med, row, spread

    header()
    p50 = statistics.median(timings)
    row(
        f"pre-sandbox pipeline per patch ({changed} lines, {len(report.ctx.files)} files), p50",
        med(timings),
        spread(timings),
        target="p50 < 10 ms",
        met=p50 < 10,
    )
    row("pre-sandbox pipeline per patch, p95", f"{q[94]:.2f} ms")


if __name__ == "__main__":
    main()
