"""Run every benchmark in bench/ in one go, print each one's output, then one combined table.

Usage: .venv/bin/python bench/run_all.py [name ...]   (or `make bench`). Figures are medians with
their spread (and ratios to a baseline measured in the same run where there is one); nothing here
is a pass/fail test. Every script prints its figures as markdown rows (bench/_table.py); the rows
of all of them are gathered into the table at the end, with a list of what misses its target.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _table import HEADER, RULE  # noqa: E402

TIMEOUT_S = 600


def main() -> int:
    only = set(sys.argv[1:])
    scripts = sorted(
        p
        for p in BENCH.glob("*.py")
        if p.name not in {"run_all.py", "__init__.py"}
        and not p.name.startswith("_")
        and (not only or p.stem in only)
    )
    load = os.getloadavg()[0]
    print(
        f"# Selfheal benchmarks, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {load:.1f} at start"
    )
    failures: list[str] = []
    rows: list[tuple[str, str]] = []
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        started = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, str(script)],
                cwd=ROOT,
                text=True,
                capture_output=True,
                check=False,
                timeout=TIMEOUT_S,
            )
            out, code, err = result.stdout, result.returncode, result.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            code, err = -1, f"timed out after {TIMEOUT_S} s"
        print(out.rstrip())
        if code != 0:
            failures.append(script.stem)
            print(f"(exited {code})\n{err[-2000:]}")
        for line in out.splitlines():
            if line.startswith("| ") and line.strip() not in {HEADER, RULE}:
                rows.append((script.stem, line.strip()))
        print(f"\n({time.perf_counter() - started:.1f} s)", flush=True)

    print("\n## All figures\n")
    print("| bench " + HEADER)
    print("|---" + RULE)
    for name, line in rows:
        print(f"| {name} {line}")
    missed = [(n, line) for n, line in rows if line.rstrip(" |").endswith("**NO**")]
    print("\n## Misses its target\n")
    for name, line in missed:
        print(f"- {name}: {line.split('|')[1].strip()}")
    if not missed:
        print("- nothing")
    if failures:
        print(f"\nScripts that failed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
