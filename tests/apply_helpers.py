"""Shared setup for the apply tests: a repo with a bug and its tests, and a patch ready to land."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

from tests import factories

APP = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a + b\n"
TESTS = (
    "from app import add, sub\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n"
)
FIX = """--- a/app.py
+++ b/app.py
@@ -4,3 +4,3 @@
\x20
 def sub(a, b):
-    return a + b
+    return a - b
"""
# Touches three files (one new, one deleted) so that a crash has many places to land.
WIDE_FIX = (
    FIX
    + """--- /dev/null
+++ b/pkg/new_module.py
@@ -0,0 +1,2 @@
+VALUE = 42
+NAME = "new"
--- a/notes.txt
+++ /dev/null
@@ -1 +0,0 @@
-old notes
"""
)


def make_repo(tmp_path: Path) -> Path:
    return factories.make_git_repo(
        tmp_path / "repo", {"app.py": APP, "test_app.py": TESTS, "notes.txt": "old notes\n"}
    )


def approved_modification(workspace: Any, diff: str = FIX, **fields: Any) -> Any:
    fields.setdefault("status", "approved")
    fields.setdefault("base_commit", workspace.head_commit())
    fields.setdefault("safety_level", "SAFE")
    fields.setdefault("error_type", "logic")
    return factories.make_modification(workspace, diff=diff, files=["app.py"], **fields)


def applied_fix(tmp_path: Path) -> Any:
    """The fix, applied (and so backed up) to a fresh repository of its own workspace."""
    from healing.apply import do_apply

    mod = approved_modification(factories.make_workspace(make_repo(tmp_path), name="calc"))
    do_apply(mod)
    mod.refresh_from_db()
    return mod


def snapshot(repo: Path) -> dict[str, Any]:
    """Everything a person would see: the branch, HEAD, the files and a clean status."""
    files = {}
    for path in sorted(repo.rglob("*")):
        if ".git" in path.relative_to(repo).parts or not path.is_file():
            continue
        files[str(path.relative_to(repo))] = hashlib.sha256(path.read_bytes()).hexdigest()
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    head = factories.git(repo, "rev-parse", "HEAD").strip()
    branch = factories.git(repo, "symbolic-ref", "HEAD").strip()
    return {"head": head, "branch": branch, "files": files, "status": status}
