"""Coverage of the lines a diff adds, measured with coverage.py inside the sandbox."""

from __future__ import annotations

import tempfile
from pathlib import Path
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
    """The share of the added statements the tests ran. The data file and the sources are read
    with read_untrusted (the tests could have replaced either; raises UntrustedFile), the data
    copied into a directory of the worker's own before SQLite opens it."""
    from coverage import CoverageData
    from coverage.parser import PythonParser

    from .reports import read_untrusted

    raw = read_untrusted(
        scratch.root, str((scratch.reports / ".coverage").relative_to(scratch.root))
    )
    if raw is None:
        return None
    executable = covered = 0
    with tempfile.TemporaryDirectory(prefix="cov-") as private:
        data_file = Path(private) / "coverage"
        data_file.write_bytes(raw)
        data = CoverageData(basename=str(data_file))
        try:
            data.read()
        except Exception:  # noqa: BLE001 - a data file the tests garbled measures nothing
            return None
        for rel in files:
            # Executed lines as recorded inside the sandbox; statements parsed from the host
            # copy (under FULL the tree was a mount that no longer exists).
            executed = set(data.lines(str(scratch.tree / rel)) or [])
            source = _source(scratch, rel)
            if source is None:
                continue
            try:
                parser = PythonParser(text=source.decode("utf-8"), filename=rel)
                parser.parse_source()
            except Exception:  # noqa: BLE001, S112 - a file coverage cannot parse is simply not measured
                continue
            lines = touched.get(rel, set()) & set(parser.statements)
            executable += len(lines)
            covered += len(lines & executed)
    return round(covered / executable, 4) if executable else None


def _source(scratch: Any, rel: str) -> bytes | None:
    from .reports import read_untrusted

    for root in (scratch.patched, scratch.base, None if scratch.base else scratch.tree):
        if root is not None:
            data = read_untrusted(root, rel)
            if data is not None:
                return data
    return None
