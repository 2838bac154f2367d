"""The sandbox's own overhead beyond the bare test command, for a small pytest suite.

Run: .venv/bin/python bench/sandbox_overhead.py
Prints the median wall time of: the bare `python -m pytest -q` in a checkout; the same command
run by the sandbox runner under each available isolation backend (same tree); and the whole
sandbox path (scratch tree + backend + JUnit parsing). Target: < 100 ms over bare."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")

import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

from healing.sandbox import reports  # noqa: E402
from healing.sandbox.backends import REGISTRY  # noqa: E402
from healing.sandbox.limits import Limits  # noqa: E402
from healing.sandbox.runner import execute  # noqa: E402

TESTS = "".join(f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n\n" for i in range(10))
ROUNDS = 9
PYTHON_BIN = str(Path(sys.prefix) / "bin")


def make_repo(path: Path) -> str:
    path.mkdir()
    (path / "test_small.py").write_text(TESTS)

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(path), *a], check=True, capture_output=True, text=True
        )

    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init")
    return run("rev-parse", "HEAD").stdout.strip()


def env_for(root: Path, junit: Path) -> dict[str, str]:
    return {
        "PATH": f"{PYTHON_BIN}:/usr/bin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_ADDOPTS": f"--junitxml={junit} -p no:cacheprovider",
        # As the sandbox sets it (sandbox.pytest_plugin_autoload off), for bare and sandboxed
        # alike: otherwise both pay ~1.5 s importing Selfheal's own dev plugins.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def main() -> None:
    argv = ["python", "-m", "pytest", "-q"]
    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        commit = make_repo(repo)
        settings.SELFHEAL_SANDBOX_CACHE = str(Path(tmp) / "cache")
        # The same command with the same options and JUnit report, run directly in the checkout.
        bare_env = env_for(Path(tmp), Path(tmp) / "bare-junit.xml")

        def bare() -> None:
            subprocess.run(argv, cwd=repo, env=bare_env, capture_output=True, check=True)

        def sandboxed(backend: Any) -> None:
            with backend.prepare(repo, commit) as scratch:
                env = env_for(scratch.home, scratch.reports / "junit.xml")
                wrapped = backend.wrap(argv, scratch=scratch, env=env)
                result = execute(
                    wrapped,
                    cwd=scratch.tree,
                    env=env,
                    limits=limits,
                    output_path=scratch.root / "out",
                )
                assert result.exit_code == 0, result.output
                assert len(reports.parse_junit(scratch.reports / "junit.xml")) == 10

        configs: dict[str, Any] = {"bare": bare}
        for level, backend in REGISTRY.items():
            ok, why = backend.available()
            if ok:
                configs[level] = lambda backend=backend: sandboxed(backend)
            else:
                print(f"{level}: unavailable ({why})")
        times: dict[str, list[float]] = {name: [] for name in configs}
        # Interleaved rounds, so that load from elsewhere on the machine hits every config alike.
        for _ in range(ROUNDS):
            for name, fn in configs.items():
                started = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - started) * 1000)
        base_min, base_med = min(times["bare"]), statistics.median(times["bare"])
        print(
            f"bare pytest, 10 tests: min {base_min:7.1f} ms, median {base_med:7.1f} ms ({ROUNDS} rounds)"
        )
        for name, values in times.items():
            if name == "bare":
                continue
            low, med = min(values), statistics.median(values)
            print(
                f"{name:>8} (scratch tree + isolation + JUnit): min {low:7.1f} ms (+{low - base_min:6.1f} ms, "
                f"×{low / base_min:.2f}), median {med:7.1f} ms (+{med - base_med:6.1f} ms, ×{med / base_med:.2f})"
            )
        from _table import header, row, spread

        header()
        row("bare pytest, 10 tests", f"{base_med:.1f} ms", spread(times["bare"], fmt=".1f"))
        for name, values in times.items():
            if name == "bare":
                continue
            med = statistics.median(values)
            row(
                f"sandboxed pytest ({name}: scratch tree + isolation + JUnit)",
                f"{med:.1f} ms",
                spread(values, fmt=".1f"),
                f"+{med - base_med:.1f} ms, ×{med / base_med:.2f} of bare",
                "< +100 ms over bare",
                med - base_med < 100,
            )


if __name__ == "__main__":
    main()
