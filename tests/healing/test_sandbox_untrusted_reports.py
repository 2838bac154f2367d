"""Attacks on what a sandboxed run leaves behind: the worker reads none of it blindly.

Each patch adds a test that, once pytest has written its JUnit report (an atexit hook, after the
report), puts something else in its place: a link to a host file, a FIFO, a huge sparse file.
The worker must refuse it as a finding against the patch: no hang, no crash, no host file read,
and never a pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.sandbox import run_tests
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.sandbox_helpers import new_file_diff

needs_bwrap = pytest.mark.skipif(not bubblewrap_works()[0], reason="bubblewrap does not work here")
LEVELS = [pytest.param("full", marks=needs_bwrap), "partial", "none"]
FILES = {"app.py": "X = 1\n", "test_app.py": "def test_ok():\n    pass\n"}

# Runs in the test process after pytest wrote its report: swaps the report for `{action}`.
SWAP = """import atexit, os, re


def _swap():
    report = re.search(r"--junitxml=(\\S+)", os.environ["PYTEST_ADDOPTS"]).group(1)
    os.unlink(report)
    {action}


atexit.register(_swap)


def test_innocent():
    pass
"""
# A report on the host that names a test the sandbox never ran: read, it would leak into results.
HOST_REPORT = '<testsuite><testcase classname="host" name="LEAKED_FROM_THE_HOST"/></testsuite>\n'


def _actions(tmp_path: Path) -> dict[str, str]:
    host_file = tmp_path / "host-report.xml"
    host_file.write_text(HOST_REPORT)
    return {
        "symlink_to_shadow": "os.symlink('/etc/shadow', report)",
        "symlink_to_host_file": f"os.symlink({str(host_file)!r}, report)",
        "symlink_to_dev_zero": "os.symlink('/dev/zero', report)",
        "fifo": "os.mkfifo(report)",
        "sparse_2gb": "f = open(report, 'wb'); f.truncate(2 * 1024 ** 3); f.close()",
        "hard_link_to_host_file": f"os.link({str(host_file)!r}, report)",
    }


@pytest.mark.timeout(90)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "attack",
    [
        "symlink_to_shadow",
        "symlink_to_host_file",
        "symlink_to_dev_zero",
        "fifo",
        "sparse_2gb",
        "hard_link_to_host_file",
    ],
)
def test_it_refuses_a_report_replaced_by_the_tests(
    db: Any, tmp_path: Path, level: str, attack: str
) -> None:
    action = _actions(tmp_path)[attack]
    if attack == "hard_link_to_host_file" and level != "none":
        pytest.skip("the host file is out of the sandbox's sight: nothing to link to")
    repo = factories.make_git_repo(tmp_path / "repo", FILES)
    ws = factories.make_workspace(
        repo, isolation_level=level, policy_overrides={"sandbox.max_file_mb": 4096}
    )

    result = run_tests(ws, diff=new_file_diff("test_swap.py", SWAP.replace("{action}", action)))

    assert not result.ok, (result.detail, result.output_tail[-2000:])
    findings = result.detail.get("findings", [])
    assert any(f.startswith("untrusted test report") for f in findings), findings
    assert "LEAKED_FROM_THE_HOST" not in str(result.as_json())


def test_it_refuses_a_reports_directory_replaced_by_a_link(db: Any, tmp_path: Path) -> None:
    """The directory itself, swapped for a link to a host directory holding a forged report."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "junit.xml").write_text(HOST_REPORT)
    action = (
        "d = os.path.dirname(report)\n"
        "    os.rename(d, d + '.old')\n"
        f"    os.symlink({str(elsewhere)!r}, d)"
    )
    repo = factories.make_git_repo(tmp_path / "repo", FILES)
    ws = factories.make_workspace(repo, isolation_level="none")

    result = run_tests(ws, diff=new_file_diff("test_swap.py", SWAP.replace("{action}", action)))

    assert not result.ok
    assert any("untrusted" in f for f in result.detail.get("findings", [])), result.detail
    assert "LEAKED_FROM_THE_HOST" not in str(result.as_json())


COVERED_FIX = """--- a/app.py
+++ b/app.py
@@ -1 +1,2 @@
 X = 1
+Y = 2
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("level", ["partial", "none"])
def test_it_refuses_coverage_data_replaced_by_a_fifo(db: Any, tmp_path: Path, level: str) -> None:
    """The coverage data file is the tests' to write too: a FIFO there must not hang the worker."""
    swap = (
        "import atexit, gc, os\nimport coverage\n\n\n"
        "def _swap():\n"
        "    cov = next(o for o in gc.get_objects() if isinstance(o, coverage.Coverage))\n"
        "    cov.stop()\n"
        "    cov.save()\n"
        "    cov._auto_save = False\n"
        "    data = cov.get_data().data_filename()\n"
        "    os.unlink(data)\n"
        "    os.mkfifo(data)\n\n\n"
        "atexit.register(_swap)\n\n\n"
        "def test_uses_app():\n"
        "    import app\n\n"
        "    assert app.Y == 2\n"
    )
    repo = factories.make_git_repo(tmp_path / "repo", FILES)
    ws = factories.make_workspace(repo, isolation_level=level)
    diff = COVERED_FIX + new_file_diff("test_swap.py", swap)

    result = run_tests(ws, diff=diff)

    findings = result.detail.get("findings", [])
    assert any(f.startswith("untrusted coverage data") for f in findings), (
        findings,
        result.output_tail[-2000:],
    )
    assert not result.ok


# Before coverage.py writes its JSON report, the tests put a link where it goes.
LINKED_JSON = """import os, sys


def test_links_the_coverage_report():
    junit = next(a for a in sys.argv if a.startswith("--junitxml=")).split("=", 1)[1]
    os.symlink("/nonexistent-selfheal/coverage.json", os.path.join(os.path.dirname(junit), "coverage.json"))
"""


@pytest.mark.timeout(90)
@pytest.mark.parametrize("level", ["partial", "none"])
def test_it_refuses_a_coverage_report_replaced_by_a_link(
    db: Any, tmp_path: Path, level: str
) -> None:
    from healing.sandbox import run_command

    repo = factories.make_git_repo(tmp_path / "repo", FILES)
    ws = factories.make_workspace(repo, isolation_level=level)
    argv = ["python", "-m", "pytest", "-q", "--junitxml={reports}/junit.xml", "test_link.py"]

    result = run_command(ws, argv, diff=new_file_diff("test_link.py", LINKED_JSON), coverage=True)

    findings = result.detail.get("findings", [])
    assert any(f.startswith("untrusted coverage data") for f in findings), (
        findings,
        result.output_tail[-2000:],
    )
    assert not result.ok
