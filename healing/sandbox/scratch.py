"""The scratch tree: a detached git worktree of a commit with the diff applied, always removed.

A worktree shares the repository's object store, so nothing is copied from history; only the
checkout of the files costs (see bench/sandbox_prepare.py for the figures)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    # Read-only binds (host path, path inside) laid over `tree` by the FULL backend.
    binds: list[tuple[Path, Path]] = field(default_factory=list)
    base: Path | None = None  # the cached checkout the binds start from
    patched: Path | None = None  # the patched copies of the touched files

    def host_path(self, rel: str) -> Path:
        """Where a file of the tree is on the host (for coverage after the run)."""
        if self.patched is not None and (self.patched / rel).exists():
            return self.patched / rel
        if self.base is not None:
            return self.base / rel
        return self.tree / rel


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


# --- FULL: a cached checkout per commit, mounted read-only, the patched files bound over it ---

KEEP_BASE_TREES = 3


def _cache_root(repo: Path) -> Path:
    from django.conf import settings

    digest = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]
    path = (
        Path(
            getattr(settings, "SELFHEAL_SANDBOX_CACHE", None) or settings.VAR_DIR / "sandbox-trees"
        )
        / digest
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_tree(repo: Path, commit: str) -> Path:
    """A pristine checkout of `commit`, made once (under a lock) and reused by every run of it.

    Not a registered worktree: a private index and checkout-index, then an atomic rename."""
    cache = _cache_root(repo)
    target = cache / commit
    if target.is_dir():
        return target
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            return target
        token = uuid.uuid4().hex
        staging, index = cache / f".staging-{token}", cache / f".index-{token}"
        staging.mkdir()
        env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(staging)}
        try:
            for args in (["read-tree", commit], ["checkout-index", "-a", "-f"]):
                out = subprocess.run(
                    ["git", "-C", str(repo), *args],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if out.returncode != 0:
                    raise DiffDoesNotApply(f"cannot check out {commit}: {out.stderr.strip()[:500]}")
            staging.rename(target)
        finally:
            index.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
        old = sorted(
            (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        for stale in old[:-KEEP_BASE_TREES]:
            shutil.rmtree(stale, ignore_errors=True)
    return target


def _only_modifies(diff: str) -> list[str] | None:
    """The paths a diff modifies, or None when it adds, deletes, renames or is binary."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        return None
    paths = []
    for patched in patch:
        if (
            patched.is_added_file
            or patched.is_removed_file
            or patched.is_rename
            or patched.is_binary_file
        ):
            return None
        if patched.source_file[2:] != patched.path:
            return None
        paths.append(patched.path)
    return paths


@contextmanager
def mounted_tree(repo: Path, commit: str, diff: str | None = None) -> Iterator[Scratch]:
    """For FULL: the tree is the cached checkout bound read-only, with the patched files bound
    over their originals. Costs the touched files, not the repository. A diff that adds or
    deletes files falls back to a worktree (a bind cannot add or hide a file)."""
    paths = _only_modifies(diff) if diff else []
    if paths is None:
        with scratch_tree(repo, commit, diff) as scratch:
            yield scratch
        return
    base = base_tree(repo, commit)
    root = Path(tempfile.mkdtemp(prefix="selfheal-sbx-"))
    root.chmod(0o755)
    scratch = Scratch(
        root=root,
        tree=root / "tree",
        reports=root / "reports",
        home=root / "home",
        tmp=root / "tmp",
        base=base,
    )
    for path in (scratch.tree, scratch.reports, scratch.home, scratch.tmp):
        path.mkdir()
    try:
        scratch.binds.append((base, scratch.tree))
        if paths:
            scratch.patched = root / "patched"
            for rel in paths:
                source = base / rel
                if not source.is_file() or ".." in Path(rel).parts:
                    raise DiffDoesNotApply(f"{rel}: no such file at {commit[:10]}")
                (scratch.patched / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, scratch.patched / rel)
            # Outside any repository, git apply patches plain files, like patch(1).
            out = subprocess.run(
                ["git", "apply", "--whitespace=nowarn", "-"],
                cwd=scratch.patched,
                capture_output=True,
                text=True,
                input=diff if diff.endswith("\n") else diff + "\n",
                timeout=120,
                check=False,  # type: ignore[union-attr]
                env={**os.environ, "GIT_CEILING_DIRECTORIES": str(root)},
            )
            if out.returncode != 0:
                raise DiffDoesNotApply(out.stderr.strip()[:2000] or "git apply failed")
            scratch.binds += [(scratch.patched / rel, scratch.tree / rel) for rel in paths]
        yield scratch
    finally:
        shutil.rmtree(root, ignore_errors=True)
