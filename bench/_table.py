"""One output format for every benchmark: markdown table rows that run_all.py collects.

Each script prints its details as it likes, then `header()` once and one `row(...)` per figure.
A row is: figure | median | spread (p5–p95, or IQR/min–max where said) | baseline / ratio |
target | met? — run_all.py gathers every row of every script into one combined table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

HEADER = "| figure | median | spread | baseline / ratio | target | met? |"
RULE = "|---|---|---|---|---|---|"


def header() -> None:
    print()
    print(HEADER)
    print(RULE)


def spread(samples: Sequence[float], unit: str = "ms", fmt: str = ".2f") -> str:
    """p5–p95 of the samples (min–max under 20 samples, where percentiles mean little)."""
    values = sorted(samples)
    if len(values) < 20:
        return f"min–max {values[0]:{fmt}}–{values[-1]:{fmt}} {unit}"
    q = statistics.quantiles(values, n=20)
    return f"p5–p95 {q[0]:{fmt}}–{q[-1]:{fmt}} {unit}"


def med(samples: Sequence[float], unit: str = "ms", fmt: str = ".2f") -> str:
    return f"{statistics.median(samples):{fmt}} {unit}"


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**NO**")


def row(
    figure: str,
    median: str,
    spread: str = "—",
    baseline: str = "—",
    target: str = "—",
    met: bool | None = None,
) -> None:
    cells = [figure, median, spread, baseline, target, verdict(met)]
    print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |", flush=True)
