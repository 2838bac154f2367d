"""Attacks on the sandbox's verdict: a patch that forges its own pass, or makes tests vanish.

The report is written by pytest inside the patched process; what decides is checked against
the runner's own exit status and against the baseline's list of tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.models import SandboxRun
from healing.sandbox import run_tests
from healing.sandbox.tasks import sandbox_modification
from tests import factories
from tests.sandbox_helpers import new_file_diff

APP = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
TESTS = (
    "from app import add, sub\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n"
)
MISC = "def test_misc():\n    assert True\n"
FILES = {"app.py": APP, "test_app.py": TESTS, "test_misc.py": MISC}
BREAK_ADD = """--- a/app.py
+++ b/app.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a + b
+    return a * b
\x20
\x20
 def sub(a, b):
"""
# conftest.py: after pytest wrote its report, rewrite it to say every test passed.
FORGER = """import atexit, os, re

REPORT = (
    '<testsuite>'
    '<testcase classname="test_app" name="test_add"/>'
    '<testcase classname="test_app" name="test_sub"/>'
    '<testcase classname="test_misc" name="test_misc"/>'
    '</testsuite>'
)


def _forge():
    path = re.search(r"--junitxml=(\\S+)", os.environ["PYTEST_ADDOPTS"]).group(1)
    with open(path, "w") as fh:
        fh.write(REPORT)


atexit.register(_forge)
"""
RENAME_TEST_AWAY = """--- a/test_app.py
+++ b/test_app.py
@@ -1,7 +1,7 @@
 from app import add, sub
\x20
\x20
-def test_add():
+def check_add():
     assert add(2, 3) == 5
\x20
\x20
"""
RENAME_FILE_AWAY = """diff --git a/test_app.py b/check_app.py
similarity index 100%
rename from test_app.py
rename to check_app.py
"""
DELETE_TESTS = """--- a/test_app.py
+++ /dev/null
@@ -1,9 +0,0 @@
-from app import add, sub
-
-
-def test_add():
-    assert add(2, 3) == 5
-
-
-def test_sub():
-    assert sub(5, 3) == 2
"""
LEVELS = ["partial", "none"]


def _workspace(tmp_path: Path, level: str, files: dict[str, str] = FILES, **fields: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "repo", files)
    return factories.make_workspace(repo, isolation_level=level, **fields)


@pytest.mark.parametrize("level", LEVELS)
def test_it_fails_a_patch_forging_its_own_passing_report(
    db: Any, tmp_path: Path, level: str
) -> None:
    ws = _workspace(tmp_path, level)

    result = run_tests(ws, diff=BREAK_ADD + new_file_diff("conftest.py", FORGER))

    assert not result.ok
    assert any("exited 1" in f for f in result.detail.get("findings", [])), result.detail


@pytest.mark.parametrize(
    "attack", {"renamed_test": RENAME_TEST_AWAY, "renamed_file": RENAME_FILE_AWAY}
)
@pytest.mark.parametrize("level", LEVELS)
def test_it_fails_tests_renamed_away_with_a_broken_function(
    db: Any, tmp_path: Path, level: str, attack: str
) -> None:
    diff = {"renamed_test": RENAME_TEST_AWAY, "renamed_file": RENAME_FILE_AWAY}[attack]
    ws = _workspace(tmp_path, level)

    result = run_tests(ws, diff=BREAK_ADD + diff)

    assert not result.ok
    assert "test_app::test_add" in result.new_failures
    assert "test_app::test_add" in result.detail["missing_tests"]


def test_it_fails_a_patch_after_which_no_test_is_reported(db: Any, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "partial", {"app.py": APP, "test_app.py": TESTS})

    result = run_tests(ws, diff=BREAK_ADD + DELETE_TESTS)

    assert not result.ok
    assert "the patched run reported no test" in result.detail["findings"]
    assert result.new_failures == ["test_app::test_add", "test_app::test_sub"]


def test_it_fails_a_report_that_names_a_failure_the_exit_status_denies(
    db: Any, tmp_path: Path
) -> None:
    """The other way round: a test process that exits 0 whatever its report says."""
    quitter = "import atexit, os\n\natexit.register(lambda: os._exit(0))\n"
    ws = _workspace(tmp_path, "partial")

    result = run_tests(ws, diff=BREAK_ADD + new_file_diff("conftest.py", quitter))

    assert not result.ok
    assert result.detail["exit_code"] == 0
    assert any("exited 0" in f for f in result.detail["findings"]), result.detail


def test_it_sandboxes_the_patch_on_the_commit_validation_judged(db: Any, tmp_path: Path) -> None:
    """HEAD moves between validation and the sandbox: the patch still runs on base_commit."""
    ws = _workspace(tmp_path, "partial")
    judged = ws.head_commit()
    mod = factories.make_modification(
        ws,
        diff=new_file_diff("test_more.py", "def test_more():\n    pass\n"),
        status="sandboxing",
        base_commit=judged,
        safety_level="SAFE",
    )
    (ws.repo_path / "later.py").write_text("LATER = 1\n")
    factories.git(ws.repo_path, "add", "later.py")
    factories.git(ws.repo_path, "commit", "-q", "-m", "HEAD moves on")
    assert ws.head_commit() != judged

    sandbox_modification(mod.pk)

    patched = SandboxRun.objects.get(modification=mod, kind="patched")
    assert patched.commit == judged
    assert SandboxRun.objects.get(kind="baseline").commit == judged
