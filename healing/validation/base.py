"""The pieces every validation stage shares: findings, the context a patch is checked in, the
stage interface and its registry.

A stage is a small class with a `name` and a `run(ctx)` that returns findings. Stages run in
registration order and may read what earlier stages left on the context (the parsed diff, the
files as they would be after the patch, syntax trees).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from .deadline import Deadline

if TYPE_CHECKING:
    from unidiff import PatchSet

    from ..models import Workspace
    from .gitresult import GitResult

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Finding:
    """One thing a stage noticed. `blocking` findings reject the patch outright."""

    severity: str  # info | low | medium | high | critical
    message: str
    rule: str  # a stable name, e.g. "danger.os_system", "path.escape", "syntax.error"
    file: str = ""
    line: int | None = None
    column: int | None = None
    blocking: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def location(self) -> str:
        parts = [self.file or "<diff>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


def strip_prefix(name: str) -> str:
    if name == "/dev/null":
        return name
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


@dataclass
class Declared:
    """One section of the diff as unidiff reads it (names as written, a/ b/ prefixes kept)."""

    source: str
    target: str
    header: str
    added: bool
    removed: bool
    renamed: bool
    copied: bool
    binary: bool
    new_mode: str
    hunks: int
    lines_added: int
    lines_removed: int

    @property
    def names(self) -> list[str]:
        return sorted({strip_prefix(self.source), strip_prefix(self.target)} - {"/dev/null", ""})


@dataclass
class FileChange:
    """One file of the diff, with its text before and (when it can be rebuilt) after the patch."""

    path: str  # repository-relative path after the patch (or before, for a deletion)
    old_path: str
    names: list[str] = field(default_factory=list)  # every name the diff gives this file
    is_added: bool = False
    is_removed: bool = False
    is_binary: bool = False
    new_mode: str = ""
    old_mode: str = ""
    header: str = ""
    hunks: int = 0
    # From git's diff of the two trees; lines numbered as git counts them (by "\n" alone).
    added: dict[int, str] = field(default_factory=dict)  # line number after → text
    removed: dict[int, str] = field(default_factory=dict)  # line number before → text
    before: str | None = None
    before_sha: str = ""  # blob id at HEAD, when the file existed
    after: str | None = None
    hostile: bool = False  # set by the path stage: never read from disk or git

    @property
    def language(self) -> str | None:
        return language_for_path(self.path)

    @property
    def changed_chars(self) -> int:
        return sum(len(t) for t in self.added.values()) + sum(len(t) for t in self.removed.values())


EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".php": "php",
}


def language_for_path(path: str) -> str | None:
    dot = path.rfind(".")
    return EXTENSIONS.get(path[dot:].lower()) if dot != -1 else None


@dataclass
class ValidationContext:
    """Everything a stage may look at. Built once per patch; stages add to it as they go."""

    workspace: Workspace
    diff: str
    language: str = ""
    source: str = ""
    claimed_error_type: str = ""
    claimed_severity: str = ""
    modification_id: int | None = None
    submitted_at: datetime | None = None

    patchset: PatchSet | None = None
    declared: list[Declared] = field(default_factory=list)  # unidiff's reading, to compare only
    git: GitResult | None = None  # what git wrote; None when it refused the diff
    git_error: str = ""
    files: list[FileChange] = field(default_factory=list)  # from `git`, never from the text
    head_commit: str = ""  # the base commit the patch was validated against
    deadline: Deadline = field(default_factory=lambda: Deadline.none())
    trees: dict[str, Any] = field(default_factory=dict)  # path → ast.Module or tree_sitter.Tree
    findings: list[Finding] = field(default_factory=list)  # everything so far, all stages

    # Set by the anomaly and classification stages.
    risk_level: str = ""
    inferred_error_type: str = ""
    inferred_severity: str = ""
    error_type: str = ""
    severity: str = ""
    classification_note: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    # Work a stage left running in the background (stage name → collect its findings).
    background: dict[str, Callable[[], list[Finding]]] = field(default_factory=dict)

    def readable_files(self) -> list[FileChange]:
        return [f for f in self.files if not f.hostile]


@dataclass
class StageResult:
    name: str
    findings: list[Finding]
    duration_ms: float
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.blocking for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "duration_ms": round(self.duration_ms, 3),
            "findings": [f.as_json() for f in self.findings],
            "data": self.data,
        }


class Stage:
    """One named check. Subclasses set `name` and implement `run`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    order: ClassVar[int] = 100  # stages run by ascending order; later ones read earlier results
    # Reads every finding so far (risk, classification): background work is settled before it.
    needs_all_findings: ClassVar[bool] = False

    def run(self, ctx: ValidationContext) -> list[Finding]:
        raise NotImplementedError

    def settle(self, ctx: ValidationContext) -> list[Finding]:
        """The findings of work `run` left in the background (ctx.background), once it is done;
        the pipeline calls this before the first stage that needs all findings."""
        collect = ctx.background.pop(self.name, None)
        return collect() if collect is not None else []

    def data(self, ctx: ValidationContext) -> dict[str, Any]:
        """Figures the stage wants stored beside its findings."""
        return {}

    def __call__(self, ctx: ValidationContext) -> StageResult:
        started = time.perf_counter()
        findings = self.run(ctx)
        ctx.findings.extend(findings)
        elapsed = (time.perf_counter() - started) * 1000
        return StageResult(self.name, findings, elapsed, self.data(ctx))


REGISTRY: list[type[Stage]] = []


def register(stage: type[Stage]) -> type[Stage]:
    if any(s.name == stage.name for s in REGISTRY):
        raise ValueError(f"validation stage {stage.name!r} registered twice")
    REGISTRY.append(stage)
    REGISTRY.sort(key=lambda s: s.order)
    return stage


def stages() -> list[Stage]:
    return [cls() for cls in REGISTRY]
