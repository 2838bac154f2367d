"""Syntax of every touched file as it will be after the patch: Python with `ast`, JavaScript,
TypeScript and PHP with tree-sitter. Trees are kept on the context for the later stages."""

from __future__ import annotations

import ast
import functools
import warnings
from typing import Any

from .base import FileChange, Finding, Stage, ValidationContext, register
from .grammars import first_error, parser_for
from .lines import LineMap


def parse_source(language: str, source: str) -> tuple[Any, Finding | None]:
    """(tree, None) or (None, finding). Line and column are 1-based."""
    if language == "python":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences and the like
                return ast.parse(source), None
        except SyntaxError as exc:
            return None, Finding(
                "high",
                f"Python syntax error: {exc.msg}",
                "syntax.error",
                line=exc.lineno,
                column=exc.offset,
                blocking=True,
            )
        except (ValueError, RecursionError, MemoryError) as exc:
            return None, Finding(
                "high", f"Python source cannot be parsed: {exc}", "syntax.error", blocking=True
            )
    parser = parser_for(language)
    if parser is None:
        return None, Finding(
            "info", f"no {language} grammar available; syntax not checked", "syntax.no_grammar"
        )
    tree = parser.parse(source.encode("utf-8", errors="surrogatepass"))
    bad = first_error(tree)
    if bad is None:
        return tree, None
    row, col = bad.start_point
    what = f"missing {bad.type}" if bad.is_missing else "unexpected input"
    return tree, Finding(
        "high",
        f"{language} syntax error: {what}",
        "syntax.error",
        line=row + 1,
        column=col + 1,
        blocking=True,
    )


@functools.lru_cache(maxsize=16)
def parse_before(language: str, source: str) -> tuple[Any, bool]:
    """(tree or None, parsed cleanly) of a file as it was: shared by the danger and import stages."""
    tree, finding = parse_source(language, source)
    return tree, finding is None or finding.rule != "syntax.error"


_BEFORE_OK: dict[tuple[str, str], bool] = {}  # (language, blob id) → parsed; blobs never change


def syntax_ok_before(change: FileChange) -> bool | None:
    """Whether the file parsed before the patch (None: not a file we parse). Cached per blob."""
    language = change.language
    if language is None or change.before is None:
        return None
    key = (language, change.before_sha)
    if change.before_sha and key in _BEFORE_OK:
        return _BEFORE_OK[key]
    _, finding = parse_source(language, change.before)
    ok = finding is None or finding.rule != "syntax.error"
    if change.before_sha:
        if len(_BEFORE_OK) > 4096:
            _BEFORE_OK.clear()
        _BEFORE_OK[key] = ok
    return ok


@register
class SyntaxStage(Stage):
    name = "syntax"
    order = 30
    title = "Syntax"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        findings: list[Finding] = []
        for change in ctx.readable_files():
            ctx.deadline.check()
            language = change.language
            if language is None or change.is_removed or change.is_binary:
                continue
            if change.after is None:
                if change.before is not None:
                    findings.append(
                        Finding(
                            "info",
                            "the file after the patch could not be rebuilt; syntax not checked",
                            "syntax.skipped",
                            file=change.path,
                        )
                    )
                continue
            tree, finding = parse_source(language, change.after)
            if tree is not None:
                ctx.trees[change.path] = tree
            if finding is not None:
                line = finding.line
                if language == "python" and line:
                    # Python ends lines at a lone \r too; the review page numbers as git does.
                    lines = LineMap(change.after)
                    line = lines.git_line(lines.py_offset(line, 0))
                findings.append(
                    Finding(
                        finding.severity,
                        finding.message,
                        finding.rule,
                        file=change.path,
                        line=line,
                        column=finding.column,
                        blocking=finding.blocking,
                    )
                )
        return findings
