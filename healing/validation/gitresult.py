"""What git will write: the diff applied once to a scratch index of the base commit.

The same `git apply` the sandbox and the apply run (healing.gitapply) writes the patched tree into
a private index and a private object directory (the workspace's object store is only read). The
touched paths come from `git diff-tree --raw --no-renames` of the two trees (a rename is a delete
and an add, so both names are judged; copies, mode changes, symlinks and gitlinks are all
visible), the files' contents from the two trees' blobs, and the added and removed lines from
git's own diff of the trees, which is also the diff the review page shows.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import shutil
import subprocess
import tempfile
import zlib
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


class _Process(subprocess.Popen[bytes]):
    """Popen whose timed wait sleeps on a pidfd until the child exits: Popen's own polls with
    sleeps that double from 1 ms, which added a millisecond or more to every git process."""

    def wait(self, timeout: float | None = None) -> int:
        if timeout is not None and self.returncode is None:
            try:
                fd = os.pidfd_open(self.pid)
            except (OSError, AttributeError):  # an older kernel: Popen's own wait
                return super().wait(timeout)
            try:
                ready, _, _ = select.select([fd], [], [], max(timeout, 0))
            finally:
                os.close(fd)
            if not ready:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return super().wait(timeout)


def run_git(
    argv: list[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)."""
    with _Process(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        except BaseException:
            process.kill()
            raise
        return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _run(
    repo: Path,
    args: list[str],
    env: dict[str, str],
    deadline: Deadline,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    try:
        return run_git(
            ["git", "-C", str(repo), "-c", "core.quotePath=false", *args],
            stdin=stdin,
            timeout=deadline.remaining(),
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


@dataclass
class _Base:
    tree: str
    index: bytes  # what `git read-tree <commit>` writes: the same for every patch on that commit


# (repository, commit id) → its tree and index: a commit never changes, so neither do they.
_BASES: dict[tuple[str, str], _Base] = {}
_BASES_KEPT = 8
_OBJECT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def _read_base(
    repo: Path, base: str, env: dict[str, str], index: Path, deadline: Deadline
) -> _Base:
    _ok(_run(repo, ["read-tree", base], env, deadline), "git read-tree")
    tree = _ok(_run(repo, ["rev-parse", f"{base}^{{tree}}"], env, deadline), "tree")
    return _Base(tree.decode().strip(), index.read_bytes())


SHM = Path("/dev/shm")  # noqa: S108 - a private mkdtemp below it, as under /tmp
_SHM_ROOM = 256 << 20


def _scratch_parent() -> Path | None:
    """Memory when the machine has a tmpfs with room, else the temporary directory: the scratch
    index and objects are written and removed with every patch, and on a busy disk that took
    longer than the git processes themselves (41 ms against 22 ms a patch under load)."""
    try:
        room = os.statvfs(SHM)
    except OSError:
        return None
    ok = room.f_bavail * room.f_frsize >= _SHM_ROOM and os.access(SHM, os.W_OK | os.X_OK)
    return SHM if ok else None


def apply_to_tree(repo: Path, base: str, diff: str, deadline: Deadline) -> GitResult:
    """Apply `diff` to `base` in a scratch index and object directory; read back what git wrote.

    Once a base commit has been seen, three git processes a patch: one apply that also prints
    how it read each section, a write-tree, one diff-tree for both the raw list and the patch;
    and a cat-file only for blobs neither cached nor found loose in the scratch object directory.
    """
    scratch = Path(tempfile.mkdtemp(prefix="selfheal-val-", dir=_scratch_parent()))
    try:
        objects = scratch / "objects"
        objects.mkdir()
        index = scratch / "index"
        env = {
            **os.environ,
            "GIT_INDEX_FILE": str(index),
            "GIT_OBJECT_DIRECTORY": str(objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(object_dir(repo, deadline)),
        }
        # Only a commit id is remembered: a ref such as HEAD names another commit tomorrow.
        key = (str(repo), base) if _OBJECT_ID.fullmatch(base) else None
        known = _BASES.get(key) if key else None
        if known is None:
            known = _read_base(repo, base, env, index, deadline)
            if key:
                if len(_BASES) >= _BASES_KEPT:
                    _BASES.pop(next(iter(_BASES)))
                _BASES[key] = known
        else:
            index.write_bytes(known.index)
        old = known.tree
        out = _run(
            repo, apply_args(cached=True, numstat=True), env, deadline, stdin_of(diff).encode()
        )
        if out.returncode != 0:
            raise GitApplyFailed(out.stderr.decode(errors="replace").strip()[:2000])
        sections = _parse_numstat(out.stdout)
        new = _ok(_run(repo, ["write-tree"], env, deadline), "git write-tree").decode().strip()
        both = _ok(
            _run(
                repo,
                ["diff-tree", "-r", "-z", "--patch-with-raw", "--no-renames", "--full-index",
                 "--no-color", "--no-ext-diff", "--no-textconv", old, new],
                env,
                deadline,
            ),
            "git diff-tree",
        )  # fmt: skip
        entries, patch = _split_raw(both)
        _attach_lines(entries, patch)
        _attach_blobs(repo, entries, objects, env, deadline)
        return GitResult(base, old, new, entries, patch.decode("utf-8", errors="replace"), sections)
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


def _split_raw(out: bytes) -> tuple[list[TreeEntry], bytes]:
    """`diff-tree -z --patch-with-raw`: NUL-terminated raw records, one NUL, then the patch."""
    entries = []
    pos = 0
    try:
        while out.startswith(b":", pos):
            meta_end = out.index(b"\0", pos)
            path_end = out.index(b"\0", meta_end + 1)
            old_mode, new_mode, old_sha, new_sha, status = (
                out[pos + 1 : meta_end].decode().split(" ")
            )
            path = out[meta_end + 1 : path_end].decode("utf-8", errors="surrogateescape")
            entries.append(TreeEntry(path, status[0], old_mode, new_mode, old_sha, new_sha))
            pos = path_end + 1
    except ValueError:
        raise GitApplyFailed(f"git diff-tree: unreadable raw record at byte {pos}") from None
    if pos < len(out) and out[pos] != 0:
        raise GitApplyFailed("git diff-tree: no separator between the raw list and the patch")
    return entries, out[pos + 1 :]


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


# (repository, blob id) → content, for blobs read from a workspace's object store: an id names
# one content, so the files a base commit holds are read from git once, not once a patch.
_BLOBS: dict[tuple[str, str], bytes] = {}
_BLOBS_BYTES_KEPT = 64 << 20
_blob_bytes = 0


def _remember_blob(key: tuple[str, str], data: bytes) -> None:
    global _blob_bytes
    if _blob_bytes + len(data) > _BLOBS_BYTES_KEPT:
        _BLOBS.clear()
        _blob_bytes = 0
    if len(data) <= _BLOBS_BYTES_KEPT:
        _BLOBS[key] = data
        _blob_bytes += len(data)


def _loose(objects: Path, sha: str) -> bytes | None:
    """A blob `git apply` wrote loose into the scratch object directory, if its content hashes to
    `sha` (git's own object format: zlib of "blob <size>\\0" and the content); else None."""
    try:
        raw = zlib.decompress((objects / sha[:2] / sha[2:]).read_bytes())
    except (OSError, zlib.error):
        return None
    header, nul, body = raw.partition(b"\0")
    if not nul or header != b"blob %d" % len(body):
        return None
    digest = hashlib.sha1(raw) if len(sha) == 40 else hashlib.sha256(raw)  # noqa: S324 - git's ids
    return body if digest.hexdigest() == sha else None


def _attach_blobs(
    repo: Path, entries: list[TreeEntry], objects: Path, env: dict[str, str], deadline: Deadline
) -> None:
    """Each side's content: from the blob cache, else loose in the scratch directory (what this
    apply wrote), else from one `git cat-file --batch` for all the rest."""
    wanted: list[tuple[TreeEntry, str, str]] = []
    for entry in entries:
        if entry.binary:
            continue
        if entry.old_mode in (*REGULAR, SYMLINK) and not ZERO.match(entry.old_sha):
            wanted.append((entry, "before", entry.old_sha))
        if entry.new_mode in (*REGULAR, SYMLINK) and not ZERO.match(entry.new_sha):
            wanted.append((entry, "after", entry.new_sha))
    missing: list[tuple[TreeEntry, str, str]] = []
    for entry, side, sha in wanted:
        data = _BLOBS.get((str(repo), sha))
        if data is None and side == "after":
            data = _loose(objects, sha)
        if data is None:
            missing.append((entry, side, sha))
        else:
            setattr(entry, side, data)
    if not missing:
        return
    request = "".join(f"{sha}\n" for _, _, sha in missing).encode()
    out = _ok(_run(repo, ["cat-file", "--batch"], env, deadline, request), "git cat-file")
    pos = 0
    for entry, side, sha in missing:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3 or header[0].decode() != sha or header[1] != b"blob":
            raise GitApplyFailed(f"git cat-file: {header!r}")
        size = int(header[2])
        data = out[pos : pos + size]
        pos += size + 1
        setattr(entry, side, data)
        if not (objects / sha[:2] / sha[2:]).exists():  # in the workspace's store, not this patch's
            _remember_blob((str(repo), sha), data)
