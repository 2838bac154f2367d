"""Scratch-tree preparation for a 10-file and a 10,000-file repository (target: ≤ 3×).

Run: .venv/bin/python bench/sandbox_prepare.py
Prints the median time to prepare and remove a scratch tree with the diff applied, for each
repository and each way of making one (healing/sandbox/scratch.py), and the ratio large/small.
The cached checkout FULL, PARTIAL and NONE start from is made once per commit; its cost is
printed apart."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

from healing.sandbox.scratch import (  # noqa: E402
    base_tree,
    mounted_tree,
    overlay_supported,
    overlay_tree,
    scratch_tree,
)

DIFF = "--- a/f0.py\n+++ b/f0.py\n@@ -1 +1 @@\n-x = 0\n+x = 1\n"


def make_repo(path: Path, count: int) -> str:
    path.mkdir(parents=True)
    for i in range(count):
        sub = path / f"d{i // 100}"
        sub.mkdir(exist_ok=True)
        (sub if i else path).joinpath(f"f{i}.py").write_text(f"x = {i}\n")

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(path), *a], check=True, capture_output=True, text=True
        )

    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
    return run("rev-parse", "HEAD").stdout.strip()


SAMPLES: dict[tuple[str, int], list[float]] = {}


def measure(prepare_tree, repo: Path, commit: str, rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    prepare, total = [], []
    SAMPLES[(prepare_tree.__name__, len(SAMPLES))] = total
    for _ in range(rounds):
        started = time.perf_counter()
        with prepare_tree(repo, commit, DIFF):
            prepare.append(time.perf_counter() - started)
        total.append(time.perf_counter() - started)
    return statistics.median(prepare) * 1000, statistics.median(total) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings.SELFHEAL_SANDBOX_CACHE = str(Path(tmp) / "cache")
        repos = {}
        for count in (10, 10_000):
            repo = Path(tmp) / f"repo{count}"
            repos[count] = (repo, make_repo(repo, count))
        for count, (repo, commit) in repos.items():
            started = time.perf_counter()
            base_tree(repo, commit)
            ms = (time.perf_counter() - started) * 1000
            print(f"{count:>6} files: cached checkout of the commit (once per commit) {ms:8.1f} ms")
        strategies = []
        ok, why = overlay_supported()
        if ok:
            strategies.append(("overlay of the cached checkout (all levels here)", overlay_tree))
        else:
            print(f"no unprivileged overlay here ({why})")
        strategies += [
            ("read-only cached checkout + bound files (FULL without overlay)", mounted_tree),
            ("git worktree (the fallback)", scratch_tree),
        ]
        rows = []
        for label, prepare_tree in strategies:
            print(label)
            results = {}
            for count, (repo, commit) in repos.items():
                results[count] = measure(
                    prepare_tree, repo, commit, rounds=15 if count == 10 else 5
                )
                print(
                    f"  {count:>6} files: prepare {results[count][0]:8.1f} ms, "
                    f"prepare+cleanup {results[count][1]:8.1f} ms (median)"
                )
            runs = [v for k, v in SAMPLES.items() if k[0] == prepare_tree.__name__][-2:]
            rows.append((label, results, runs))
            ratio = results[10_000][0] / results[10][0]
            ratio_total = results[10_000][1] / results[10][1]
            verdict = "meets" if ratio_total <= 3 else "MISSES"
            print(
                f"  ratio 10,000/10: prepare {ratio:.1f}×, with cleanup {ratio_total:.1f}× "
                f"— {verdict} the ≤ 3× target"
            )

        from _table import header, row, spread

        header()
        for label, results, (small, large) in rows:
            ratio = results[10_000][1] / results[10][1]
            row(
                f"scratch tree {label}, 10 files, prepare+cleanup",
                f"{results[10][1]:.1f} ms",
                spread([x * 1000 for x in small], fmt=".1f"),
            )
            row(
                f"scratch tree {label}, 10,000 files, prepare+cleanup",
                f"{results[10_000][1]:.1f} ms",
                spread([x * 1000 for x in large], fmt=".1f"),
                f"×{ratio:.1f} of 10 files",
                "≤ 3× of 10 files",
                ratio <= 3,
            )


if __name__ == "__main__":
    main()
