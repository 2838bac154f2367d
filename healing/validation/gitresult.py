"""What git will write: the diff applied once to a scratch index of the base commit.

The same `git apply` the sandbox and the apply run (healing.gitapply) writes the patched tree into
a private index and a private object directory (the workspace's object store is only read). The
touched paths come from `git diff-tree --raw --no-renames` of the two trees (a rename is a delete
and an add, so both names are judged; copies, mode changes, symlinks and gitlinks are all
visible), the files' contents from the two trees' blobs, and the added and removed lines from
git's own diff of the trees, which is also the diff the review page shows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..gitapply import apply_args, stdin_of
from .deadline import Deadline

ZERO = re.compile(r"^0+$")
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
REGULAR = ("100644", "100755")
SYMLINK = "120000"
GITLINK = "160000"


class GitApplyFailed(Exception):
    """git refused the diff (or could not run): the message says why."""


@dataclass
class TreeEntry:
    """One path git's tree diff names, with its lines as git's diff of the two trees gives them."""

    path: str
    status: str  # A | D | M | T (type change)
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    before: bytes | None = None
    after: bytes | None = None
    binary: bool = False
    added: dict[int, str] = field(default_factory=dict)  # line after (git's numbering) → text
    removed: dict[int, str] = field(default_factory=dict)


@dataclass
class GitResult:
    base_commit: str
    base_tree: str
    new_tree: str
    entries: list[TreeEntry]
    diff: str  # git's diff of base tree → new tree: what lands, and what the review page shows
    sections: list[tuple[str, str, str]] = field(default_factory=list)  # git's reading, per section


def _run(
    repo: Path,
    args: list[str],
    env: dict[str, str],
    deadline: Deadline,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
            input=stdin,
            capture_output=True,
            timeout=deadline.remaining(),
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        deadline.expire()
        raise AssertionError("unreachable") from None  # expire() raises
    except OSError as exc:
        raise GitApplyFailed(f"git could not run: {exc}") from None


def _ok(out: subprocess.CompletedProcess[bytes], what: str) -> bytes:
    if out.returncode != 0:
        raise GitApplyFailed(f"{what}: {out.stderr.decode(errors='replace').strip()[:1000]}")
    return out.stdout


def object_dir(repo: Path, deadline: Deadline) -> Path:
    """The workspace's object store (a linked work tree's .git is a file): within the
    validation's deadline, and a refusal (GitApplyFailed), never a crash, when git fails."""
    if (repo / ".git" / "objects").is_dir():
        return repo / ".git" / "objects"
    args = ["rev-parse", "--path-format=absolute", "--git-path", "objects"]
    out = _ok(_run(repo, args, dict(os.environ), deadline), "git rev-parse --git-path objects")
    return Path(out.decode(errors="replace").strip())


