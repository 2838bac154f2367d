"""Diff parsing (unidiff), hostile paths, and whether the diff applies to the workspace's HEAD.

`git apply --check --cached` runs against a private index built from HEAD (cached per commit),
so neither the work tree nor the workspace's own index is touched. The files as they will be
after the patch are rebuilt from the HEAD blobs (one `git cat-file --batch`) for later stages.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
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


def file_changes(patchset: PatchSet) -> list[FileChange]:
    changes = []
    for patched in patchset:
        source = strip_prefix(patched.source_file or "")
        target = strip_prefix(patched.target_file or "")
        removed_file = patched.is_removed_file or target == "/dev/null"
        added_file = patched.is_added_file or source == "/dev/null"
        path = source if removed_file else target
        header = str(patched.patch_info or "")
        mode = _MODE_RE.search(header)
        change = FileChange(
            path=path,
            old_path=source if not added_file else "",
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
            for path in {change.path, change.old_path} - {""}:
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
    """The diff applies cleanly to the workspace's current HEAD; rebuild the files after it."""

    name = "diff"
    order = 20
    title = "Diff integrity"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
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
        head, blobs = read_head_blobs(
            ctx.workspace.repo_path, [c.old_path for c in readable if c.old_path]
        )
        ctx.head_commit = head
        if not head:
            findings.append(
                Finding(
                    "critical", "the workspace has no HEAD commit", "diff.no_head", blocking=True
                )
            )
            return findings
        patched_by_path = {
            strip_prefix(p.target_file if not p.is_removed_file else p.source_file): p
            for p in ctx.patchset or []
        }
        for change in readable:
            before = "" if change.is_added else blobs.get(change.old_path)
            if before is None:
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
            change.before = before
            if change.is_removed:
                continue
            patched = patched_by_path.get(change.path)
            change.after = apply_hunks(before, patched) if patched is not None else None
        # Once a file is refused for what it is, git's opinion of it adds only noise.
        if not any(f.blocking for f in [*ctx.findings, *findings]):
            error = git_apply_check(ctx.workspace.repo_path, head, ctx.diff)
            if error:
                for file, line, message in error:
                    findings.append(
                        Finding(
                            "high",
                            message,
                            "diff.does_not_apply",
                            file=file,
                            line=line,
                            blocking=True,
                        )
                    )
        return findings

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        return {"head_commit": ctx.head_commit, "files": [c.path for c in ctx.files]}


def read_head_blobs(repo: Path, paths: list[str]) -> tuple[str, dict[str, str]]:
    """HEAD's commit id and the text of `paths` at HEAD, with one `git cat-file --batch`."""
    request = "HEAD\n" + "".join(f"HEAD:{p}\n" for p in paths)
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "cat-file", "--batch"],
            input=request.encode(),
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "", {}
    head = ""
    blobs: dict[str, str] = {}
    pos = 0
    for name in ["HEAD", *paths]:
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
        if name == "HEAD":
            head = sha if kind == "commit" else ""
        elif kind == "blob":
            blobs[name] = body.decode("utf-8", errors="replace")
    return head, blobs


_APPLY_ERR = re.compile(r"^error: patch failed: (?P<file>.+?):(?P<line>\d+)$")


def head_index(repo: Path, head: str) -> Path:
    """A private index file holding HEAD's tree, made once per commit."""
    INDEX_DIR.mkdir(mode=0o700, exist_ok=True)
    key = re.sub(r"[^A-Za-z0-9]", "_", str(repo.resolve()))[-80:]
    index = INDEX_DIR / f"{key}-{head}"
    if not index.exists():
        tmp = index.with_suffix(f".tmp{os.getpid()}")
        subprocess.run(
            ["git", "-C", str(repo), "read-tree", "HEAD"],
            env={**os.environ, "GIT_INDEX_FILE": str(tmp)},
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=True,
        )
        os.replace(tmp, index)
    return index


def git_apply_check(repo: Path, head: str, diff: str) -> list[tuple[str, int | None, str]]:
    """[] when `git apply --check` accepts the diff against HEAD, else (file, line, message)s."""
    try:
        index = head_index(repo, head)
        result = subprocess.run(
            ["git", "-C", str(repo), "apply", "--check", "--cached", "-"],
            input=diff.encode(),
            env={**os.environ, "GIT_INDEX_FILE": str(index)},
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return [("", None, f"git apply could not run: {exc}")]
    if result.returncode == 0:
        return []
    problems: list[tuple[str, int | None, str]] = []
    lines = result.stderr.decode(errors="replace").strip().splitlines()
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
