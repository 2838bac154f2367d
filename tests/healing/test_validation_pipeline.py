"""The validation stages on real git repositories, one behaviour at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from healing.validation.diff import is_hostile_path
from tests import factories

pytestmark = pytest.mark.django_db


def run(workspace: Any, diff: str, **ctx: Any) -> Any:
    return run_pipeline(ValidationContext(workspace=workspace, diff=diff, **ctx))


def rules(report: Any) -> set[str]:
    return {f.rule for f in report.findings}


def new_file(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


@pytest.fixture
def repo_ws(tmp_path: Path, db: Any) -> Any:
    files = {
        "app.py": "import os\n\n\ndef run(cmd):\n    # never os.system(cmd) here\n    return cmd\n",
        "web/a.js": "function f(x) {\n  return x;\n}\n",
        "tests/test_app.py": "def test_a():\n    assert 1\n    assert 2\n",
    }
    return factories.make_workspace(factories.make_git_repo(tmp_path / "r", files), name="demo")


@pytest.mark.parametrize(
    ("path", "hostile"),
    [
        ("a/b.py", ""),
        ("../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a/../../x", "'..'"),
        ("C:\\x", "absolute"),
        ("a\\b", "backslash"),
        ("a\x01b", "control"),
    ],
)
def test_it_recognises_hostile_paths(path: str, hostile: str) -> None:
    assert (hostile in is_hostile_path(path)) if hostile else is_hostile_path(path) == ""


def test_it_reads_the_file_after_the_patch_from_what_git_wrote(repo_ws: Any) -> None:
    # The hunk says line 9 but the context is at line 5: git finds it, and so does validation.
    diff = "--- a/app.py\n+++ b/app.py\n@@ -9,3 +9,3 @@\n def run(cmd):\n-    # never os.system(cmd) here\n+    # fine\n     return cmd\n"
    report = run(repo_ws, diff)
    assert not report.rejected, [f.message for f in report.findings]
    (change,) = report.ctx.files
    assert change.after == "import os\n\n\ndef run(cmd):\n    # fine\n    return cmd\n"
    assert change.added == {5: "    # fine"}


def test_it_reports_syntax_errors_with_file_line_and_column(repo_ws: Any) -> None:
    cases = {
        "bad.py": ("def f(:\n    pass\n", 1),
        "bad.js": ("const a = 1;\nfunction (\n", 2),
        "bad.ts": ("let x: number = 1;\nlet y: = 2;\n", 2),
        "bad.php": ("<?php\n$a = ;\n", 2),
    }
    for path, (text, line) in cases.items():
        report = run(repo_ws, new_file(path, text))
        errors = [f for f in report.findings if f.rule == "syntax.error"]
        assert errors and errors[0].file == path and errors[0].line == line and errors[0].column, (
            path
        )
        assert report.rejected


def test_it_accepts_valid_code_in_the_four_languages(repo_ws: Any) -> None:
    for path, text in {
        "ok.py": "def f(x):\n    return x\n",
        "ok.js": "export const f = (x) => x ?? 0;\n",
        "ok.ts": "export function f(x: number): number { return x; }\n",
        "ok.tsx": "export const C = () => <div>hi</div>;\n",
        "ok.php": "<?php\nfunction f($x) { return $x; }\n",
    }.items():
        report = run(repo_ws, new_file(path, text))
        assert not report.rejected, (path, [f.message for f in report.findings])


def test_it_judges_only_added_code_not_comments_or_removed_lines(repo_ws: Any) -> None:
    removal = "--- a/app.py\n+++ b/app.py\n@@ -4,3 +4,2 @@\n def run(cmd):\n-    # never os.system(cmd) here\n     return cmd\n"
    assert not {"danger.os_system"} & rules(run(repo_ws, removal))
    comment = "--- a/app.py\n+++ b/app.py\n@@ -4,3 +4,4 @@\n def run(cmd):\n     # never os.system(cmd) here\n+    # and never eval(cmd) or rm -rf / either\n     return cmd\n"
    assert not rules(run(repo_ws, comment)) & {"danger.eval", "danger.rm_rf"}


def test_it_resolves_aliased_imports_of_dangerous_calls(repo_ws: Any) -> None:
    report = run(
        repo_ws,
        new_file(
            "x.py",
            "from os import system as s\nimport subprocess as sp\ns('ls')\nsp.run('ls', shell=True)\n",
        ),
    )
    assert {"danger.os_system", "danger.shell_true"} <= rules(report)


def test_it_finds_dangerous_calls_in_javascript_and_php(repo_ws: Any) -> None:
    js = run(repo_ws, new_file("y.js", "eval(userInput);\nfetch('https://example.invalid');\n"))
    assert {"danger.eval", "danger.network"} <= rules(js)
    php = run(repo_ws, new_file("y.php", "<?php\n$o = unserialize($_GET['x']);\necho `ls`;\n"))
    assert {"danger.deserialize", "danger.os_system"} <= rules(php)


def test_it_refuses_protected_and_disallowed_paths(repo_ws: Any) -> None:
    assert "path.protected" in rules(run(repo_ws, new_file(".env", "SECRET=1\n")))
    repo_ws.allowed_paths = ["src/**"]
    report = run(repo_ws, new_file("other/x.py", "x = 1\n"))
    assert "path.not_allowed" in rules(report) and report.rejected


def test_it_accepts_binary_hunks_only_where_the_workspace_allows_them(repo_ws: Any) -> None:
    diff = "diff --git a/logo.png b/logo.png\nindex 1111111..2222222 100644\nBinary files a/logo.png and b/logo.png differ\n"
    binary = [f for f in run(repo_ws, diff).findings if f.rule == "diff.binary"]
    assert binary[0].blocking
    repo_ws.allow_binary = True
    binary = [f for f in run(repo_ws, diff).findings if f.rule == "diff.binary"]
    assert not binary[0].blocking


def test_it_checks_imports_against_the_workspace_lists(repo_ws: Any) -> None:
    repo_ws.import_denylist = ["pickle"]
    repo_ws.import_allowlist = ["json", "os"]
    report = run(
        repo_ws,
        new_file(
            "z.py",
            "import json\nimport pickle\nimport yaml\nimport app\nfrom os.path import join\n",
        ),
    )
    found = {(f.rule, f.line) for f in report.findings if f.rule.startswith("import.")}
    assert found == {("import.denied", 2), ("import.not_allowed", 3)}
    assert report.rejected


def test_it_checks_against_head_not_a_dirty_work_tree(repo_ws: Any) -> None:
    (repo_ws.repo_path / "app.py").write_text("something else entirely\n")
    diff = "--- a/app.py\n+++ b/app.py\n@@ -6 +6 @@\n-    return cmd\n+    return cmd.strip()\n"
    report = run(repo_ws, diff)
    assert not report.rejected, [f.message for f in report.findings]
    change = report.ctx.files[0]
    assert change.after.endswith("    return cmd.strip()\n") and change.before.startswith(
        "import os"
    )


def test_it_refuses_a_diff_that_does_not_apply_to_head(repo_ws: Any) -> None:
    diff = "--- a/app.py\n+++ b/app.py\n@@ -6 +6 @@\n-    return nothing\n+    return cmd\n"
    report = run(repo_ws, diff)
    assert "diff.does_not_apply" in rules(report) and report.rejected


def test_it_files_gits_verdict_under_the_diff_stage_before_the_risk_is_assessed(
    repo_ws: Any,
) -> None:
    # git apply --check runs beside the later stages; its finding must still land in the diff
    # stage's result and count in the risk level (a clean diff would be "none").
    diff = "--- a/app.py\n+++ b/app.py\n@@ -6 +6 @@\n-    return nothing\n+    return cmd\n"
    report = run(repo_ws, diff)
    by_stage = {r.name: {f.rule for f in r.findings} for r in report.results}
    assert "diff.does_not_apply" in by_stage["diff"]
    assert report.ctx.risk_level == "low"
    assert not report.ctx.background


def test_it_finds_weakened_tests(repo_ws: Any) -> None:
    diff = "--- a/tests/test_app.py\n+++ b/tests/test_app.py\n@@ -1,3 +1,2 @@\n def test_a():\n     assert 1\n-    assert 2\n"
    assert "tests.assertions_removed" in rules(run(repo_ws, diff))


def test_it_rates_anomalies_with_the_tunable_limits(repo_ws: Any) -> None:
    many = "".join(new_file(f"m{i}.py", "x = 1\n") for i in range(6))
    report = run(repo_ws, many)
    assert "anomaly.many_files" in rules(report) and report.ctx.risk_level == "medium"
    repo_ws.policy_overrides = {"anomaly.max_files": 10}
    assert run(repo_ws, many).ctx.risk_level == "none"


def test_it_still_sees_a_dangerous_call_whose_name_is_on_an_unchanged_line(
    tmp_path: Path, db: Any
) -> None:
    files = {
        "m.py": "from os import system as run_it\n\n\ndef f(x):\n    return eval(\n        x\n    )\n"
    }
    ws = factories.make_workspace(factories.make_git_repo(tmp_path / "m", files), name="demo")
    args_only = "--- a/m.py\n+++ b/m.py\n@@ -5,3 +5,3 @@\n     return eval(\n-        x\n+        x + input()\n     )\n"
    assert "danger.eval" in rules(run(ws, args_only))
    aliased = (
        "--- a/m.py\n+++ b/m.py\n@@ -4,2 +4,3 @@\n def f(x):\n+    run_it(x)\n     return eval(\n"
    )
    assert "danger.os_system" in rules(run(ws, aliased))


@pytest.mark.parametrize(
    "diff",
    [
        "--- app.py\n+++ app.py\n@@ -6 +6 @@\n-    return cmd\n+    return cmd.strip()\n",
        "--- app.py.orig\t2026-01-01 10:00:00\n+++ app.py\t2026-01-01 10:05:00\n@@ -6 +6 @@\n-    return cmd\n+    return cmd.strip()\n",
    ],
    ids=["bare-paths", "diff-u-with-orig"],
)
def test_it_refuses_plain_diff_u_output_that_git_would_read_at_another_strip_level(
    repo_ws: Any, diff: str
) -> None:
    # The sandbox and the apply run git apply -p1: a bare path loses its first directory there.
    report = run(repo_ws, diff)
    assert report.rejected
    assert rules(report) & {"diff.ambiguous", "diff.does_not_apply"}


def test_it_checks_every_name_a_diff_gives_a_file(repo_ws: Any) -> None:
    diff = (
        "--- ../../etc/passwd\n+++ app.py\n@@ -6 +6 @@\n-    return cmd\n+    return cmd.strip()\n"
    )
    assert "path.escape" in rules(run(repo_ws, diff))
