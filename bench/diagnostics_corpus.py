"""Diagnostics over the buggy-program corpus: how many failures were diagnosed, got a proposed fix,
and had that fix pass the tests. Prints figures; asserts nothing.

    .venv/bin/python bench/diagnostics_corpus.py [corpus_dir]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _env  # noqa: E402

# The runs go through the sandbox, which reads its limits and the emergency stop from the database.
_env.setup("diagnostics")

from selfdebug.corpus import evaluate  # noqa: E402


def main() -> None:
    root = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "tests" / "buggy_programs"
    )
    programs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    totals = {
        "programs": 0,
        "programs_fixed": 0,
        "failures": 0,
        "diagnosed": 0,
        "proposed": 0,
        "fixed": 0,
    }
    started = time.monotonic()
    print(
        f"{'program':28} {'fail':>4} {'diag':>4} {'prop':>4} {'pass':>4}  patterns / templates / isolation"
    )
    for program in programs:
        t0 = time.monotonic()
        try:
            r = evaluate(program)
        except Exception as exc:  # one broken program must not end the bench
            print(f"{program.name:28} could not be evaluated: {type(exc).__name__}: {exc}")
            continue
        totals["programs"] += 1
        totals["programs_fixed"] += int(r.failures > 0 and r.fixed == r.failures)
        for key in ("failures", "diagnosed", "proposed", "fixed"):
            totals[key] += getattr(r, key)
        print(
            f"{r.name:28} {r.failures:4} {r.diagnosed:4} {r.proposed:4} {r.fixed:4}  "
            f"{','.join(r.patterns) or '-'} / {','.join(r.templates) or '-'} / {','.join(r.isolation)}"
            f"  ({time.monotonic() - t0:.1f} s){'  ERROR ' + r.error if r.error else ''}"
        )
    elapsed = time.monotonic() - started
    f = totals["failures"] or 1
    print()
    print(f"programs: {totals['programs']}  failures: {totals['failures']}")
    print(
        f"diagnosed (a specific pattern matched): {totals['diagnosed']} ({100 * totals['diagnosed'] / f:.0f} %)"
    )
    print(
        f"fix proposed (validated diff):          {totals['proposed']} ({100 * totals['proposed'] / f:.0f} %)"
    )
    print(
        f"fix passes the tests:                   {totals['fixed']} ({100 * totals['fixed'] / f:.0f} %)"
        " (its test passes, no other test starts failing)"
    )
    print(
        f"programs with every failure fixed:      {totals['programs_fixed']} of {totals['programs']}"
    )
    from _table import header, row

    header()
    row(
        "diagnostics corpus: failures diagnosed",
        f"{totals['diagnosed']}/{totals['failures']}",
        "one run",
    )
    row("diagnostics corpus: fix proposed", f"{totals['proposed']}/{totals['failures']}", "one run")
    row(
        "diagnostics corpus: fix passes the tests",
        f"{totals['fixed']}/{totals['failures']}",
        "one run",
    )
    row(
        "diagnostics corpus: wall time per program",
        f"{elapsed / max(totals['programs'], 1):.1f} s",
        "one run",
    )
    print(f"wall time: {elapsed:.1f} s ({elapsed / max(totals['programs'], 1):.1f} s per program)")


if __name__ == "__main__":
    main()
