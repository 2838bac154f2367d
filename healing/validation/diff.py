"""The diff as git will write it, and the diff as a reader sees it; a patch where the two differ
is refused.

`prepare` applies the diff once (gitresult.apply_to_tree, the same `git apply` as the sandbox
and the apply) and builds `ctx.files` from what git wrote: every later stage reads those. The
unidiff parse (`declared`) is kept only to compare: two sections for one path, names that do not
match, a copy or rename in a header, a strip level other than git's a/ b/, paths one reader sees
and the other does not, or line counts that differ are `diff.ambiguous`, never fixed up.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from collections import Counter
from pathlib import Path

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from .base import Declared, FileChange, Finding, Stage, ValidationContext, register, strip_prefix
from .gitresult import GITLINK, SYMLINK, GitApplyFailed, GitResult, apply_to_tree, run_git

GIT_TIMEOUT = 20


class DiffParseError(ValueError):
    pass


def parse_diff(diff: str) -> PatchSet:
    """The diff as a PatchSet, or DiffParseError with a readable message."""
    if "\x00" in diff:
        raise DiffParseError("The diff contains NUL bytes.")
    try:
        patchset = PatchSet(diff)
    except (UnidiffParseError, ValueError, LookupError, UnboundLocalError) as exc:
        raise DiffParseError(f"The diff does not parse: {exc}") from None
    if len(patchset) == 0:
        raise DiffParseError(
            "No file headers found: a unified diff needs '--- a/<path>' and '+++ b/<path>' lines."
        )
    return patchset


_MODE_RE = re.compile(r"^(?:new file mode|new mode) (\d+)$", re.MULTILINE)
_GIT_HEADER = re.compile(r"^diff --git (\S+) (\S+)$", re.MULTILINE)


def declared(patchset: PatchSet) -> list[Declared]:
    out = []
    for patched in patchset:
        header = str(patched.patch_info or "")
        mode = _MODE_RE.search(header)
        source, target = patched.source_file or "", patched.target_file or ""
        out.append(
            Declared(
                source=source,
                target=target,
                header=header,
                added=bool(patched.is_added_file) or source == "/dev/null",
                removed=bool(patched.is_removed_file) or target == "/dev/null",
                renamed="rename from " in header,
                copied="copy from " in header,
                binary=bool(patched.is_binary_file) or "GIT binary patch" in header,
                new_mode=mode.group(1) if mode else "",
                hunks=len(patched),
                lines_added=patched.added,
                lines_removed=patched.removed,
            )
        )
    return out


def file_changes(patchset: PatchSet) -> list[FileChange]:
    """The files the diff names, as unidiff reads them (names only: contents come from git)."""
    changes = []
    for section in declared(patchset):
        source, target = strip_prefix(section.source), strip_prefix(section.target)
        path = source if section.removed else target
        changes.append(
            FileChange(
                path=path,
                old_path="" if section.added else source,
                names=section.names,
                is_added=section.added,
                is_removed=section.removed,
                is_binary=section.binary,
                new_mode=section.new_mode,
            )
        )
    return changes


def is_hostile_path(path: str) -> str:
    """Why a diff path must never be touched, or '' when it is an ordinary relative path."""
    if not path or path == "/dev/null":
        return "empty path"
    if "\x00" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
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


# --- what git wrote --------------------------------------------------------------------------


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def changes_from_git(result: GitResult) -> list[FileChange]:
    changes = []
    for entry in result.entries:
        added = entry.status == "A"
        removed = entry.status == "D"
        changes.append(
            FileChange(
                path=entry.path,
                old_path="" if added else entry.path,
                names=[entry.path],
                is_added=added,
                is_removed=removed,
                is_binary=entry.binary,
                new_mode="" if removed else entry.new_mode,
                old_mode="" if added else entry.old_mode,
                hunks=1 if entry.added or entry.removed else 0,
                added=entry.added,
                removed=entry.removed,
                before=_text(entry.before),
                before_sha="" if added else entry.old_sha,
                after=_text(entry.after),
            )
        )
    return changes


def prepare(ctx: ValidationContext) -> None:
    """Apply the diff once, at HEAD, and fill ctx.files from git's result."""
    ctx.declared = declared(ctx.patchset) if ctx.patchset is not None else []
    head = resolve_head(ctx.workspace.repo_path)
    ctx.head_commit = head
    if not head:
        return
    try:
        ctx.git = apply_to_tree(ctx.workspace.repo_path, head, ctx.diff, ctx.deadline)
    except GitApplyFailed as exc:
        ctx.git_error = str(exc) or "git apply refused the diff"
        return
    ctx.files = changes_from_git(ctx.git)


