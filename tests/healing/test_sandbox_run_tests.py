"""run_tests with real git repositories, real subprocesses and the real isolation backends."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from healing.models import SandboxRun
from healing.sandbox import IsolationUnavailable, run_tests
from healing.sandbox.scratch import SCRATCH_PREFIX
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.apply_helpers import APP, FIX, TESTS
from tests.sandbox_helpers import NETWORK_TEST, loopback_listener, new_file_diff

needs_bwrap = pytest.mark.skipif(not bubblewrap_works()[0], reason="bubblewrap does not work here")

BREAK = """--- a/app.py
+++ b/app.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a + b
+    return a * b
\x20
"""


def _workspace(
    tmp_path: Path, level: str, files: dict[str, str] | None = None, **fields: Any
) -> Any:
    repo = factories.make_git_repo(
        tmp_path / "repo", files or {"app.py": APP, "test_app.py": TESTS}
    )
    return factories.make_workspace(repo, isolation_level=level, **fields)


def _leftovers(before: set[int]) -> list[psutil.Process]:
    me = psutil.Process(os.getpid())
    return [
        p
        for p in me.children(recursive=True)
        if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE
    ]


def _scratch_dirs() -> set[str]:
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")}


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_judges_a_fix_against_the_baseline(db: Any, tmp_path: Path, level: str) -> None:
    ws = _workspace(tmp_path, level)

    result = run_tests(ws, diff=FIX)

    assert result.ok, result.output_tail
    assert result.limit_hit is None
    assert result.fixed == ["test_app::test_sub"]
    assert result.new_failures == []
    assert {t.nodeid: t.outcome for t in result.tests} == {
        "test_app::test_add": "passed",
        "test_app::test_sub": "passed",
    }
    assert result.coverage == 1.0
    baseline = SandboxRun.objects.get(kind="baseline")
    assert baseline.commit == ws.head_commit() and baseline.failing == ["test_app::test_sub"]


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_rejects_a_patch_that_breaks_a_passing_test(db: Any, tmp_path: Path, level: str) -> None:
    ws = _workspace(tmp_path, level)

    result = run_tests(ws, diff=BREAK)

    assert not result.ok
    assert result.new_failures == ["test_app::test_add"]
    assert result.fixed == []


def test_it_caches_the_baseline_per_commit(db: Any, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "partial")
    run_tests(ws, diff=FIX)
    run_tests(ws, diff=BREAK)
    assert SandboxRun.objects.filter(kind="baseline").count() == 1
    (ws.repo_path / "extra.py").write_text("X = 1\n")
    factories.git(ws.repo_path, "add", "extra.py")
    factories.git(ws.repo_path, "commit", "-q", "-m", "more")
    run_tests(ws, diff=FIX)
    assert SandboxRun.objects.filter(kind="baseline").count() == 2


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_judges_by_new_failures_when_the_baseline_meets_the_same_limit(
    db: Any, tmp_path: Path, level: str
) -> None:
    """A suite with a test that needs the network fails it on every run, patched or not: that
    names the network limit on the baseline too, so it is not held against the patch."""
    with loopback_listener() as (port, reached):
        net_test = NETWORK_TEST.replace("{port}", str(port))
        ws = _workspace(
            tmp_path, level, {"app.py": APP, "test_app.py": TESTS, "test_net.py": net_test}
        )
        fixed = run_tests(ws, diff=FIX)
        broken = run_tests(ws, diff=BREAK)

    assert reached == []
    baseline = SandboxRun.objects.get(kind="baseline")  # cached: it ran once for both
    assert baseline.limit_hit == "network" and "test_net::test_net" in baseline.failing
    assert fixed.ok, (fixed.limit_hit, fixed.new_failures, fixed.output_tail[-1500:])
    assert fixed.limit_hit is None and fixed.detail["limit_on_baseline_too"] == "network"
    assert fixed.fixed == ["test_app::test_sub"]
    assert not broken.ok and broken.new_failures == ["test_app::test_add"]


def test_it_names_the_limit_a_patch_runs_into_that_the_baseline_did_not(
    db: Any, tmp_path: Path
) -> None:
    with loopback_listener() as (port, reached):
        diff = new_file_diff("test_net.py", NETWORK_TEST.replace("{port}", str(port)))
        result = run_tests(_workspace(tmp_path, "partial"), diff=diff)

    assert reached == []
    assert result.limit_hit == "network" and result.detail["limit_inferred"] is True
    assert not result.ok and not result.cut_short


def test_it_reports_a_diff_that_does_not_apply(db: Any, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "partial")
    result = run_tests(ws, diff=FIX.replace("return a + b", "return nothing"))
    assert not result.ok
    assert result.detail["error"] == "diff_does_not_apply"


def test_it_refuses_to_downgrade_when_bubblewrap_is_unavailable(
    db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    ws = _workspace(tmp_path, "full")
    # The edge we do not own: the bwrap binary. Hide it from PATH and from the probe's cache.
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        with pytest.raises(IsolationUnavailable, match="bubblewrap is not installed"):
            run_tests(ws, diff=FIX)
    finally:
        bubblewrap_works.cache_clear()
    assert not SandboxRun.objects.exists()


HOSTILE = {
    "network": (NETWORK_TEST, "network"),
    "memory": ("def test_mem():\n    x = bytearray(400 * 1024 * 1024)\n    assert x\n", "memory"),
    "forever": ("def test_forever():\n    while True:\n        pass\n", "wall_time"),
    "fork": (
        "import os, time\n\ndef test_fork():\n"
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n",
        "processes",
    ),
    "output": (
        "def test_loud():\n    while True:\n        print('x' * 100)\n",
        "output",
    ),
}


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_it_contains_hostile_tests(db: Any, tmp_path: Path, level: str, case: str) -> None:
    source, limit = HOSTILE[case]
    ws = _workspace(
        tmp_path,
        level,
        {"app.py": "X = 1\n", "test_app.py": "def test_ok():\n    pass\n"},
        policy_overrides={
            "sandbox.wall_time_s": 8,
            "sandbox.memory_mb": 300,
            "sandbox.max_processes": 32,
            "sandbox.max_output_kb": 64,
        },
        # The loud test prints past pytest's capture, as a test with -s would.
        test_command="python -m pytest -q -s" if case == "output" else "python -m pytest -q",
    )
    before = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
    scratch_before = _scratch_dirs()

    with loopback_listener() as (port, reached):
        diff = new_file_diff("test_hostile.py", source.replace("{port}", str(port)))
        result = run_tests(ws, diff=diff)

    assert reached == []
    assert not result.ok
    assert result.limit_hit == limit, (result.limit_hit, result.output_tail[-2000:])
    assert _leftovers(before) == []
    assert _scratch_dirs() == scratch_before
    assert factories.git(ws.repo_path, "worktree", "list").count("\n") == 1


@needs_bwrap
def test_it_hides_the_environment_and_the_file_system_under_full_isolation(
    db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SELFHEAL_TEST_SECRET", "hunter2-secret")
    outside = tmp_path / "outside.txt"
    venv_file = Path(sys.prefix) / "selfheal-escaped.txt"
    test = (
        "import os, pathlib\n\n"
        "def test_env():\n"
        "    assert 'SELFHEAL_TEST_SECRET' not in os.environ\n"
        "    for p in pathlib.Path('/proc').glob('[0-9]*/environ'):\n"
        "        assert b'hunter2' not in p.read_bytes()\n\n"
        "def test_home():\n"
        f"    assert not pathlib.Path({str(Path.home())!r}).joinpath('.bashrc').exists()\n"
        f"    assert not pathlib.Path({str(Path(__file__).resolve().parents[2] / 'var')!r}).exists()\n\n"
        "def test_write_outside():\n"
        "    try:\n"
        f"        pathlib.Path({str(outside)!r}).write_text('escaped')\n"
        "    except FileNotFoundError:\n"
        "        pass\n"
        f"    pathlib.Path({str(venv_file)!r}).write_text('escaped')\n"
    )
    ws = _workspace(tmp_path, "full", {"app.py": "X = 1\n", "test_app.py": test})

    result = run_tests(ws)

    outcomes = {t.nodeid: t.outcome for t in result.tests}
    assert outcomes["test_app::test_env"] == "passed", result.output_tail
    assert outcomes["test_app::test_home"] == "passed", result.output_tail
    assert outcomes["test_app::test_write_outside"] == "failed"
    assert result.limit_hit == "filesystem"
    assert not outside.exists()
    assert "hunter2" not in result.output_tail
    assert not venv_file.exists()


JS_TESTS = (
    "const test = require('node:test');\n"
    "const assert = require('node:assert');\n"
    "const { sub } = require('./app.js');\n"
    "test('subtracts', () => { assert.strictEqual(sub(5, 3), 2); });\n"
)
JS_FIX = (
    "--- a/app.js\n+++ b/app.js\n@@ -1 +1 @@\n"
    "-exports.sub = (a, b) => a + b;\n+exports.sub = (a, b) => a - b;\n"
)


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_reads_per_test_results_of_node_test(db: Any, tmp_path: Path, level: str) -> None:
    ws = _workspace(
        tmp_path,
        level,
        {"app.js": "exports.sub = (a, b) => a + b;\n", "app.test.js": JS_TESTS},
        test_command="node --test",
        languages=["javascript"],
    )

    result = run_tests(ws, diff=JS_FIX)

    assert result.ok, (result.detail, result.output_tail)
    assert result.fixed == ["test::subtracts"]
    assert [(t.nodeid, t.outcome) for t in result.tests] == [("test::subtracts", "passed")]


PHP_APP = "<?php\nfunction sub($a, $b) { return $a + $b; }\n"
PHP_TESTS = (
    "<?php\nuse PHPUnit\\Framework\\TestCase;\n\nrequire_once __DIR__ . '/../app.php';\n\n"
    "final class CalcTest extends TestCase {\n"
    "    public function testSubtracts(): void { $this->assertSame(2, sub(5, 3)); }\n"
    "    public function testZero(): void { $this->assertSame(0, sub(0, 0)); }\n"
    "}\n"
)
PHP_FIX = (
    "--- a/app.php\n+++ b/app.php\n@@ -1,2 +1,2 @@\n <?php\n"
    "-function sub($a, $b) { return $a + $b; }\n+function sub($a, $b) { return $a - $b; }\n"
)


@pytest.mark.skipif(shutil.which("phpunit") is None, reason="phpunit is not installed")
@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_reads_per_test_results_of_phpunit(db: Any, tmp_path: Path, level: str) -> None:
    ws = _workspace(
        tmp_path,
        level,
        {"app.php": PHP_APP, "tests/CalcTest.php": PHP_TESTS},
        test_command="phpunit tests",
        languages=["php"],
    )

    result = run_tests(ws, diff=PHP_FIX)

    assert result.ok, (result.detail, result.output_tail)
    assert result.fixed == ["CalcTest::testSubtracts"]
    assert sorted((t.nodeid, t.outcome) for t in result.tests) == [
        ("CalcTest::testSubtracts", "passed"),
        ("CalcTest::testZero", "passed"),
    ]


@pytest.mark.parametrize("level", [pytest.param("full", marks=needs_bwrap), "partial"])
def test_it_runs_only_the_named_tests(db: Any, tmp_path: Path, level: str) -> None:
    ws = _workspace(tmp_path, level)
    result = run_tests(ws, test_ids=["test_app.py::test_add"])
    assert [(t.nodeid, t.outcome) for t in result.tests] == [("test_app::test_add", "passed")]
    assert result.ok


def test_it_keeps_the_workers_environment_from_partial_isolation(
    db: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SELFHEAL_TEST_SECRET", "hunter2-secret")
    test = (
        "import os, pathlib\n\n"
        "def test_env():\n"
        "    assert 'SELFHEAL_TEST_SECRET' not in os.environ\n"
        "    for p in pathlib.Path('/proc').glob('[0-9]*/environ'):\n"
        "        try:\n"
        "            assert b'hunter2' not in p.read_bytes()\n"
        "        except PermissionError:\n"
        "            pass\n"
    )
    ws = _workspace(tmp_path, "partial", {"app.py": "X = 1\n", "test_app.py": test})
    result = run_tests(ws)
    assert [(t.nodeid, t.outcome) for t in result.tests] == [("test_app::test_env", "passed")], (
        result.output_tail
    )


@pytest.mark.parametrize("autoload", [False, True])
def test_it_keeps_selfheals_own_pytest_plugins_out_unless_told(
    db: Any, tmp_path: Path, autoload: bool
) -> None:
    from healing.actions import do_change_setting

    # pytest-django is installed beside Selfheal; a workspace's run must not get it by default.
    test = (
        "import sys\n\n"
        "def test_plugins():\n"
        f"    assert ('pytest_django.plugin' in sys.modules) is {autoload}\n"
    )
    ws = _workspace(tmp_path, "partial", {"app.py": "X = 1\n", "test_app.py": test})
    do_change_setting(None, "sandbox.pytest_plugin_autoload", autoload)
    result = run_tests(ws)
    assert [(t.nodeid, t.outcome) for t in result.tests] == [
        ("test_app::test_plugins", "passed")
    ], result.output_tail
