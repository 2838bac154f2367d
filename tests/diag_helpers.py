"""Helpers shared by the self-debugging tests: real git repositories holding small programs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from healing.models import Workspace
from healing.sandbox import TestOutcome
from selfdebug.results import Failure, at
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
) -> Failure:
    """A failed test whose traceback names `path:line`."""
    return Failure(
        TestOutcome(
            nodeid=nodeid, outcome="failed", message=message, traceback=at(path, line, language)
        ),
        language=language,
    )


def workspace_with(path: Path, files: dict[str, str], level: str = "partial") -> Workspace:
    """A stored workspace on a repository of `files`, at isolation `level`."""
    return factories.make_workspace(repo_with(path, files), isolation_level=level)
