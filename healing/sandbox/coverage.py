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
    from coverage import CoverageData
    from coverage.parser import PythonParser

    data = CoverageData(basename=str(data_file))
    data.read()
    executable = covered = 0
    for rel in files:
        # Executed lines as recorded inside the sandbox; statements parsed from the host copy
        # (under FULL the tree was a mount that no longer exists).
        executed = set(data.lines(str(scratch.tree / rel)) or [])
        try:
            parser = PythonParser(text=scratch.host_path(rel).read_text(), filename=rel)
            parser.parse_source()
        except Exception:  # noqa: BLE001, S112 - a file coverage cannot parse is simply not measured
            continue
        lines = touched.get(rel, set()) & set(parser.statements)
        executable += len(lines)
        covered += len(lines & executed)
    return round(covered / executable, 4) if executable else None
