"""Git plumbing for landing a change without a half-written tree.

A change is first built as a commit in the object store through a private index (nothing the
user can see changes), then the touched files are written one by one with atomic renames, then
the branch ref moves with a compare-and-swap. Recovery decides forward or back by the ref alone."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..gitapply import apply_args, stdin_of

COMMITTER = ("Selfheal", "selfheal@localhost")


class GitError(Exception):
    pass


def git(
    repo: Path | str,
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> bytes:
    """git's output in `repo`; GitError (with git's own message) when it fails."""
    out = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if out.returncode != 0:
        raise GitError(
            f"git {' '.join(args[:2])}: {out.stderr.decode(errors='replace').strip()[:1000]}"
        )
    return out.stdout


def rev(repo: Path | str, ref: str) -> str:
    return git(repo, "rev-parse", "--verify", "--quiet", ref).decode().strip()


def branch_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def current_branch_ref(repo: Path | str) -> str:
    try:
        return git(repo, "symbolic-ref", "-q", "HEAD").decode().strip()
    except GitError:
        return ""


@dataclass(frozen=True)
class Author:
    name: str
    email: str


def _commit(repo: Path, tree: str, parent: str, message: str, author: Author) -> str:
    env = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": COMMITTER[0],
        "GIT_COMMITTER_EMAIL": COMMITTER[1],
    }
    return (
        git(repo, "commit-tree", tree, "-p", parent, "-F", "-", stdin=message.encode(), env=env)
        .decode()
        .strip()
    )


def _with_private_index(repo: Path, base: str) -> tuple[dict[str, str], Path]:
    fd, name = tempfile.mkstemp(prefix="selfheal-index-")
    os.close(fd)
    os.unlink(name)
    env = {"GIT_INDEX_FILE": name}
    git(repo, "read-tree", base, env=env)
    return env, Path(name)


def commit_from_diff(
    repo: Path, base: str, diff: str, message: str, author: Author, *, reverse: bool = False
) -> str:
    """A commit of `base` with `diff` applied, built in the object store only."""
    env, index = _with_private_index(repo, base)
    try:
        args = apply_args(cached=True, reverse=reverse)
        git(repo, *args, stdin=stdin_of(diff).encode(), env=env)
        tree = git(repo, "write-tree", env=env).decode().strip()
    finally:
        index.unlink(missing_ok=True)
    return _commit(repo, tree, base, message, author)


def commit_from_files(
    repo: Path, base: str, files: dict[str, tuple[bytes, str] | None], message: str, author: Author
) -> str:
    """A commit of `base` with whole files replaced (content, mode) or removed (None)."""
    env, index = _with_private_index(repo, base)
    try:
        for path, entry in files.items():
            if entry is None:
                git(repo, "update-index", "--force-remove", "--", path, env=env)
            else:
                content, mode = entry
                blob = git(repo, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
                git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        tree = git(repo, "write-tree", env=env).decode().strip()
    finally:
        index.unlink(missing_ok=True)
    return _commit(repo, tree, base, message, author)


def changed_paths(repo: Path, old: str, new: str) -> list[str]:
    out = git(repo, "diff-tree", "-r", "-z", "--no-renames", "--name-only", old, new)
    return [p for p in out.decode().split("\0") if p]


def blob_at(repo: Path, commit: str, path: str) -> tuple[bytes, str] | None:
    """(content, mode) of `path` at `commit`, or None if it does not exist there."""
    out = git(repo, "ls-tree", "-z", commit, "--", path).decode()
    if not out:
        return None
    meta, _ = out.rstrip("\0").split("\t", 1)
    mode, _kind, sha = meta.split()
    return git(repo, "cat-file", "blob", sha), mode


def write_file_atomically(target: Path, content: bytes, mode: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".selfheal-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o755 if mode == "100755" else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dirty_paths(repo: Path, paths: list[str]) -> list[str]:
    if not paths:
        return []
    out = git(repo, "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths).decode()
    return [entry[3:] for entry in out.split("\0") if entry]
