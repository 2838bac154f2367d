"""The scratch tree: a detached git worktree of a commit with the diff applied, always removed.

A worktree shares the repository's object store, so nothing is copied from history; only the
checkout of the files costs (see bench/sandbox_prepare.py for the figures)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class DiffDoesNotApply(Exception):
    pass


@dataclass
class Scratch:
    root: Path
    tree: Path
    reports: Path
    home: Path
    tmp: Path


def _git(repo: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def scratch_tree(repo: Path, commit: str, diff: str | None = None) -> Iterator[Scratch]:
    root = Path(tempfile.mkdtemp(prefix="selfheal-sbx-"))
    root.chmod(0o755)
    scratch = Scratch(
        root=root,
        tree=root / "tree",
        reports=root / "reports",
        home=root / "home",
        tmp=root / "tmp",
    )
    for path in (scratch.reports, scratch.home, scratch.tmp):
        path.mkdir()
    try:
        out = _git(repo, "worktree", "add", "--detach", "--quiet", str(scratch.tree), commit)
        if out.returncode != 0:
            raise DiffDoesNotApply(f"cannot check out {commit}: {out.stderr.strip()[:500]}")
        if diff:
            out = _git(
                scratch.tree,
                "apply",
                "--whitespace=nowarn",
                "-",
                stdin=diff if diff.endswith("\n") else diff + "\n",
            )
            if out.returncode != 0:
                raise DiffDoesNotApply(out.stderr.strip()[:2000] or "git apply failed")
        yield scratch
    finally:
        _git(repo, "worktree", "remove", "--force", str(scratch.tree))
        shutil.rmtree(root, ignore_errors=True)
        if scratch.tree.exists() or not os.path.exists(root):
            _git(repo, "worktree", "prune")
