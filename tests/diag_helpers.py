"""Helpers shared by the self-debugging tests: real git repositories holding small programs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from healing.diagnostics.results import CaseResult, Frame
from tests import factories

CORPUS = Path(__file__).resolve().parent / "buggy_programs"


def repo_with(path: Path, files: dict[str, str]) -> Path:
    return factories.make_git_repo(
        path, {k: textwrap.dedent(v).lstrip("\n") for k, v in files.items()}
    )


def corpus_repo(tmp_path: Path, name: str) -> Path:
    program = CORPUS / name
    return factories.make_git_repo(
        tmp_path / name, {p.name: p.read_text() for p in program.iterdir() if p.is_file()}
    )


def failure(
    message: str,
    path: str,
    line: int,
    *,
    language: str = "python",
    nodeid: str = "test_x.py::test_x",
) -> CaseResult:
    return CaseResult(
        nodeid=nodeid,
        outcome="failed",
        message=message,
        language=language,
        frames=[Frame(path, line)],
    )
