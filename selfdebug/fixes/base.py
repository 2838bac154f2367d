"""Fix templates: small classes behind one interface, each turning a matched failure into a diff.

A template never proposes a patch that fails validation: `propose()` builds the new text, checks
that it parses (Python: compile(); JavaScript: `node --check`), that it changes something, and that
the unified diff applies to the tree with `git apply --check`. Anything else returns None.
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
import subprocess
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from healing.gitapply import apply_args, stdin_of

from ..results import Failure, Frame


@dataclass
class FixContext:
    root: Path  # the tree the failure happened in (repository root)
    case: Failure
    groups: dict[str, str] = field(default_factory=dict)  # named groups of the pattern's regex
    pattern: str = ""

    @property
    def frame(self) -> Frame | None:
        return self.case.source_frame()

    def read(self, relpath: str) -> str | None:
        path = (self.root / relpath).resolve()
        if not path.is_relative_to(self.root.resolve()) or not path.is_file():
            return None
        try:
            return path.read_text()
        except (OSError, UnicodeDecodeError):
            return None


@dataclass
class ProposedFix:
    template: str
    pattern: str
    path: str
    diff: str
    description: str
    language: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "pattern": self.pattern,
            "path": self.path,
            "diff": self.diff,
            "description": self.description,
            "language": self.language,
        }


@dataclass
class Edit:
    path: str
    new_text: str
    description: str


class FixTemplate:
    name: ClassVar[str] = ""
    language: ClassVar[str] = "python"
    help: ClassVar[str] = ""

    def build(self, ctx: FixContext) -> Edit | None:
        raise NotImplementedError

    def propose(self, ctx: FixContext) -> ProposedFix | None:
        try:
            edit = self.build(ctx)
        except (
            ValueError,
            SyntaxError,
            IndexError,
            KeyError,
            tokenize.TokenError,
            OSError,
            RecursionError,
        ):
            return None
        if edit is None:
            return None
        old = ctx.read(edit.path)
        if old is None or old == edit.new_text:
            return None
        if not syntax_ok(edit.path, edit.new_text):
            return None
        diff = make_diff(edit.path, old, edit.new_text)
        if not diff_applies(ctx.root, diff):
            return None
        return ProposedFix(self.name, ctx.pattern, edit.path, diff, edit.description, self.language)


TEMPLATES: dict[str, FixTemplate] = {}


def register_template(cls: type[FixTemplate]) -> type[FixTemplate]:
    if cls.name in TEMPLATES:
        raise ValueError(f"fix template {cls.name} registered twice")
    TEMPLATES[cls.name] = cls()
    return cls


def template_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(TEMPLATES)]


# --- validation ------------------------------------------------------------------------------


def is_python(path: str) -> bool:
    return path.endswith((".py", ".pyw"))


def is_js(path: str) -> bool:
    return path.endswith((".js", ".mjs", ".cjs"))


def syntax_ok(path: str, text: str) -> bool:
    if is_python(path):
        try:
            compile(text, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return False
        return True
    if is_js(path):
        return js_syntax_ok(text, Path(path).suffix)
    return False  # no template writes a language it cannot check


def js_syntax_ok(text: str, suffix: str = ".js") -> bool:
    if shutil.which("node") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="selfheal-jscheck-") as tmp:
        target = Path(tmp) / f"check{suffix}"
        target.write_text(text)
        proc = subprocess.run(
            ["node", "--check", str(target)], capture_output=True, timeout=30, check=False
        )
        return proc.returncode == 0


def make_diff(relpath: str, old: str, new: str) -> str:
    """A git-style unified diff of one file."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = [f"diff --git a/{relpath} b/{relpath}\n"]
    if not old:
        out.append("new file mode 100644\n")
    body = list(
        difflib.unified_diff(
            old_lines,
            new_lines,
            fromfile=f"a/{relpath}" if old else "/dev/null",
            tofile=f"b/{relpath}",
            n=3,
        )
    )
    for line in body:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def apply_check(root: Path, diff: str) -> subprocess.CompletedProcess[str]:
    """`git apply --check` of `diff` against the tree at `root`, read as validation, the sandbox
    and the apply read it (healing.gitapply)."""
    return subprocess.run(
        ["git", "-C", str(root), *apply_args(check=True)],
        input=stdin_of(diff),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        # The tree is often no repository (the sandbox's cached checkout of HEAD): git then checks
        # plain files, like patch(1), and must not take an enclosing repository for it.
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(root.resolve().parent)},
    )


def diff_applies(root: Path, diff: str) -> bool:
    return apply_check(root, diff).returncode == 0


# --- helpers the templates share -------------------------------------------------------------


def close_match(word: str, candidates: set[str] | list[str], cutoff: float = 0.75) -> str | None:
    options = sorted(c for c in set(candidates) if c != word)
    found = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if found:
        return found[0]
    # A rename that reorders words (area_circle → circle_area, getUser → userGet).
    words = sorted(_words(word))
    reordered = [c for c in options if len(words) > 1 and sorted(_words(c)) == words]
    return reordered[0] if len(reordered) == 1 else None


def _words(name: str) -> list[str]:
    import re

    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def replace_name_tokens(
    text: str, line: int | None, old: str, new: str, *, after_dot: bool | None = None
) -> str:
    """Replace NAME tokens `old` by `new` (on one line, or everywhere when line is None).

    after_dot=True: only attribute names (`x.old`); False: only plain names; None: both.
    """
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    hits: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string != old:
            continue
        if line is not None and tok.start[0] != line:
            continue
        prev = tokens[i - 1] if i else None
        dotted = prev is not None and prev.type == tokenize.OP and prev.string == "."
        if after_dot is not None and dotted != after_dot:
            continue
        hits.append(tok.start)
    if not hits:
        raise ValueError(f"no {old!r} to replace")
    for row, col in sorted(hits, reverse=True):
        src = lines[row - 1]
        lines[row - 1] = src[:col] + new + src[col + len(old) :]
    return "".join(lines)


def replace_line(text: str, line: int, new_line: str) -> str:
    lines = text.splitlines(keepends=True)
    ending = "\n" if lines[line - 1].endswith("\n") else ""
    lines[line - 1] = new_line.rstrip("\n") + ending
    return "".join(lines)


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]
