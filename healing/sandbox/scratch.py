"""The scratch tree a sandbox run sees: the commit with the diff applied, always removed.

Three ways to make one, cheapest first (bench/sandbox_prepare.py has the figures):
- `mounted_tree` (FULL): a cached checkout of the commit bound read-only, the patched files
  bound over it. Costs the patch; the tree is read-only.
- `overlay_tree` (PARTIAL, NONE): the same cached checkout as the lower layer of an overlay
  mounted in the run's own user and mount namespace; the patch and whatever the tests write go
  to an upper directory in the scratch root. Costs the patch; the tree is writable.
- `scratch_tree`: a detached git worktree (shares the object store, but checks out every file:
  costs the repository). The fallback where the kernel allows no overlay.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..gitapply import apply_args, apply_argv, stdin_of


class DiffDoesNotApply(Exception):
    pass


# Nothing in a path a test can see says who runs it.
SCRATCH_PREFIX = "sbx-"


@dataclass
class Scratch:
    root: Path
    tree: Path
    reports: Path
    home: Path
    tmp: Path
    # Read-only binds (host path, path inside) laid over `tree` by the FULL backend.
    binds: list[tuple[Path, Path]] = field(default_factory=list)
    base: Path | None = None  # the cached checkout the binds or the overlay start from
    patched: Path | None = None  # the patched copies of the touched files (the overlay's upper)
    # `mount -o` options of the overlay the run mounts on `tree` inside its namespace.
    overlay: str | None = None
    repo: Path | None = None  # the workspace's repository, hidden from the run

    @classmethod
    def under(cls, root: Path, *extra_dirs: str, **fields: Any) -> Scratch:
        """The layout every strategy shares, created under `root` (tree, reports, home, tmp and
        any `extra_dirs`)."""
        root.chmod(0o755)
        scratch = cls(
            root=root,
            tree=root / "tree",
            reports=root / "reports",
            home=root / "home",
            tmp=root / "tmp",
            **fields,
        )
        for path in (scratch.tree, scratch.reports, scratch.home, scratch.tmp):
            path.mkdir(exist_ok=True)
        for name in extra_dirs:
            (root / name).mkdir()
        return scratch

    def host_path(self, rel: str) -> Path:
        """Where a file of the tree is on the host (for coverage after the run)."""
        if self.patched is not None and (self.patched / rel).exists():
            return self.patched / rel
        if self.base is not None:
            return self.base / rel
        return self.tree / rel


def _git(
    repo: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def scratch_tree(repo: Path, commit: str, diff: str | None = None) -> Iterator[Scratch]:
    root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    scratch = Scratch.under(root, repo=repo)
    scratch.tree.rmdir()  # git worktree add makes it
    try:
        out = _git(repo, "worktree", "add", "--detach", "--quiet", str(scratch.tree), commit)
        if out.returncode != 0:
            raise DiffDoesNotApply(f"cannot check out {commit}: {out.stderr.strip()[:500]}")
        if diff:
            out = _git(scratch.tree, *apply_args(), stdin=stdin_of(diff))
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


def _cache_git(
    repo: Path, commit: str, *args: str, cache: Path
) -> subprocess.CompletedProcess[str]:
    """git on the cached checkout of `commit`, with its own index kept beside it."""
    env = {
        **os.environ,
        "GIT_INDEX_FILE": str(cache / f".index-{commit}"),
        "GIT_WORK_TREE": str(cache / commit),
    }
    return _git(repo, *args, env=env, timeout=600)


def _intact(repo: Path, commit: str, cache: Path) -> bool:
    """Whether the cached checkout is still exactly `commit`: its index's stat data (ctime
    included, which no process can set back) against every file, and no file added."""
    if not (cache / f".index-{commit}").is_file():
        return False
    changed = _cache_git(repo, commit, "diff-files", "--quiet", cache=cache)
    if changed.returncode != 0:
        return False
    extra = _cache_git(repo, commit, "ls-files", "--others", cache=cache)
    return extra.returncode == 0 and not extra.stdout.strip()


def base_tree(repo: Path, commit: str) -> Path:
    """A pristine checkout of `commit`, made once (under a lock) and reused by every run of it.

    Not a registered worktree: a private index (kept, to check the checkout before each use)
    and checkout-index, then an atomic rename. A checkout that no longer matches its index
    (a run under NONE can reach it) is made again."""
    cache = _cache_root(repo)
    target = cache / commit
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():
            if _intact(repo, commit, cache):
                return target
            remove_tree(target)
        token = uuid.uuid4().hex
        staging, index = cache / f".staging-{token}", cache / f".index-{token}"
        staging.mkdir()
        env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(staging)}
        try:
            for args in (["read-tree", commit], ["checkout-index", "-a", "-f"]):
                out = _git(repo, *args, env=env, timeout=600)
                if out.returncode != 0:
                    raise DiffDoesNotApply(f"cannot check out {commit}: {out.stderr.strip()[:500]}")
            staging.rename(target)
            index.rename(cache / f".index-{commit}")
            # The rename changed what the index recorded (ctimes): record it again.
            _cache_git(repo, commit, "update-index", "-q", "--refresh", cache=cache)
        finally:
            index.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
        old = sorted(
            (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        for stale in old[:-KEEP_BASE_TREES]:
            shutil.rmtree(stale, ignore_errors=True)
            (cache / f".index-{stale.name}").unlink(missing_ok=True)
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
    root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    scratch = Scratch.under(root, base=base, repo=repo)
    try:
        scratch.binds.append((base, scratch.tree))
        if paths:
            assert diff is not None  # the paths were read from it
            scratch.patched = root / "patched"
            for rel in paths:
                source = base / rel
                if not source.is_file() or ".." in Path(rel).parts:
                    raise DiffDoesNotApply(f"{rel}: no such file at {commit[:10]}")
                (scratch.patched / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, scratch.patched / rel)
            # Outside any repository, git apply patches plain files, like patch(1).
            out = subprocess.run(
                apply_argv(),
                cwd=scratch.patched,
                capture_output=True,
                text=True,
                input=stdin_of(diff),
                timeout=120,
                check=False,  # type: ignore[union-attr]
                env={**os.environ, "GIT_CEILING_DIRECTORIES": str(root)},
            )
            if out.returncode != 0:
                raise DiffDoesNotApply(out.stderr.strip()[:2000] or "git apply failed")
            scratch.binds += [(scratch.patched / rel, scratch.tree / rel) for rel in paths]
        yield scratch
    finally:
        remove_tree(root)


def remove_tree(root: Path) -> None:
    """rmtree that also removes what an overlay leaves behind: its work directory is created
    with mode 000, which a non-root owner cannot list until it gives itself the right again."""

    def retry(func: Any, path: str, _exc: Any) -> None:
        with suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
                shutil.rmtree(path, ignore_errors=True)
            else:
                func(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(root, onexc=retry)
    else:
        shutil.rmtree(root, onerror=retry)


# --- PARTIAL and NONE: the cached checkout as the lower layer of an overlay -------------------

MOUNT_OVERLAY = (
    'mount -t overlay overlay -o "$1" "$2" || exit 125; cd "$2" || exit 125; shift 2; exec "$@"'
)
# Characters `mount -o` would read as separators in a lowerdir/upperdir path.
_OPTION_UNSAFE = (",", ":", "\\", "\n")


def namespace_prefix() -> list[str]:
    """Enough of `unshare` to mount an overlay: a user namespace (to be root in it) and a mount
    namespace (so the mount is private to the run and dies with it)."""
    unshare = shutil.which("unshare") or "unshare"
    return [unshare, "--user", "--map-root-user", "--mount"]


@lru_cache(maxsize=1)
def overlay_supported() -> tuple[bool, str]:
    """Whether this kernel lets an unprivileged user mount an overlay in its own namespace
    (Linux 5.11 and later, unless disabled). Probed once with a real mount."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False, "unshare or mount is not installed"
    probe = Path(tempfile.mkdtemp(prefix="ovl-"))
    try:
        for name in ("lower", "upper", "work", "tree"):
            (probe / name).mkdir()
        (probe / "lower" / "probe").write_text("lower\n")
        options = f"lowerdir={probe / 'lower'},upperdir={probe / 'upper'},workdir={probe / 'work'}"
        try:
            out = subprocess.run(
                [*namespace_prefix(), "/bin/sh", "-c", MOUNT_OVERLAY, "sh", options,
                 str(probe / "tree"), "/bin/sh", "-c", "echo upper >> probe && cat probe"],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"overlay probe failed: {exc}"
        if out.returncode != 0 or out.stdout.split() != ["lower", "upper"]:
            return False, f"no unprivileged overlay mount here: {out.stderr.strip()[:200]}"
        if (probe / "lower" / "probe").read_text() != "lower\n":
            return False, "overlay wrote through to its lower layer"
        return True, "overlay of the cached checkout"
    finally:
        remove_tree(probe)


def overlay_options(lower: Path, upper: Path, work: Path) -> str | None:
    paths = [str(p) for p in (lower, upper, work)]
    if any(c in p for p in paths for c in _OPTION_UNSAFE):
        return None
    return f"lowerdir={paths[0]},upperdir={paths[1]},workdir={paths[2]}"


def mount_and_run(scratch: Scratch, argv: list[str]) -> list[str]:
    """`argv` run in the overlay tree; put after an `unshare` that gives a mount namespace."""
    assert scratch.overlay is not None
    return ["/bin/sh", "-c", MOUNT_OVERLAY, "sh", scratch.overlay, str(scratch.tree), *argv]


@contextmanager
def overlay_tree(repo: Path, commit: str, diff: str | None = None) -> Iterator[Scratch]:
    """For every level where the kernel allows it: nothing is checked out per run. The diff is applied once through the
    overlay (adds, deletes and renames included: a delete becomes a whiteout in the upper
    directory); the run mounts the same overlay again in its own namespace. Falls back to a
    worktree where the kernel allows no overlay or a path cannot be passed to mount."""
    ok, _why = overlay_supported()
    base = base_tree(repo, commit) if ok else None
    root = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    options = overlay_options(base, root / "upper", root / "work") if base else None
    if options is None:
        remove_tree(root)
        with scratch_tree(repo, commit, diff) as scratch:
            yield scratch
        return
    scratch = Scratch.under(
        root, "upper", "work", base=base, patched=root / "upper", overlay=options, repo=repo
    )
    try:
        if diff:
            out = subprocess.run(
                [
                    *namespace_prefix(),
                    *mount_and_run(scratch, apply_argv()),
                ],
                input=stdin_of(diff),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                # Outside any repository, git apply patches plain files, like patch(1).
                env={**os.environ, "GIT_CEILING_DIRECTORIES": str(root)},
            )
            if out.returncode != 0:
                raise DiffDoesNotApply(out.stderr.strip()[:2000] or "git apply failed")
        yield scratch
    finally:
        remove_tree(root)
