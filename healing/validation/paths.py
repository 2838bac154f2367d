"""Paths: no escape from the repository, no protected path, no symlink or submodule, no binary
the workspace does not accept. Every name the diff gives and every path git's tree diff names
(a rename's both names) is checked; protection matches case-insensitively (a checkout on a
case-insensitive file system, or a CI that folds case, reads `.GitHub/Workflows` as the real one).
"""

from __future__ import annotations

import fnmatch

from .base import Finding, Stage, ValidationContext, register
from .diff import is_hostile_path, symlink_escape
from .gitresult import GITLINK, SYMLINK
from .unicode import text_findings as unicode_findings

# Protected whatever a workspace's own list says: files that change how git, CI or review treat
# the repository.
ALWAYS_PROTECTED = (
    ".git/**",
    ".github/**",
    "**/.gitattributes",
    "**/.gitmodules",
    "**/CODEOWNERS",
    ".pre-commit-config.yaml",
    "**/.pre-commit-config.yaml",
    ".gitlab-ci.yml",
    ".circleci/**",
    "Jenkinsfile",
    ".env",
    ".env.*",
)


def _match(relpath: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(relpath, pattern):
        return True
    # "dir/**" also matches "dir" itself and "**/x" matches "x" at the top.
    if pattern.endswith("/**") and (relpath == pattern[:-3] or relpath.startswith(pattern[:-2])):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatchcase(relpath, pattern[3:])


def is_protected(workspace: object, relpath: str) -> bool:
    folded = relpath.casefold()
    patterns = [*ALWAYS_PROTECTED, *(getattr(workspace, "protected_paths", None) or [])]
    return any(_match(folded, p.casefold()) for p in patterns)


@register
class PathStage(Stage):
    name = "paths"
    order = 10
    title = "Paths"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        ws = ctx.workspace
        findings: list[Finding] = []
        names = {n for s in ctx.declared for n in s.names}
        names |= {n for c in ctx.files for n in (c.path, c.old_path) if n}
        hostile = set()
        for path in sorted(names):
            reason = is_hostile_path(path)
            escape = "" if reason else symlink_escape(ws.repo_path, path)
            if reason or escape:
                hostile.add(path)
                findings.append(
                    Finding(
                        "critical",
                        f"{reason}: {path!r}" if reason else escape,
                        "path.escape" if reason else "path.symlink_escape",
                        file=path,
                        blocking=True,
                    )
                )
                continue
            findings.extend(unicode_findings(path, path, None, in_path=True))
            if is_protected(ws, path):
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
        for change in ctx.files:
            if change.path in hostile or change.old_path in hostile:
                change.hostile = True
                continue
            modes = {change.new_mode, change.old_mode}
            if SYMLINK in modes:
                target = (change.after or change.before or "").strip()
                findings.append(
                    Finding(
                        "critical",
                        f"creates, changes or removes a symlink (to {target[:200]!r})",
                        "path.symlink",
                        file=change.path,
                        blocking=True,
                    )
                )
            if GITLINK in modes:
                findings.append(
                    Finding(
                        "critical",
                        "adds, moves or changes a submodule",
                        "path.submodule",
                        file=change.path,
                        blocking=True,
                    )
                )
            if (
                change.old_mode
                and change.new_mode
                and change.old_mode != change.new_mode
                and not modes & {SYMLINK, GITLINK}
            ):
                findings.append(
                    Finding(
                        "medium",
                        f"changes the file mode {change.old_mode} → {change.new_mode}",
                        "path.mode_change",
                        file=change.path,
                    )
                )
        binary = {c.path for c in ctx.files if c.is_binary and not c.hostile}
        binary |= {n for d in ctx.declared if d.binary for n in d.names if n not in hostile}
        for path in sorted(binary):
            allowed = ws.allow_binary
            findings.append(
                Finding(
                    "medium" if allowed else "high",
                    "binary change"
                    + ("" if allowed else "; this workspace does not accept binary patches"),
                    "diff.binary",
                    file=path,
                    blocking=not allowed,
                )
            )
        return findings
