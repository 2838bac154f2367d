"""The diff of a review page: what git will write, highlighted with Pygments on the server, shown
unified or side by side, with validation findings pinned to the lines they name.

The diff shown is git's own diff of the base tree and the patched tree, as validation stored it
(the diff stage's `git_diff`), never the submitted text: what a reviewer reads is what lands.
Before validation has run (or when git refused the diff) there is no such diff, and the submitted
text is shown with a note saying so."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

MAX_LINES = 4000
FORMATTER = HtmlFormatter(nowrap=True)


@dataclass
class Finding:
    stage: str
    severity: str
    file: str
    line: int | None
    column: int | None
    message: str
    rule: str


@dataclass
class Line:
    kind: str  # context | added | removed | meta
    old: int | None
    new: int | None
    html: SafeString
    findings: list[Finding] = field(default_factory=list)


@dataclass
class SplitRow:
    left: Line | None
    right: Line | None


@dataclass
class Hunk:
    header: str
    lines: list[Line]
    rows: list[SplitRow]


@dataclass
class FileDiff:
    path: str
    status: str  # added | removed | modified | renamed
    hunks: list[Hunk]
    added: int
    removed: int
    unpinned: list[Finding]  # findings for this file on lines the diff does not show


@dataclass
class DiffView:
    files: list[FileDiff]
    general: list[Finding]  # findings with no file, or a file the diff does not touch
    error: str = ""
    truncated: bool = False
    source: str = "git"  # git: git's diff of the two trees | submitted: the text as sent
    note: str = ""


SUBMITTED_NOTE = (
    "Shown as submitted: git has not produced this patch's tree (not validated yet, or refused)."
)


def reviewed_diff(diff: str, validation: Any) -> tuple[str, str]:
    """(the diff to show, where it comes from): git's diff of the trees when validation has it."""
    stage = validation.get("diff") if isinstance(validation, dict) else None
    data = stage.get("data") if isinstance(stage, dict) else None
    git_diff = data.get("git_diff") if isinstance(data, dict) else None
    if isinstance(git_diff, str):
        return git_diff, "git"
    return diff or "", "submitted"


def findings_of(validation: Any) -> list[Finding]:
    """Modification.validation: stage → {findings: [{severity, file, line, column, message, rule}], duration_ms}."""
    result: list[Finding] = []
    if not isinstance(validation, dict):
        return result
    for stage, body in validation.items():
        items = body.get("findings") if isinstance(body, dict) else None
        for item in items or []:
            if not isinstance(item, dict):
                continue
            result.append(
                Finding(
                    stage=str(stage),
                    severity=str(item.get("severity") or "info"),
                    file=str(item.get("file") or ""),
                    line=_int(item.get("line")),
                    column=_int(item.get("column")),
                    message=str(item.get("message") or ""),
                    rule=str(item.get("rule") or ""),
                )
            )
    return result


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _lexer(path: str) -> Any:
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


def _html(text: str, lexer: Any) -> SafeString:
    # One line at a time: a multi-line string loses its colour past its first line, but every
    # line stays self-contained HTML that the unified and split views can place freely.
    return mark_safe(highlight(text, lexer, FORMATTER).rstrip("\n"))  # noqa: S308 - Pygments escapes its input


def build(diff: str, validation: Any) -> DiffView:
    all_findings = findings_of(validation)
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in all_findings:
        by_file[finding.file.removeprefix("a/").removeprefix("b/")].append(finding)
    shown_diff, source = reviewed_diff(diff, validation)
    note = SUBMITTED_NOTE if source == "submitted" else ""
    try:
        patch = PatchSet(shown_diff)
    except (UnidiffParseError, ValueError, LookupError, UnboundLocalError) as exc:
        # unidiff raises more than its own error on some malformed input (seen: UnboundLocalError).
        return DiffView(
            [], all_findings, error=f"The diff could not be parsed: {exc}", source=source, note=note
        )
    files: list[FileDiff] = []
    shown = 0
    truncated = False
    touched: set[str] = set()
    for patched in patch:
        path = (
            patched.target_file if not patched.is_removed_file else patched.source_file
        ) or patched.path
        path = path.removeprefix("a/").removeprefix("b/")
        touched.add(path)
        file_findings = list(by_file.get(path, []))
        by_line: dict[int, list[Finding]] = defaultdict(list)
        for finding in file_findings:
            if finding.line is not None:
                by_line[finding.line].append(finding)
        lexer = _lexer(path)
        pinned: set[int] = set()
        hunks: list[Hunk] = []
        for hunk in patched:
            lines: list[Line] = []
            for raw in hunk:
                if shown >= MAX_LINES:
                    truncated = True
                    break
                shown += 1
                text = raw.value.rstrip("\n")
                if raw.is_added:
                    kind = "added"
                elif raw.is_removed:
                    kind = "removed"
                elif raw.line_type == "\\":
                    kind = "meta"
                else:
                    kind = "context"
                html = _html(text, lexer) if kind != "meta" else mark_safe(escape(text))  # noqa: S308
                line = Line(kind, raw.source_line_no, raw.target_line_no, html)
                # Findings name lines of the patched file (new numbering); removed lines have none.
                if raw.target_line_no is not None and raw.target_line_no in by_line:
                    line.findings = by_line[raw.target_line_no]
                    pinned.add(raw.target_line_no)
                lines.append(line)
            header = f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@ {hunk.section_header}".rstrip()
            hunks.append(Hunk(header, lines, _split(lines)))
        status = (
            "added"
            if patched.is_added_file
            else "removed"
            if patched.is_removed_file
            else "renamed"
            if getattr(patched, "is_rename", False)
            else "modified"
        )
        unpinned = [f for f in file_findings if f.line is None or f.line not in pinned]
        files.append(FileDiff(path, status, hunks, patched.added, patched.removed, unpinned))
    general = [
        f for f in all_findings if f.file.removeprefix("a/").removeprefix("b/") not in touched
    ]
    return DiffView(files, general, truncated=truncated, source=source, note=note)


def _split(lines: list[Line]) -> list[SplitRow]:
    """Pair each run of removed lines with the run of added lines that follows it."""
    rows: list[SplitRow] = []
    removed: list[Line] = []
    added: list[Line] = []

    def flush() -> None:
        for i in range(max(len(removed), len(added))):
            rows.append(
                SplitRow(
                    removed[i] if i < len(removed) else None, added[i] if i < len(added) else None
                )
            )
        removed.clear()
        added.clear()

    for line in lines:
        if line.kind == "removed":
            if added:
                flush()
            removed.append(line)
        elif line.kind == "added":
            added.append(line)
        else:
            flush()
            rows.append(SplitRow(line, line))
    flush()
    return rows


def pygments_css() -> str:
    return HtmlFormatter(style="default").get_style_defs(".hl")