def ambiguities(ctx: ValidationContext) -> list[str]:
    """Every way unidiff's reading of the diff differs from what git wrote."""
    problems: list[str] = []
    sections = ctx.declared
    git_paths = Counter(e.path for e in ctx.git.entries) if ctx.git else Counter()
    seen: Counter[str] = Counter()
    expect: Counter[str] = Counter()
    for s in sections:
        for name in (s.source, s.target):
            if name != "/dev/null" and not name.startswith(("a/", "b/")):
                problems.append(
                    f"{name!r} is not a git a/ or b/ path: git strips one leading directory"
                )
        if s.source.startswith("b/") or s.target.startswith("a/"):
            problems.append(f"{s.source!r} → {s.target!r}: a/ and b/ swapped")
        if s.renamed or s.copied:
            problems.append(
                f"{s.names}: a {'copy' if s.copied else 'rename'} in the header; "
                "send a delete and an add instead"
            )
        for header in _GIT_HEADER.finditer(s.header):
            a, b = header[1], header[2]
            if {strip_prefix(a), strip_prefix(b)} != set(s.names) or not (
                a.startswith("a/") and b.startswith("b/")
            ):
                problems.append(
                    f"'diff --git {a} {b}' names other files than "
                    f"'--- {s.source}' / '+++ {s.target}'"
                )
        source, target = strip_prefix(s.source), strip_prefix(s.target)
        if not (s.added or s.removed) and source != target:
            problems.append(f"'--- {s.source}' and '+++ {s.target}' name two files")
        for name in s.names:
            seen[name] += 1
        path = source if s.removed else target
        expect[path] += 1
    for name, count in seen.items():
        if count > 1:
            problems.append(f"{name} appears in {count} sections of the diff")
    if ctx.git is not None:
        if set(expect) != set(git_paths):
            only_diff = sorted(set(expect) - set(git_paths))
            only_git = sorted(set(git_paths) - set(expect))
            problems.append(
                "the files the diff names are not the files git changes"
                + (f"; named but unchanged: {only_diff}" if only_diff else "")
                + (f"; changed but not named: {only_git}" if only_git else "")
            )
        read = ctx.git.sections
        if len(read) != len(sections):
            problems.append(
                f"git reads {len(read)} file section(s) where a reader sees {len(sections)}"
            )
        else:
            for s, (added, removed, path) in zip(sections, read, strict=True):
                named = strip_prefix(s.source if s.removed else s.target)
                if path != named:
                    problems.append(f"git reads the section for {named!r} as {path!r}")
                elif added != "-" and (int(added), int(removed)) != (
                    s.lines_added,
                    s.lines_removed,
                ):
                    problems.append(
                        f"{path}: git reads +{added} -{removed} lines, "
                        f"a reader +{s.lines_added} -{s.lines_removed}"
                    )
    return list(dict.fromkeys(problems))


@register
class DiffIntegrityStage(Stage):
    """git applies the diff cleanly at HEAD, and reads it as a reader of the diff does."""

    name = "diff"
    order = 20
    title = "Diff integrity"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for s in ctx.declared:
            if s.hunks == 0 and not s.new_mode and not s.removed and not s.binary:
                findings.append(
                    Finding(
                        "high",
                        "no hunk in this file's diff (a header without changes)",
                        "diff.no_hunks",
                        file=strip_prefix(s.target),
                        blocking=True,
                    )
                )
        if not ctx.head_commit:
            findings.append(
                Finding(
                    "critical", "the workspace has no HEAD commit", "diff.no_head", blocking=True
                )
            )
            return findings
        # Once a file is refused for what it is, git's opinion of it adds only noise.
        refused = any(f.blocking for f in [*ctx.findings, *findings])
        if ctx.git is None:
            if not refused:
                findings.extend(_apply_findings(ctx.git_error, ctx.head_commit))
            return findings
        findings.extend(
            Finding(
                "high",
                f"git and a reader of the diff read it differently: {problem}",
                "diff.ambiguous",
                blocking=True,
            )
            for problem in ambiguities(ctx)
        )
        return findings

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        data: dict[str, object] = {
            "head_commit": ctx.head_commit,
            "files": [c.path for c in ctx.files],
        }
        if ctx.git is not None:
            data["base_tree"] = ctx.git.base_tree
            data["new_tree"] = ctx.git.new_tree
            data["git_diff"] = ctx.git.diff
        return data


_APPLY_ERR = re.compile(r"^error: patch failed: (?P<file>.+?):(?P<line>\d+)$")


def _apply_findings(stderr: str, head: str) -> list[Finding]:
    problems: list[Finding] = []
    lines = stderr.strip().splitlines()
    for line in lines:
        match = _APPLY_ERR.match(line)
        if match:
            problems.append(
                Finding(
                    "high",
                    f"does not apply at HEAD {head[:10]}: hunk at line {match['line']} does not match",
                    "diff.does_not_apply",
                    file=match["file"],
                    line=int(match["line"]),
                    blocking=True,
                )
            )
        elif line.startswith("error: ") and not line.endswith("patch does not apply"):
            problems.append(
                Finding("high", f"git apply: {line[7:]}", "diff.does_not_apply", blocking=True)
            )
    return problems or [
        Finding(
            "high",
            "git apply refused the diff: " + " ".join(lines)[:500],
            "diff.does_not_apply",
            blocking=True,
        )
    ]


def resolve_head(repo: Path) -> str:
    try:
        out = run_git(
            ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD^{commit}"],
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.decode(errors="replace").strip() if out.returncode == 0 else ""


__all__ = ["GITLINK", "SYMLINK", "DiffParseError", "parse_diff", "prepare"]