def apply_to_tree(repo: Path, base: str, diff: str, deadline: Deadline) -> GitResult:
    """Apply `diff` to `base` in a scratch index and object directory; read back what git wrote."""
    scratch = Path(tempfile.mkdtemp(prefix="selfheal-val-"))
    try:
        objects = scratch / "objects"
        objects.mkdir()
        env = {
            **os.environ,
            "GIT_INDEX_FILE": str(scratch / "index"),
            "GIT_OBJECT_DIRECTORY": str(objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(object_dir(repo, deadline)),
        }
        _ok(_run(repo, ["read-tree", base], env, deadline), "git read-tree")
        base_tree = _ok(_run(repo, ["rev-parse", f"{base}^{{tree}}"], env, deadline), "tree")
        out = _run(repo, apply_args(cached=True), env, deadline, stdin_of(diff).encode())
        if out.returncode != 0:
            raise GitApplyFailed(out.stderr.decode(errors="replace").strip()[:2000])
        stat = _ok(
            _run(repo, apply_args(numstat=True), env, deadline, stdin_of(diff).encode()),
            "git apply --numstat",
        )
        new_tree = _ok(_run(repo, ["write-tree"], env, deadline), "git write-tree").strip()
        old = base_tree.decode().strip()
        new = new_tree.decode()
        raw = _ok(
            _run(
                repo,
                ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", old, new],
                env,
                deadline,
            ),
            "git diff-tree",
        )
        entries = _parse_raw(raw)
        patch = _ok(
            _run(
                repo,
                ["diff-tree", "-p", "--no-renames", "--full-index", "--no-color", "--no-ext-diff",
                 "--no-textconv", old, new],
                env,
                deadline,
            ),
            "git diff-tree -p",
        )  # fmt: skip
        _attach_lines(entries, patch)
        _attach_blobs(repo, entries, env, deadline)
        return GitResult(
            base, old, new, entries, patch.decode("utf-8", errors="replace"), _parse_numstat(stat)
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _parse_numstat(out: bytes) -> list[tuple[str, str, str]]:
    """(added, removed, path) per section of the diff, as git apply reads it ('-' for binary)."""
    fields = out.split(b"\0")
    sections = []
    i = 0
    while i < len(fields) and fields[i]:
        added, removed, path = fields[i].decode("utf-8", errors="surrogateescape").split("\t", 2)
        if not path and i + 2 < len(fields):  # a rename or copy: old and new names follow
            path = fields[i + 2].decode("utf-8", errors="surrogateescape")
            i += 2
        sections.append((added, removed, path))
        i += 1
    return sections


def _parse_raw(raw: bytes) -> list[TreeEntry]:
    parts = raw.split(b"\0")
    entries = []
    for i in range(0, len(parts) - 1, 2):
        meta = parts[i].decode()
        if not meta.startswith(":"):
            break
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split(" ")
        path = parts[i + 1].decode("utf-8", errors="surrogateescape")
        entries.append(TreeEntry(path, status[0], old_mode, new_mode, old_sha, new_sha))
    return entries


def _attach_lines(entries: list[TreeEntry], patch: bytes) -> None:
    """git's diff of the trees has one section per raw entry, in the same order. Lines are
    counted by '\\n' alone, as git counts them."""
    sections = re.split(rb"(?m)^(?=diff --git )", patch)
    sections = [s for s in sections if s.startswith(b"diff --git ")]
    if len(sections) != len(entries):
        raise GitApplyFailed("git's tree diff and its patch disagree on the files")
    for entry, section in zip(entries, sections, strict=True):
        old_no = new_no = 0
        in_hunk = False
        for line in section.split(b"\n"):
            header = _HUNK.match(line)
            if header:
                old_no, new_no, in_hunk = int(header[1]), int(header[3]), True
                continue
            if not in_hunk:
                if line.startswith(b"Binary files ") or line == b"GIT binary patch":
                    entry.binary = True
                continue
            if line.startswith(b"+"):
                entry.added[new_no] = line[1:].decode("utf-8", errors="replace")
                new_no += 1
            elif line.startswith(b"-"):
                entry.removed[old_no] = line[1:].decode("utf-8", errors="replace")
                old_no += 1
            elif line.startswith(b" "):
                old_no += 1
                new_no += 1


def _attach_blobs(
    repo: Path, entries: list[TreeEntry], env: dict[str, str], deadline: Deadline
) -> None:
    wanted: list[tuple[TreeEntry, str, str]] = []
    for entry in entries:
        if entry.binary:
            continue
        if entry.old_mode in (*REGULAR, SYMLINK) and not ZERO.match(entry.old_sha):
            wanted.append((entry, "before", entry.old_sha))
        if entry.new_mode in (*REGULAR, SYMLINK) and not ZERO.match(entry.new_sha):
            wanted.append((entry, "after", entry.new_sha))
    if not wanted:
        return
    request = "".join(f"{sha}\n" for _, _, sha in wanted).encode()
    out = _ok(_run(repo, ["cat-file", "--batch"], env, deadline, request), "git cat-file")
    pos = 0
    for entry, side, _sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:
            raise GitApplyFailed(f"git cat-file: {header!r}")
        size = int(header[2])
        setattr(entry, side, out[pos : pos + size])
        pos += size + 1
