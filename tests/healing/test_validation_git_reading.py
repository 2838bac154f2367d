"""The diff stage: validation judges what git writes, with the sandbox's and the apply's own
`git apply`, and refuses a diff that git and a reader of the diff read differently."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from healing.apply import gitops
from healing.gitapply import apply_argv
from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db

SAME = "def f():\n    return 1\n"


def run(workspace: Any, diff: str) -> Any:
    return run_pipeline(ValidationContext(workspace=workspace, diff=diff))


def rules(report: Any) -> set[str]:
    return {f.rule for f in report.findings}


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    files = {
        "app.py": SAME,
        "src/app.py": SAME,
        "tests/test_app.py": "def test_f():\n    assert 1\n",
        "lib.py": "x = 1\n",
    }
    repo = factories.make_git_repo(tmp_path / "r", files)
    return factories.make_workspace(repo, name="demo", protected_paths=["app.py"])


def landed(ws: Any, diff: str) -> list[str]:
    """What the apply would change, run exactly as the apply runs it."""
    head = ws.head_commit()
    commit = gitops.commit_from_diff(
        ws.repo_path, head, diff, "m", gitops.Author("t", "t@example.invalid")
    )
    return gitops.changed_paths(ws.repo_path, head, commit)


def test_it_refuses_a_bare_path_that_the_apply_reads_one_directory_shorter(ws: Any) -> None:
    # Validation used to read `src/app.py` at -p0 while the apply reads it at -p1: app.py,
    # a protected file, is what would land.
    diff = (
        "--- src/app.py\n+++ src/app.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n"
    )
    assert landed(ws, diff) == ["app.py"]
    report = run(ws, diff)
    assert report.rejected
    assert {"diff.ambiguous", "path.protected"} & rules(report)
    assert "path.protected" in rules(report)  # the path git really touches is judged


def test_it_judges_the_files_git_writes_with_the_lines_git_adds(ws: Any) -> None:
    diff = (
        "diff --git a/lib.py b/lib.py\n--- a/lib.py\n+++ b/lib.py\n@@ -1 +1,2 @@\n x = 1\n+y = 2\n"
    )
    report = run(ws, diff)
    assert not report.rejected, [f.message for f in report.findings]
    (change,) = report.ctx.files
    assert (change.path, change.after, change.added) == ("lib.py", "x = 1\ny = 2\n", {2: "y = 2"})
    assert report.ctx.head_commit == ws.head_commit()


@pytest.mark.parametrize(
    ("diff", "why"),
    [
        (
            "--- a/lib.py\n+++ b/lib.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
            "--- a/lib.py\n+++ b/lib.py\n@@ -1 +1 @@\n-x = 2\n+x = 3\n",
            "sections",
        ),
        (
            "diff --git a/tests/test_app.py b/tests/test_app.py\n--- a/lib.py\n+++ b/lib.py\n"
            "@@ -1 +1 @@\n-x = 1\n+x = 2\n",
            "names other files",
        ),
        (
            "diff --git a/lib.py b/copy.py\nsimilarity index 100%\ncopy from lib.py\ncopy to copy.py\n"
            "--- a/lib.py\n+++ b/copy.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
            "copy",
        ),
        (
            "--- a/lib.py\n+++ b/app2.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
            "two files",
        ),
        ("--- b/lib.py\n+++ a/lib.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n", "swapped"),
    ],
    ids=[
        "two-sections",
        "header-names-another-file",
        "copy-in-header",
        "renamed-without-header",
        "swapped-prefixes",
    ],
)
def test_it_refuses_a_diff_git_and_a_reader_read_differently(ws: Any, diff: str, why: str) -> None:
    report = run(ws, diff)
    assert report.rejected
    ambiguous = [f for f in report.findings if f.rule in {"diff.ambiguous", "diff.does_not_apply"}]
    assert ambiguous and all(f.blocking for f in ambiguous), rules(report)


def test_it_judges_both_names_of_a_rename_and_calls_a_renamed_test_file_deleted(ws: Any) -> None:
    diff = (
        "diff --git a/tests/test_app.py b/tests/helper_app.py\nsimilarity index 100%\n"
        "rename from tests/test_app.py\nrename to tests/helper_app.py\n"
    )
    # What the apply would do: the test file is gone.
    assert sorted(landed(ws, diff)) == ["tests/helper_app.py", "tests/test_app.py"]
    report = run(ws, diff)
    assert report.rejected  # a rename header is refused: send a delete and an add
    assert sorted(c.path for c in report.ctx.files) == ["tests/helper_app.py", "tests/test_app.py"]
    assert "tests.deleted" in rules(report)


def test_it_shows_the_review_page_gits_diff_not_the_submitted_text(ws: Any) -> None:
    from approvals import diffview

    # Hunk header says line 7; git finds the context at line 1 and regenerates the true header.
    diff = "--- a/lib.py\n+++ b/lib.py\n@@ -7 +7,2 @@\n x = 1\n+y = 2\n"
    report = run(ws, diff)
    assert not report.rejected, [f.message for f in report.findings]
    view = diffview.build(diff, report.as_json())
    assert view.source == "git" and not view.note
    (hunk,) = view.files[0].hunks
    assert hunk.header.startswith("@@ -1,1 +1,2 @@")
    assert [(line.kind, line.new) for line in hunk.lines] == [("context", 1), ("added", 2)]
    assert diffview.build(diff, {}).source == "submitted"


def test_it_applies_with_the_same_git_apply_as_the_sandbox(ws: Any, tmp_path: Path) -> None:
    # The sandbox applies outside any repository with apply_argv(): same strip level.
    plain = tmp_path / "plain"
    (plain / "src").mkdir(parents=True)
    (plain / "app.py").write_text(SAME)
    (plain / "src" / "app.py").write_text(SAME)
    diff = (
        "--- src/app.py\n+++ src/app.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n"
    )
    subprocess.run(apply_argv(), cwd=plain, input=diff, text=True, check=True)
    assert (plain / "app.py").read_text() != SAME  # -p1, as the apply: refused by validation
    assert "-p1" in apply_argv()


def test_it_refuses_cleanly_when_git_cannot_find_the_object_store(tmp_path: Path) -> None:
    from healing.validation.deadline import Deadline
    from healing.validation.gitresult import GitApplyFailed, apply_to_tree

    # A linked work tree whose repository has gone: git fails where the objects are asked for.
    tree = tmp_path / "linked"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {tmp_path / 'gone'}\n")
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    with pytest.raises(GitApplyFailed, match="rev-parse"):
        apply_to_tree(tree, "HEAD", diff, Deadline(30))


def test_it_reads_each_patchs_own_files_on_a_base_it_has_seen(ws: Any) -> None:
    # The base commit's index and blobs are remembered between patches; what a patch writes is
    # read back from git every time, and a new HEAD is a new base.
    def after(report: Any) -> str:
        return next(c.after for c in report.ctx.files if c.path == "lib.py")

    shell = "--- a/lib.py\n+++ b/lib.py\n@@ -1 +1 @@\n-x = 1\n+import os; os.system('id')\n"
    # app.py's content: a blob the repository holds already, so git writes nothing new for it.
    known = "--- a/lib.py\n+++ b/lib.py\n@@ -1 +1,2 @@\n-x = 1\n+def f():\n+    return 1\n"
    assert "danger.os_system" in rules(run(ws, shell))
    second = run(ws, known)
    assert after(second) == SAME
    assert "danger.os_system" not in rules(second)
    third = run(ws, shell)
    assert after(third) == "import os; os.system('id')\n"
    assert "danger.os_system" in rules(third)
    (ws.repo_path / "lib.py").write_text("x = 2\n")
    factories.git(ws.repo_path, "commit", "-qam", "x = 2")
    moved = run(ws, shell)
    assert moved.ctx.head_commit == ws.head_commit()
    assert "diff.does_not_apply" in rules(moved)
