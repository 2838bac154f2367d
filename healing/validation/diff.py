"""Diff parsing (unidiff), hostile paths, and whether the diff applies to the workspace's HEAD.

`git apply --check --cached` runs against a private index built from HEAD (cached per commit),
so neither the work tree nor the workspace's own index is touched. The files as they will be
after the patch are rebuilt from the HEAD blobs (one `git cat-file --batch`) for later stages.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import re
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from .base import FileChange, Finding, Stage, ValidationContext, register

GIT_TIMEOUT = 20
INDEX_DIR = Path(tempfile.gettempdir()) / "selfheal-index"


class DiffParseError(ValueError):
    pass


def strip_prefix(name: str) -> str:
    if name == "/dev/null":
        return name
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def parse_diff(diff: str) -> PatchSet:
    """The diff as a PatchSet, or DiffParseError with a readable message."""
    if "\x00" in diff:
        raise DiffParseError("The diff contains NUL bytes.")
    try:
        patchset = PatchSet(diff)
    except UnidiffParseError as exc:
        raise DiffParseError(f"The diff does not parse: {exc}") from None
    if len(patchset) == 0:
        raise DiffParseError(
            "No file headers found: a unified diff needs '--- a/<path>' and '+++ b/<path>' lines."
        )
    return patchset


_MODE_RE = re.compile(r"^(?:new file mode|new mode) (\d+)$", re.MULTILINE)


def git_prefixed(patchset: PatchSet) -> bool:
    """Whether the diff names files as a/<path> and b/<path> (git's -p1), rather than bare paths."""
    names = [(p.source_file or "", p.target_file or "") for p in patchset]
    return all(
        (src == "/dev/null" or src.startswith("a/"))
        and (dst == "/dev/null" or dst.startswith("b/"))
        for src, dst in names
    )


def file_changes(patchset: PatchSet) -> list[FileChange]:
    changes = []
    prefixed = git_prefixed(patchset)
    for patched in patchset:
        raw_source, raw_target = patched.source_file or "", patched.target_file or ""
        source = strip_prefix(raw_source) if prefixed else raw_source
        target = strip_prefix(raw_target) if prefixed else raw_target
        removed_file = patched.is_removed_file or target == "/dev/null"
        added_file = patched.is_added_file or source == "/dev/null"
        path = source if removed_file else target
        header = str(patched.patch_info or "")
        mode = _MODE_RE.search(header)
        renamed = "rename from " in header or "copy from " in header
        change = FileChange(
            path=path,
            # Outside a git rename, a file keeps its name (`diff -u x.py.orig x.py` edits x.py).
            old_path="" if added_file else (source if renamed or removed_file else path),
            names=sorted({source, target} - {"/dev/null"}),
            is_added=added_file,
            is_removed=removed_file,
            is_binary=bool(patched.is_binary_file) or "GIT binary patch" in header,
            new_mode=mode.group(1) if mode else "",
            header=header,
            hunks=len(patched),
        )
        for hunk in patched:
            for line in hunk:
                if line.is_added:
                    change.added[line.target_line_no] = line.value.rstrip("\r\n")
                elif line.is_removed:
                    change.removed[line.source_line_no] = line.value.rstrip("\r\n")
        changes.append(change)
    return changes


def apply_hunks(before: str, patched: object) -> str | None:
    """The text after the patch, matching each hunk's context exactly (offsets allowed, no fuzz)."""
    lines = before.splitlines()
    out: list[str] = []
    cursor = 0
    for hunk in patched:  # type: ignore[attr-defined]
        old = [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_removed]
        new = [ln.value.rstrip("\r\n") for ln in hunk if ln.is_context or ln.is_added]
        expected = max(hunk.source_start - 1, 0) if old else hunk.source_start
        at = _find(lines, old, expected, cursor)
        if at is None:
            return None
        out.extend(lines[cursor:at])
        out.extend(new)
        cursor = at + len(old)
    out.extend(lines[cursor:])
    return "\n".join(out) + ("\n" if out else "")


def _find(lines: list[str], block: list[str], expected: int, lowest: int) -> int | None:
    if not block:
        return max(min(expected, len(lines)), lowest)
    size = len(block)
    for delta in range(len(lines) + 1):
        for at in (expected - delta, expected + delta) if delta else (expected,):
            if lowest <= at <= len(lines) - size and lines[at : at + size] == block:
                return at
    return None


def is_hostile_path(path: str) -> str:
    """Why a diff path must never be touched, or '' when it is an ordinary relative path."""
    if not path or path == "/dev/null":
        return "empty path"
    if "\x00" in path or any(ord(c) < 32 for c in path):
        return "control characters in the path"
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return "absolute path"
    if "\\" in path:
        return "backslash in the path"
    parts = path.split("/")
    if ".." in parts:
        return "'..' leads outside the repository"
    if posixpath.normpath(path).startswith("../"):
        return "path leads outside the repository"
    return ""


def symlink_escape(repo: Path, relpath: str) -> str:
    """'' if every existing component of `relpath` stays inside `repo`, else the reason."""
    root = repo.resolve()
    current = root
    for part in relpath.split("/")[:-1] if relpath else []:
        current = current / part
        if current.is_symlink():
            target = Path(os.path.realpath(current))
            if target != root and root not in target.parents:
                return f"'{current.relative_to(root)}' is a symlink to {target}, outside the repository"
    full = root / relpath
    if full.is_symlink():
        target = Path(os.path.realpath(full))
        if target != root and root not in target.parents:
            return f"'{relpath}' is a symlink to {target}, outside the repository"
    return ""


@register
class PathStage(Stage):
    """No path outside the repository, no protected path, no binary or symlink tricks."""

    name = "paths"
    order = 10
    title = "Paths"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        ws = ctx.workspace
        findings: list[Finding] = []
        for change in ctx.files:
            for path in sorted({change.path, change.old_path, *change.names} - {""}):
                reason = is_hostile_path(path)
                if reason:
                    change.hostile = True
                    findings.append(
                        Finding(
                            "critical",
                            f"{reason}: {path!r}",
                            "path.escape",
                            file=path,
                            blocking=True,
                        )
                    )
                    continue
                escape = symlink_escape(ws.repo_path, path)
                if escape:
                    change.hostile = True
                    findings.append(
                        Finding("critical", escape, "path.symlink_escape", file=path, blocking=True)
                    )
                    continue
                if ws.is_protected(path):
                    findings.append(
                        Finding(
                            "critical",
                            f"{path} is a protected path in this workspace",
                            "path.protected",
                            file=path,
                            blocking=True,
                        )
                    )
                elif not ws.is_allowed(path):
                    findings.append(
                        Finding(
                            "high",
                            f"{path} is outside the workspace's allowed paths",
                            "path.not_allowed",
                            file=path,
                            blocking=True,
                        )
                    )
            if change.hostile:
                continue
            if change.new_mode == "120000":
                target = "".join(change.added.values()).strip()
                resolved = posixpath.normpath(
                    posixpath.join(posixpath.dirname(change.path), target)
                )
                outside = target.startswith("/") or resolved == ".." or resolved.startswith("../")
                findings.append(
                    Finding(
                        "critical" if outside else "high",
                        f"creates a symlink to {target!r}"
                        + (", outside the repository" if outside else ""),
                        "path.symlink",
                        file=change.path,
                        blocking=outside,
                    )
                )
            elif change.new_mode == "160000":
                findings.append(
                    Finding(
                        "critical",
                        "adds or moves a submodule",
                        "path.submodule",
                        file=change.path,
                        blocking=True,
                    )
                )
            if change.is_binary:
                allowed = ws.allow_binary
                findings.append(
                    Finding(
                        "medium" if allowed else "high",
                        "binary change"
                        + ("" if allowed else "; this workspace does not accept binary patches"),
                        "diff.binary",
                        file=change.path,
                        blocking=not allowed,
                    )
                )
        return findings


@register
class DiffIntegrityStage(Stage):
    """The diff applies cleanly to the workspace's current HEAD; rebuild the files after it.

    `git apply --check` runs in the background beside the HEAD blobs' reading and the stages
    after this one; its findings join this stage's before risk is assessed (`settle`)."""

    name = "diff"
    order = 20
    title = "Diff integrity"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        repo = ctx.workspace.repo_path
        readable = [c for c in ctx.readable_files() if not c.is_binary]
        for change in readable:
            if change.hunks == 0 and not change.new_mode and not change.is_removed:
                findings.append(
                    Finding(
                        "high",
                        "no hunk in this file's diff (a header without changes)",
                        "diff.no_hunks",
                        file=change.path,
                        blocking=True,
                    )
                )
        head = resolve_head(repo)
        ctx.head_commit = head
        if not head:
            findings.append(
                Finding(
                    "critical", "the workspace has no HEAD commit", "diff.no_head", blocking=True
                )
            )
            return findings
        # Once a file is refused for what it is, git's opinion of it adds only noise.
        apply_errors: list[tuple[str, int | None, str]] = []
        checker = None
        if not any(f.blocking for f in [*ctx.findings, *findings]):
            strip = 1 if ctx.patchset is None or git_prefixed(ctx.patchset) else 0
            check = start_apply_check(repo, head, strip)
            checker = threading.Thread(
                target=lambda: apply_errors.extend(finish_apply_check(check, ctx.diff, head))
            )
            checker.start()
        blobs = read_blobs(repo, head, [c.old_path for c in readable if c.old_path])
        patched_by_path = {
            change.path: patched
            for change, patched in zip(ctx.files, ctx.patchset or [], strict=False)
        }
        for change in readable:
            blob = None if change.is_added else blobs.get(change.old_path)
            if not change.is_added and blob is None:
                findings.append(
                    Finding(
                        "high",
                        f"{change.old_path} does not exist at HEAD {head[:10]}",
                        "diff.missing_file",
                        file=change.old_path,
                        blocking=True,
                    )
                )
                continue
            change.before_sha, change.before = blob if blob is not None else ("", "")
            if change.is_removed:
                continue
            patched = patched_by_path.get(change.path)
            change.after = apply_hunks(change.before, patched) if patched is not None else None
        if checker is not None and not any(f.blocking for f in findings):
            # git's verdict is collected later (settle), so that the check runs beside the
            # syntax and danger stages instead of before them.
            ctx.background[self.name] = lambda: _apply_findings(checker, apply_errors)
        return findings

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        return {"head_commit": ctx.head_commit, "files": [c.path for c in ctx.files]}


def _apply_findings(
    checker: threading.Thread, apply_errors: list[tuple[str, int | None, str]]
) -> list[Finding]:
    checker.join()
    return [
        Finding("high", message, "diff.does_not_apply", file=file, line=line, blocking=True)
        for file, line, message in apply_errors
    ]


def resolve_head(repo: Path) -> str:
    """HEAD's commit id, read from the ref files (no process), else from `git rev-parse`."""
    git_dir = repo / ".git"
    try:
        if git_dir.is_dir():
            ref = (git_dir / "HEAD").read_text().strip()
            if not ref.startswith("ref: "):
                return ref if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", ref) else ""
            name = ref[5:]
            loose = git_dir / name
            if loose.is_file():
                return loose.read_text().strip()
            packed = git_dir / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + name):
                        return line.split(" ", 1)[0]
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@functools.lru_cache(maxsize=64)
def head_entries(index: Path) -> dict[str, tuple[str, int]] | None:
    """path → (blob id, mode) from a version 2/3 index file holding HEAD's tree (None: can't read)."""
    try:
        data = index.read_bytes()
    except OSError:
        return None
    if data[:4] != b"DIRC" or struct.unpack(">I", data[4:8])[0] not in (2, 3):
        return None
    count = struct.unpack(">I", data[8:12])[0]
    entries: dict[str, tuple[str, int]] = {}
    pos = 12
    for _ in range(count):
        start = pos
        mode = struct.unpack(">I", data[pos + 24 : pos + 28])[0]
        sha = data[pos + 40 : pos + 60].hex()
        flags = struct.unpack(">H", data[pos + 60 : pos + 62])[0]
        pos += 62
        if flags & 0x4000:  # extended flags (version 3)
            pos += 2
        end = data.index(b"\0", pos)
        entries[data[pos:end].decode("utf-8", errors="surrogateescape")] = (sha, mode)
        pos = start + ((end - start) // 8 + 1) * 8
    return entries


def read_blobs(repo: Path, commit: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """path → (blob id, text) at `commit`; absent paths left out.

    A work-tree file whose git hash equals HEAD's blob is read from disk (the usual case: the
    engine keeps its work trees clean); anything else comes from one `git cat-file --batch`."""
    if not paths:
        return {}
    entries = head_entries(head_index(repo, commit)) if len(commit) == 40 else None
    if entries is None:
        return _cat_blobs(repo, commit, paths)
    found: dict[str, tuple[str, str]] = {}
    rest = []
    for path in paths:
        entry = entries.get(path)
        if entry is None:
            continue  # not in HEAD
        sha, mode = entry
        data = _worktree_bytes(repo / path) if mode & 0o170000 == 0o100000 else None
        if (
            data is not None
            and hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
            == sha
        ):
            found[path] = (sha, data.decode("utf-8", errors="replace"))
        else:
            rest.append(path)
    if rest:
        found.update(_cat_blobs(repo, commit, rest))
    return found


def _worktree_bytes(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        return path.read_bytes()
    except OSError:
        return None


def _cat_blobs(repo: Path, commit: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    request = "".join(f"{commit}:{p}\n" for p in paths)
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            input=request.encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    blobs: dict[str, tuple[str, str]] = {}
    pos = 0
    for name in paths:
        end = out.find(b"\n", pos)
        if end == -1:
            break
        header = out[pos:end].decode(errors="replace").split()
        pos = end + 1
        if len(header) != 3:  # "<name> missing" or ambiguous
            continue
        sha, kind, size = header[0], header[1], int(header[2])
        body = out[pos : pos + size]
        pos += size + 1
        if kind == "blob":
            blobs[name] = (sha, body.decode("utf-8", errors="replace"))
    return blobs


_APPLY_ERR = re.compile(r"^error: patch failed: (?P<file>.+?):(?P<line>\d+)$")


def head_index(repo: Path, head: str) -> Path:
    """A private index file holding HEAD's tree, made once per commit.

    It lives in the repository's .git directory (git ignores files it does not know there), so
    it goes away with the repository; the work tree and the repository's own index are untouched."""
    git_dir = repo / ".git"
    if git_dir.is_dir():
        folder, key = git_dir / "selfheal", "head"
    else:  # a linked work tree or similar: a shared scratch folder
        folder, key = INDEX_DIR, re.sub(r"[^A-Za-z0-9]", "_", str(repo.resolve()))[-80:]
    folder.mkdir(mode=0o700, exist_ok=True)
    index = folder / f"{key}-{head}.index"
    if not index.exists():
        tmp = folder / f"{key}-{head}.tmp{os.getpid()}"
        subprocess.run(
            ["git", "-C", str(repo), "read-tree", head],
            env={**os.environ, "GIT_INDEX_FILE": str(tmp)},
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=True,
        )
        os.replace(tmp, index)
        for stale in folder.glob(f"{key}-*.index"):  # older commits of this repository
            if stale != index:
                stale.unlink(missing_ok=True)
    return index


def start_apply_check(repo: Path, head: str, strip: int = 1) -> subprocess.Popen[bytes] | str:
    """Start `git apply --check --cached` against HEAD's tree; a str is the reason it could not."""
    try:
        index = head_index(repo, head)
        return subprocess.Popen(
            ["git", "-C", str(repo), "apply", "--check", "--cached", f"-p{strip}", "-"],
            env={**os.environ, "GIT_INDEX_FILE": str(index)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"git apply could not run: {exc}"


def finish_apply_check(
    check: subprocess.Popen[bytes] | str, diff: str, head: str
) -> list[tuple[str, int | None, str]]:
    """[] when `git apply --check` accepted the diff, else (file, line, message)s."""
    if isinstance(check, str):
        return [("", None, check)]
    try:
        _, stderr = check.communicate(diff.encode(), timeout=GIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        check.kill()
        check.communicate()
        return [("", None, "git apply --check timed out")]
    if check.returncode == 0:
        return []
    problems: list[tuple[str, int | None, str]] = []
    lines = stderr.decode(errors="replace").strip().splitlines()
    for line in lines:
        match = _APPLY_ERR.match(line)
        if match:
            problems.append(
                (
                    match["file"],
                    int(match["line"]),
                    f"does not apply at HEAD {head[:10]}: hunk at line {match['line']} does not match",
                )
            )
        elif line.startswith("error: ") and not line.endswith("patch does not apply"):
            problems.append(("", None, f"git apply: {line[7:]}"))
    return problems or [("", None, "git apply --check refused the diff: " + " ".join(lines)[:500])]
