"""Run every benchmark in bench/ in one go and print their figures, one section each.

Usage: .venv/bin/python bench/run_all.py   (or `make bench`). Figures are medians with their
spread (and ratios to a baseline measured in the same run where there is one); nothing here is
a pass/fail test.
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


def main() -> int:
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in {"run_all.py", "__init__.py"} and not p.name.startswith("_"))
    print(f"# Selfheal benchmarks, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    failures = 0
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, text=True, capture_output=True, check=False)
        print(result.stdout.rstrip())
        if result.returncode != 0:
            failures += 1
            print(f"(exited {result.returncode})\n{result.stderr[-2000:]}")
        print(f"\n({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
