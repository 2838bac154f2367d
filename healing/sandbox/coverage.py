"""Coverage of the lines a diff adds, measured with coverage.py inside the sandbox."""

from __future__ import annotations

from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


def added_lines(diff: str) -> dict[str, set[int]]:
    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        return {}
    result: dict[str, set[int]] = {}
    for patched in patch:
        if patched.is_removed_file:
            continue
        path = patched.path
        lines = {
            line.target_line_no
            for hunk in patched
            for line in hunk
            if line.is_added and line.target_line_no
        }
        if lines:
            result[path] = lines
    return result


def touched_coverage(scratch: Any, files: list[str], touched: dict[str, set[int]]) -> float | None:
    data_file = scratch.reports / ".coverage"
    if not data_file.exists():
        return None
    import coverage

    cov = coverage.Coverage(data_file=str(data_file))
    cov.load()
    executable = covered = 0
    for rel in files:
        try:
            _, statements, _, missing, _ = cov.analysis2(str(scratch.tree / rel))
        except Exception:  # noqa: BLE001, S112 - a file coverage cannot analyse is simply not measured
            continue
        lines = touched.get(rel, set()) & set(statements)
        executable += len(lines)
        covered += len(lines - set(missing))
    return round(covered / executable, 4) if executable else None
