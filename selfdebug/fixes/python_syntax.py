"""Fix templates for Python syntax errors: a missing colon, unbalanced brackets, indentation."""

from __future__ import annotations

import re

from .base import (
    Edit,
    FixContext,
    FixTemplate,
    indent_of,
    register_template,
    replace_line,
)


def _strip_comment(line: str) -> tuple[str, str]:
    """Split code and a trailing comment (good enough for lines without '#' in strings)."""
    if "#" in line and line.count("'") % 2 == 0 and line.count('"') % 2 == 0:
        code, _, comment = line.partition("#")
        return code.rstrip(), "  #" + comment.rstrip("\n")
    return line.rstrip("\n").rstrip(), ""


_BLOCK_KEYWORDS = (
    "if",
    "elif",
    "else",
    "for",
    "while",
    "def",
    "class",
    "try",
    "except",
    "finally",
    "with",
    "async",
)


@register_template
class MissingColon(FixTemplate):
    name = "python.missing_colon"
    help = "A SyntaxError 'expected :' after a block header: add the colon."

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _syntax_location(ctx)
        lines = text.splitlines(keepends=True)
        for row in (line, line - 1):
            if row < 1 or row > len(lines):
                continue
            code, comment = _strip_comment(lines[row - 1])
            if code.lstrip().split(" ")[0].rstrip(":(") in _BLOCK_KEYWORDS and not code.endswith(
                ":"
            ):
                return Edit(
                    path,
                    replace_line(text, row, code + ":" + comment),
                    f"Add the missing colon on line {row}.",
                )
        return None


_PAIRS = {"(": ")", "[": "]", "{": "}"}


@register_template
class BracketBalance(FixTemplate):
    name = "python.bracket_balance"
    help = "A SyntaxError of an unclosed, unmatched or mismatched bracket on one line."

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _syntax_location(ctx)
        lines = text.splitlines(keepends=True)
        code, comment = _strip_comment(lines[line - 1])
        stack: list[str] = []
        out = []
        for ch in code:
            if ch in _PAIRS:
                stack.append(ch)
            elif ch in _PAIRS.values():
                if not stack:
                    continue  # an unmatched closer: drop it
                opener = stack.pop()
                ch = _PAIRS[opener]  # a mismatched closer becomes the right one
            out.append(ch)
        fixed = "".join(out) + "".join(_PAIRS[o] for o in reversed(stack))
        if fixed == code:
            return None
        return Edit(
            path, replace_line(text, line, fixed + comment), f"Balance the brackets on line {line}."
        )


@register_template
class FixIndentation(FixTemplate):
    name = "python.indentation"
    help = "An IndentationError: indent after a block header, dedent an unexpected indent, or snap to a level."

    def build(self, ctx: FixContext) -> Edit | None:
        path, line, text = _syntax_location(ctx)
        lines = text.splitlines(keepends=True)
        message = ctx.case.message + "\n" + ctx.case.details
        body = lines[line - 1].lstrip(" \t")
        previous = [lines[i] for i in range(line - 2, -1, -1) if lines[i].strip()]
        if "expected an indented block" in message:
            header = re.search(r"statement on line (\d+)", message)
            base = (
                indent_of(lines[int(header.group(1)) - 1])
                if header
                else (indent_of(previous[0]) if previous else "")
            )
            new_indent = base + "    "
        elif "unexpected indent" in message:
            if not previous:
                new_indent = ""
            else:
                new_indent = indent_of(previous[0])
                if previous[0].rstrip().endswith(":"):
                    return None
        elif "unindent does not match" in message:
            current = len(indent_of(lines[line - 1]))
            levels = sorted(
                {len(indent_of(p)) for p in previous if len(indent_of(p)) < current}, reverse=True
            )
            new_indent = " " * (levels[0] if levels else 0)
        else:
            return None
        return Edit(path, replace_line(text, line, new_indent + body), f"Re-indent line {line}.")


def _syntax_location(ctx: FixContext) -> tuple[str, int, str]:
    """A syntax error names its own file and line; pytest shows them as `File "...", line N`."""
    frames = [f for f in ctx.case.frames if f.path.endswith(".py") and not f.path.startswith("/")]
    for frame in reversed(frames):
        text = ctx.read(frame.path)
        if text is None:
            continue
        try:
            compile(text, frame.path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return frame.path, exc.lineno or frame.line, text
    raise ValueError("no file with a syntax error among the frames")
