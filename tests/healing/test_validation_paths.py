"""The paths stage: protected files by default and whatever their case, both names of a rename,
symlinks and submodules, look-alike characters in names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db


def run(workspace: Any, diff: str) -> Any:
    return run_pipeline(ValidationContext(workspace=workspace, diff=diff))


def new_file(path: str, text: str = "x\n", mode: str = "100644") -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "r", {"app.py": "x = 1\n", "docs/a.md": "a\n"})
    # An older workspace whose stored list predates the wider defaults.
    return factories.make_workspace(repo, name="demo", protected_paths=[".env"])


@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/ci.yml",
        ".GitHub/Workflows/x.yml",
        ".github/actions/setup/action.yml",
        ".github/dependabot.yml",
        ".gitattributes",
        "sub/.gitattributes",
        ".gitmodules",
        "CODEOWNERS",
        "docs/CODEOWNERS",
        ".github/CODEOWNERS",
        ".pre-commit-config.yaml",
        ".ENV",
    ],
)
def test_it_protects_what_changes_how_git_and_ci_treat_the_repository(ws: Any, path: str) -> None:
    report = run(ws, new_file(path))
    assert report.rejected
    assert any(f.rule == "path.protected" and f.blocking for f in report.findings), path


def test_it_refuses_a_symlink_even_one_pointing_inside_the_repository(ws: Any) -> None:
    diff = "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+app.py\n\\ No newline at end of file\n"
    report = run(ws, diff)
    assert report.rejected
    assert any(f.rule == "path.symlink" and f.blocking for f in report.findings)


def test_it_refuses_a_submodule(ws: Any) -> None:
    diff = (
        "diff --git a/vendor/lib b/vendor/lib\nnew file mode 160000\nindex 0000000..1111111\n"
        "--- /dev/null\n+++ b/vendor/lib\n@@ -0,0 +1 @@\n+Subproject commit " + "1" * 40 + "\n"
    )
    report = run(ws, diff)
    assert report.rejected
    assert any(f.rule == "path.submodule" and f.blocking for f in report.findings)


def test_it_judges_both_names_of_a_rename_into_a_protected_path(ws: Any) -> None:
    diff = (
        "diff --git a/docs/a.md b/.github/workflows/a.yml\nsimilarity index 100%\n"
        "rename from docs/a.md\nrename to .github/workflows/a.yml\n"
    )
    report = run(ws, diff)
    assert report.rejected
    protected = {f.file for f in report.findings if f.rule == "path.protected"}
    assert ".github/workflows/a.yml" in protected


@pytest.mark.parametrize(
    "path",
    ["\u0430pp.py", "docs/\u202egnp.py", "s\u0441ripts/x.py"],
    ids=["cyrillic-a", "bidi-override", "cyrillic-in-dir"],
)
def test_it_refuses_hidden_and_look_alike_characters_in_paths(ws: Any, path: str) -> None:
    report = run(ws, new_file(path, "x = 1\n"))
    assert report.rejected
    assert {f.rule for f in report.blocking} & {"unicode.bidi", "unicode.confusable"}


def test_it_flags_a_mode_change(ws: Any) -> None:
    diff = "diff --git a/app.py b/app.py\nold mode 100644\nnew mode 100755\n"
    report = run(ws, diff)
    assert "path.mode_change" in {f.rule for f in report.findings}
