"""The imports stage: the workspace's deny list holds whatever spelling brings the module in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from tests import factories

pytestmark = pytest.mark.django_db


def new_file(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "r", {"app.py": "import json\n"})
    return factories.make_workspace(
        repo,
        name="demo",
        import_denylist=["os", "pickle", "child_process"],
        languages=["python", "javascript"],
    )


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("a.py", "import os\n"),
        ("b.py", "from os import system\n"),
        ("c.py", 'm = __import__("os")\n'),
        ("d.py", 'import importlib\nm = importlib.import_module("pickle")\n'),
        ("e.py", "import posix\n"),
        ("f.py", "import _pickle\n"),
        ("g.py", "def f():\n    import os.path as p\n    return p\n"),
        ("h.py", "try:\n    import cPickle as pickle\nexcept ImportError:\n    pass\n"),
        ("i.js", 'const cp = require("child_process");\n'),
        ("j.js", 'import { exec } from "node:child_process";\n'),
        ("k.js", 'const m = await import("child_" + "process");\n'),
    ],
)
def test_it_refuses_a_denied_module_however_it_is_imported(ws: Any, path: str, text: str) -> None:
    report = run_pipeline(ValidationContext(workspace=ws, diff=new_file(path, text)))
    assert report.rejected
    assert "import.denied" in {f.rule for f in report.blocking}, [
        f.message for f in report.findings
    ]


def test_it_does_not_charge_a_patch_for_an_import_the_file_already_had(
    tmp_path: Path, db: Any
) -> None:
    repo = factories.make_git_repo(tmp_path / "o", {"m.py": "import os\n\nx = 1\n"})
    ws = factories.make_workspace(repo, name="demo", import_denylist=["os"])
    diff = "--- a/m.py\n+++ b/m.py\n@@ -3 +3 @@\n-x = 1\n+x = 2\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    assert not report.rejected, [f.message for f in report.findings]
