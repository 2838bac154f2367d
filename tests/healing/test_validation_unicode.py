"""The unicode stage: Trojan Source (bidirectional controls, CVE-2021-42574) and look-alike
letters in the lines a patch adds are blocking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    repo = factories.make_git_repo(
        tmp_path / "r", {"app.py": "def is_admin(user):\n    return False\n"}
    )
    return factories.make_workspace(repo, name="demo", languages=["python", "javascript"])


def edit(line: str) -> str:
    return (
        "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,3 @@\n def is_admin(user):\n"
        f"+{line}\n     return False\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        '    access_level = "user\u202e \u2066# Check if admin\u2069 \u2066"  # trojan',
        "    if user.role == 'admin\u2067':  # stretched string",
        "    x = 1  # \u200f rtl mark",
        "    x = 1  # \u061c arabic letter mark",
    ],
    ids=["rlo-isolates", "rli", "rlm", "alm"],
)
def test_it_refuses_bidirectional_controls(ws: Any, line: str) -> None:
    report = run_pipeline(ValidationContext(workspace=ws, diff=edit(line)))
    assert report.rejected and "unicode.bidi" in {f.rule for f in report.blocking}
    assert {f.line for f in report.findings if f.rule == "unicode.bidi"} == {2}


@pytest.mark.parametrize(
    "line",
    ["    if user.n\u0430me == 'root':\n        return True", "    is_\u0430dmin = True"],
    ids=["cyrillic-a-in-attribute", "cyrillic-a-in-name"],
)
def test_it_refuses_look_alike_letters_in_a_latin_name(ws: Any, line: str) -> None:
    diff = edit(line).replace("@@ -1,2 +1,3 @@", f"@@ -1,2 +1,{2 + len(line.splitlines())} @@")
    diff = diff.replace(f"+{line}\n", "".join(f"+{x}\n" for x in line.splitlines()))
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    assert report.rejected and "unicode.confusable" in {f.rule for f in report.blocking}


def test_it_accepts_text_in_another_script(ws: Any) -> None:
    report = run_pipeline(
        ValidationContext(workspace=ws, diff=edit('    greeting = "Привет, мир"'))
    )
    assert not report.rejected, [f.message for f in report.findings]


def test_it_flags_invisible_characters_in_added_code(ws: Any) -> None:
    report = run_pipeline(
        ValidationContext(workspace=ws, diff=edit("    if user.role == 'admin\u200b':"))
    )
    hits = [f for f in report.findings if f.rule == "unicode.invisible"]
    assert hits and hits[0].severity == "high" and hits[0].line == 2
    assert report.ctx.risk_level == "high"
