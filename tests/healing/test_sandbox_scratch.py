"""Scratch trees: each way of making one gives the patched commit, and none writes into the cached
checkout or the repository, whatever the tests do (FULL's tree included: it is an overlay too
where bubblewrap runs inside the overlay's namespace). Real git, real mounts, real runs."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from healing.sandbox import run_tests
from healing.sandbox.backends import get_backend
from healing.sandbox.scratch import SCRATCH_PREFIX, base_tree, overlay_supported, overlay_tree
from healing.sandbox_probe import bubblewrap_works
from tests import factories

needs_overlay = pytest.mark.skipif(
    not overlay_supported()[0], reason=f"no unprivileged overlay: {overlay_supported()[1]}"
)

FILES = {
    "app.py": "def add(a, b):\n    return a * b\n",
    "old_name.py": "VALUE = 1\n",
    "doomed.py": "GONE = True\n",
    "pkg/__init__.py": "",
}

# Modifies, adds, deletes and renames: everything a bind of single files cannot do.
DIFF = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a * b
+    return a + b
diff --git a/pkg/added.py b/pkg/added.py
new file mode 100644
--- /dev/null
+++ b/pkg/added.py
@@ -0,0 +1 @@
+ADDED = 2
diff --git a/doomed.py b/doomed.py
deleted file mode 100644
--- a/doomed.py
+++ /dev/null
@@ -1 +0,0 @@
-GONE = True
diff --git a/old_name.py b/new_name.py
similarity index 100%
rename from old_name.py
rename to new_name.py
"""

# The tests check the patched tree, then vandalise it: the cached checkout must not notice.
TESTS = """import os
import pathlib


def test_the_patched_tree():
    from app import add
    from new_name import VALUE
    from pkg.added import ADDED

    assert add(2, 3) == 5 and VALUE == 1 and ADDED == 2
    assert not os.path.exists("doomed.py") and not os.path.exists("old_name.py")


def test_vandalise_the_tree():
    pathlib.Path("app.py").write_text("raise SystemExit('vandalised')\\n")
    os.remove("new_name.py")
    pathlib.Path("litter.txt").write_text("x")
"""


def _digest(tree: Path) -> dict[str, str]:
    return {
        str(p.relative_to(tree)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    }


def _repo(tmp_path: Path) -> tuple[Path, str]:
    repo = factories.make_git_repo(tmp_path / "repo", {**FILES, "test_app.py": TESTS})
    commit = factories.git(repo, "rev-parse", "HEAD").strip()
    return repo, commit


def _scratch_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")}


@needs_overlay
def test_it_applies_modifies_adds_deletes_and_renames_through_the_overlay(tmp_path: Path) -> None:
    repo, commit = _repo(tmp_path)
    base = base_tree(repo, commit)
    before = _digest(base)
    with overlay_tree(repo, commit, DIFF) as scratch:
        assert scratch.overlay is not None
        # The upper layer holds the patch only: the modified and added files, and whiteouts.
        assert (scratch.root / "upper" / "app.py").read_text().endswith("a + b\n")
        assert (scratch.root / "upper" / "pkg" / "added.py").read_text() == "ADDED = 2\n"
        assert scratch.host_path("app.py") == scratch.root / "upper" / "app.py"
        assert scratch.host_path("test_app.py") == base / "test_app.py"
        root = scratch.root
    assert not root.exists()
    assert _digest(base) == before


@needs_overlay
@pytest.mark.parametrize(
    "level",
    [
        pytest.param(
            "full", marks=pytest.mark.skipif(not bubblewrap_works()[0], reason="no bubblewrap")
        ),
        "partial",
        "none",
    ],
)
def test_it_runs_on_the_overlay_and_leaves_the_cache_and_repo_untouched(
    db: Any, tmp_path: Path, level: str
) -> None:
    repo, commit = _repo(tmp_path)
    workspace = factories.make_workspace(repo, isolation_level=level)
    base = base_tree(repo, commit)
    cache_before, repo_before = _digest(base), _digest(repo)
    dirs_before = _scratch_dirs()

    result = run_tests(workspace, diff=DIFF)

    outcomes = {t.nodeid.split("::")[-1]: t.outcome for t in result.tests}
    assert outcomes == {"test_the_patched_tree": "passed", "test_vandalise_the_tree": "passed"}, (
        result.detail,
        result.output_tail[-3000:],
    )
    assert _digest(base) == cache_before
    assert _digest(repo) == repo_before
    assert _scratch_dirs() <= dirs_before


@needs_overlay
def test_it_says_which_scratch_tree_each_backend_uses() -> None:
    assert "overlay" in get_backend("partial").available()[1]
    assert "overlay" in get_backend("none").available()[1]
    if bubblewrap_works()[0]:
        assert "overlay" in get_backend("full").available()[1]


def test_it_falls_back_to_a_worktree_when_mount_cannot_take_the_path(
    db: Any, tmp_path: Path
) -> None:
    # A comma would split mount's option string: such a cache path gets a worktree instead.
    repo, commit = _repo(tmp_path)
    with override_settings(SELFHEAL_SANDBOX_CACHE=str(tmp_path / "cache,with,commas")):
        with overlay_tree(repo, commit, DIFF) as scratch:
            assert scratch.overlay is None
            assert (scratch.tree / "app.py").read_text().endswith("a + b\n")
            assert not (scratch.tree / "doomed.py").exists()
            assert (scratch.tree / "new_name.py").exists()
        workspace = factories.make_workspace(repo, isolation_level="partial")
        result = run_tests(workspace, diff=DIFF)
    assert {t.outcome for t in result.tests} == {"passed"}, result.output_tail
