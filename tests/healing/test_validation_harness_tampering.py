"""The test runner's report is written as the run ends, by the same process the patched code runs
in: code that ends the process itself (after writing a report of its own) or runs after the
tests can forge a passing verdict that no check of the exit status sees. Such a patch is never
applied without a person: the danger stage finds every spelling at high, so the policy holds it
at HIGH_RISK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from healing.validation.base import severity_rank
from tests import factories
from tests.healing.test_validation_danger_evasions import new_file

pytestmark = pytest.mark.django_db

FORGE = "open('reports/junit.xml', 'w').write('<testsuite/>')\n"
CASES = {
    "x_exit.py": f"import os\n{FORGE}os._exit(0)\n",
    "x_exit_alias.py": f"from os import _exit as bye\n{FORGE}bye(0)\n",
    "x_abort.py": "import os\nos.abort()\n",
    "x_atexit.py": f"import atexit, os\natexit.register(lambda: ({FORGE.strip()}, os._exit(0)))\n",
    "x_atexit_from.py": "from atexit import register\nregister(print)\n",
    "x_settrace.py": "import sys\nsys.settrace(lambda *a: None)\n",
    "x_exit.js": 'require("fs").writeFileSync("r.xml", "<testsuites/>");\nprocess.exit(0);\n',
    "x_really_exit.js": "process.reallyExit(0);\n",
    "x_kill.js": 'process.kill(process.pid, "SIGKILL");\n',
    "x_exit_alias.js": "const p = process;\np.exit(0);\n",
}


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "r", {"app.py": "x = 1\n"})
    return factories.make_workspace(repo, name="demo", languages=["python", "javascript"])


@pytest.mark.parametrize(("path", "text"), list(CASES.items()), ids=list(CASES))
def test_it_holds_code_that_could_forge_the_runners_report(ws: Any, path: str, text: str) -> None:
    report = run_pipeline(ValidationContext(workspace=ws, diff=new_file(path, text)))
    harness = [
        f
        for f in report.findings
        if f.rule.startswith("danger.") and severity_rank(f.severity) >= severity_rank("high")
    ]
    assert harness, [(f.rule, f.severity, f.message) for f in report.findings]
    assert report.ctx.risk_level in {"high", "critical"}
