"""The danger stage on the spellings an attacker uses to reach a shell, eval or a process: every
one of them is a finding at high or above (never SAFE), whatever alias, string trick or dynamic
lookup hides the name. Each case is a whole new file, judged as git writes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healing.validation import ValidationContext, run_pipeline
from healing.validation.base import severity_rank
from tests import factories

pytestmark = pytest.mark.django_db

PYTHON = {
    "alias": 'import os as o\no.system("id")\n',
    "from-import-alias": 'from os import system as s\ns("id")\n',
    "getattr-concat": 'import os\ngetattr(os, "sys" + "tem")("id")\n',
    "getattr-fstring": "import os\ngetattr(os, f\"{'sys'}tem\")('id')\n",
    "getattr-runtime": "import os\nname = input()\ngetattr(os, name)('id')\n",
    "dunder-import": '__import__("os").system("id")\n',
    "dunder-import-bound": 'o = __import__("o" "s")\no.system("id")\n',
    "importlib-literal": 'import importlib\nimportlib.import_module("os").system("id")\n',
    "importlib-runtime": "import importlib\nm = importlib.import_module(input())\n",
    "eval": 'eval("1")\n',
    "exec": 'exec("x = 1")\n',
    "compile": 'compile("1", "f", "eval")\n',
    "builtins-eval": 'import builtins\nbuiltins.eval("1")\n',
    "builtins-dict": '__builtins__.__dict__["eval"]("1")\n',
    "globals-subscript": 'globals()["__builtins__"]\n',
    "globals-runtime": "n = input()\nglobals()[n]()\n",
    "subprocess-alias": 'import subprocess as sp\nsp.Popen(["id"])\n',
    "subprocess-from": 'from subprocess import run as r\nr("id", shell=True)\n',
    "pty": 'import pty\npty.spawn("/bin/sh")\n',
    "ctypes": 'import ctypes\nctypes.CDLL(None).system(b"id")\n',
    "posix": 'import posix\nposix.system("id")\n',
    "star-import": 'from os import *\nsystem("id")\n',
    "reference-assigned": 'import os\nf = os.system\nf("id")\n',
    "reference-mapped": 'import os\nlist(map(os.system, ["id"]))\n',
    "sys-modules": 'import sys\nsys.modules["os"].system("id")\n',
    "vars-module": 'import os\nvars(os)["system"]("id")\n',
    "module-dict": 'import os\nos.__dict__["system"]("id")\n',
    "os-path-os": 'import os.path\nos.path.os.system("id")\n',
    "execv": 'import os\nos.execv("/bin/sh", ["sh"])\n',
    "spawn": 'import os\nos.spawnlp(os.P_WAIT, "id", "id")\n',
    "posix-spawn": 'import os\nos.posix_spawn("/bin/id", ["id"], {})\n',
    "lambda-reference": "import os\nrun = lambda c: os.system(c)\n",
    "asyncio-shell": 'import asyncio\nasyncio.create_subprocess_shell("id")\n',
    "getattribute": 'import os\ntype(os).__getattribute__(os, "system")("id")\n',
    "subclasses": "().__class__.__bases__[0].__subclasses__()\n",
    "module-passed-on": 'import os\n\n\ndef f(m):\n    return m.system("id")\n\n\nf(os)\n',
    "nested-import": 'def f():\n    import os as q\n    q.system("id")\n',
    "module-as-argument": '(lambda o: o.system("id"))(__import__("os"))\n',
    "module-in-tuple": 'import os\na, b = os, 1\na.system("id")\n',
    "module-default-arg": 'import os\n\n\ndef f(o=os):\n    o.system("id")\n',
    "getattr-builtins": 'getattr(__builtins__, "ev" + "al")("1")\n',
    "import-module-alias": 'from importlib import import_module as im\nim("os").system("id")\n',
    "class-attribute": "import os\n\n\nclass A:\n    run = os.system\n",
    "list-of-callables": 'import os\nx = [os.system]\nx[0]("id")\n',
}

JAVASCRIPT = {
    "require-alias": 'const cp = require("child_process");\ncp.exec("id");\n',
    "destructured": 'const { exec: e } = require("child_process");\ne("id");\n',
    "import-named": 'import { execSync as x } from "child_process";\nx("id");\n',
    "import-namespace": 'import * as cp from "node:child_process";\ncp.spawn("id");\n',
    "require-concat": 'require("child_" + "process").exec("id");\n',
    "require-runtime": "const m = process.argv[2];\nrequire(m);\n",
    "dynamic-import": 'import("child_process").then((m) => m.exec("id"));\n',
    "eval": 'eval("1");\n',
    "new-function": 'new Function("return 1")();\n',
    "globalthis-concat": 'globalThis["ev" + "al"]("1");\n',
    "window-runtime": "const k = location.hash;\nwindow[k]('1');\n",
    "eval-reference": 'const e = eval;\ne("1");\n',
    "constructor": '(() => {}).constructor("return 1")();\n',
    "vm": 'const vm = require("vm");\nvm.runInThisContext("1");\n',
    "process-binding": 'process.binding("spawn_sync");\n',
    "module-require": 'module.require("child_process");\n',
    "set-interval-string": 'setInterval("steal()", 10);\n',
    "reflect-apply-eval": 'Reflect.apply(eval, null, ["1"]);\n',
    "main-module": 'process.mainModule.require("child_process");\n',
}

PHP = {
    "system": '<?php\nsystem("id");\n',
    "case": '<?php\nSyStEm("id");\n',
    "namespaced": '<?php\n\\system("id");\n',
    "variable-function": '<?php\n$f = "system";\n$f("id");\n',
    "concat-name": '<?php\n$f = "sys" . "tem";\n$f("id");\n',
    "call-user-func": '<?php\ncall_user_func("system", "id");\n',
    "array-map": '<?php\narray_map("exec", ["id"]);\n',
    "backticks": "<?php\necho `id`;\n",
    "eval": "<?php\neval($_GET['c']);\n",
    "assert-string": "<?php\nassert(\"system('id')\");\n",
    "shell-exec": '<?php\nshell_exec("id");\n',
    "passthru": '<?php\npassthru("id");\n',
    "proc-open": '<?php\nproc_open("id", [], $p);\n',
    "parenthesised-concat-call": '<?php\n$a = "sy";\n$b = "stem";\n($a . $b)("id");\n',
    "reflection": '<?php\n(new ReflectionFunction("system"))->invoke("id");\n',
    "create-function": '<?php\n$f = create_function("", $code);\n',
}

CASES = (
    [(f"x_{name}.py", text) for name, text in PYTHON.items()]
    + [(f"x_{name}.js", text) for name, text in JAVASCRIPT.items()]
    + [(f"x_{name}.php", text) for name, text in PHP.items()]
)


def new_file(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


@pytest.fixture
def ws(tmp_path: Path, db: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "r", {"app.py": "x = 1\n"})
    return factories.make_workspace(repo, name="demo", languages=["python", "javascript", "php"])


@pytest.mark.parametrize(("path", "text"), CASES, ids=[c[0] for c in CASES])
def test_it_finds_every_spelling_of_running_code(ws: Any, path: str, text: str) -> None:
    report = run_pipeline(ValidationContext(workspace=ws, diff=new_file(path, text)))
    danger = [
        f
        for f in report.findings
        if f.rule.startswith("danger.") and severity_rank(f.severity) >= severity_rank("high")
    ]
    assert danger, [(f.rule, f.severity, f.message) for f in report.findings]
    assert report.ctx.risk_level in {"high", "critical"}


def test_it_refuses_a_name_computed_at_run_time_on_a_dangerous_module(ws: Any) -> None:
    text = "import os\nname = input()\ngetattr(os, name)('id')\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=new_file("g.py", text)))
    assert report.rejected and "danger.obfuscated" in {f.rule for f in report.blocking}


def test_it_finds_a_call_moved_from_dead_code_into_a_new_caller(tmp_path: Path, db: Any) -> None:
    # The call's line is unchanged; a new alias of it elsewhere is still a new reference.
    files = {"m.py": "import os\n\n\ndef never():\n    return os.system\n"}
    repo = factories.make_git_repo(tmp_path / "m", files)
    ws = factories.make_workspace(repo, name="demo")
    diff = "--- a/m.py\n+++ b/m.py\n@@ -5 +5,3 @@\n     return os.system\n+\n+runner = never()\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    assert not report.rejected
    diff2 = "--- a/m.py\n+++ b/m.py\n@@ -5 +5,3 @@\n     return os.system\n+\n+go = os.system\n"
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff2))
    assert "danger.os_system" in {f.rule for f in report.findings}


@pytest.mark.parametrize(
    "text",
    [
        'import os as o\n\n\ndef add(a, b):\n    o.system("id")\n    return a + b\n',
        'import os\n\n\ndef add(a, b):\n    getattr(os, "sys" + "tem")("id")\n    return a + b\n',
        'def add(a, b):\n    __import__("o" + "s").system("id")\n    return a + b\n',
    ],
    ids=["alias", "getattr-concat", "dunder-import-concat"],
)
def test_it_never_lets_a_shell_call_through_at_safe(
    api_as: Any, agent: Any, tmp_path: Path, text: str
) -> None:
    from healing.intake.tasks import process_modification
    from tests.intake_helpers import envelope

    repo = factories.make_git_repo(tmp_path / "e", {"app.py": "def add(a, b):\n    return a + b\n"})
    factories.make_workspace(repo, name="demo")
    old = "def add(a, b):\n    return a + b\n".splitlines()
    new = text.splitlines()
    diff = (
        f"diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,{len(old)} +1,{len(new)} @@\n"
        + "".join(f"-{line}\n" for line in old)
        + "".join(f"+{line}\n" for line in new)
    )
    response = api_as(agent).post("/api/v1/patches/", envelope(diff), format="json")
    assert response.status_code == 201, response.json()
    status = process_modification.run(response.json()["id"])
    detail = api_as(agent).get(response.json()["url"]).json()
    rules = {f["rule"] for f in detail["findings"]}
    assert "danger.os_system" in rules, detail["findings"]
    assert status == "rejected" or detail["safety_level"] in {"HIGH_RISK", "CRITICAL"}, (
        status,
        detail["safety_level"],
    )
