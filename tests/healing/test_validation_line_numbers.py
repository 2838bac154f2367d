"""Line numbers: what a stage judges and where a finding is pinned follow the parser's reading of
the file and git's numbering of the diff, whatever line separators the text holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db


def ws_with(tmp_path: Path, text: str) -> Any:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "m.py").write_bytes(text.encode())
    return factories.make_workspace(factories.make_git_repo(repo, files={}), name="demo")


@pytest.mark.parametrize(
    "separator",
    ["\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\x0b"],
    ids=[
        "form-feed",
        "file-separator",
        "next-line",
        "line-separator",
        "paragraph-separator",
        "vertical-tab",
    ],
)
def test_it_sees_an_added_call_after_a_line_python_does_not_end(
    tmp_path: Path, separator: str
) -> None:
    # str.splitlines() ends a line at these characters, git and Python's tokenizer do not: a
    # reading by splitlines() looked at the line above the added call and missed it.
    ws = ws_with(tmp_path, f"import os as o\n# page{separator}break\ndef f():\n    pass\n")
    diff = "--- a/m.py\n+++ b/m.py\n@@ -3,2 +3,3 @@\n def f():\n+    o.system('id')\n     pass\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    hits = [f for f in report.findings if f.rule == "danger.os_system"]
    assert hits and hits[0].line == 4, [(f.rule, f.line) for f in report.findings]


def test_it_pins_a_finding_to_gits_line_when_python_ends_a_line_at_a_lone_cr(
    tmp_path: Path,
) -> None:
    # Python's tokenizer ends a line at "\r", git does not: ast says line 4, git's diff line 3.
    ws = ws_with(tmp_path, "import os as o\nx = 1\ry = 2\n")
    diff = "--- a/m.py\n+++ b/m.py\n@@ -2 +2,2 @@\n x = 1\ry = 2\n+o.system('id')\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    assert not report.ctx.git_error, report.ctx.git_error
    (change,) = report.ctx.files
    assert change.added == {3: "o.system('id')"}
    hits = [f for f in report.findings if f.rule == "danger.os_system"]
    assert [f.line for f in hits] == [3]


def test_it_numbers_a_syntax_error_as_git_does(tmp_path: Path) -> None:
    ws = ws_with(tmp_path, "x = 1\ry = 2\n")
    diff = "--- a/m.py\n+++ b/m.py\n@@ -1 +1,2 @@\n x = 1\ry = 2\n+def f(:\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    (error,) = [f for f in report.findings if f.rule == "syntax.error"]
    assert error.line == 2  # Python's tokenizer says 3
