"""Fix templates produce real, validated unified diffs — and never an invalid one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfdebug.fixes import TEMPLATES, FixContext, syntax_ok
from selfdebug.patterns import TestFailureAnalyzer, seed_patterns
from tests.diag_helpers import failure, repo_with

CASES = [
    # (template, files, message, path, line, expected text in the patched file)
    (
        "python.name_close_match",
        {"m.py": "def f(total):\n    return totl\n"},
        "NameError: name 'totl' is not defined",
        "m.py",
        2,
        "return total\n",
    ),
    (
        "python.name_close_match",
        {"m.py": "def f(x):\n    return math.sqrt(x)\n"},
        "NameError: name 'math' is not defined",
        "m.py",
        2,
        "import math\n",
    ),
    (
        "python.attribute_near_miss",
        {
            "m.py": "class C:\n    def __init__(self):\n        self.items = []\n\n    def n(self):\n        return len(self.itmes)\n"
        },
        "AttributeError: 'C' object has no attribute 'itmes'",
        "m.py",
        6,
        "len(self.items)",
    ),
    (
        "python.attribute_near_miss",
        {"m.py": "def f(s):\n    return s.uper()\n"},
        "AttributeError: 'str' object has no attribute 'uper'",
        "m.py",
        2,
        "s.upper()",
    ),
    (
        "python.missing_colon",
        {"m.py": "def f(x)\n    return x\n"},
        "SyntaxError: expected ':'",
        "m.py",
        1,
        "def f(x):\n",
    ),
    (
        "python.bracket_balance",
        {"m.py": "def f(a, b):\n    return max(a, min(b, 3)\n"},
        "SyntaxError: '(' was never closed",
        "m.py",
        2,
        "max(a, min(b, 3))",
    ),
    (
        "python.indentation",
        {"m.py": "def f():\n    x = 1\n        return x\n"},
        "IndentationError: unexpected indent",
        "m.py",
        3,
        "    x = 1\n    return x\n",
    ),
    (
        "python.indentation",
        {"m.py": "def f():\nreturn 1\n"},
        "IndentationError: expected an indented block after function definition on line 1",
        "m.py",
        2,
        "    return 1",
    ),
    (
        "python.key_error_get",
        {"m.py": "def f(d):\n    return d['k']\n"},
        "KeyError: 'k'",
        "m.py",
        2,
        "d.get('k')",
    ),
    (
        "python.zero_division_guard",
        {"m.py": "def f(xs):\n    return sum(xs) / len(xs)\n"},
        "ZeroDivisionError: division by zero",
        "m.py",
        2,
        "(sum(xs) / len(xs) if len(xs) else 0)",
    ),
    (
        "python.unbound_local",
        {"m.py": "n = 0\n\n\ndef f():\n    n += 1\n    return n\n"},
        "UnboundLocalError: cannot access local variable 'n' where it is not associated with a value",
        "m.py",
        5,
        "    global n\n    n += 1",
    ),
    (
        "python.index_off_by_one",
        {
            "m.py": "def f(xs):\n    out = []\n    for i in range(len(xs) + 1):\n        out.append(xs[i])\n    return out\n"
        },
        "IndexError: list index out of range",
        "m.py",
        4,
        "range(len(xs))",
    ),
    (
        "python.float_approx",
        {"test_m.py": "def test_f():\n    assert 0.1 + 0.2 == 0.3\n"},
        "AssertionError: assert 0.30000000000000004 == 0.3",
        "test_m.py",
        2,
        "== pytest.approx(0.3)",
    ),
    (
        "python.remove_unused_import",
        {"m.py": "import os, sys\n\nprint(sys.argv)\n"},
        "'os' imported but unused",
        "m.py",
        1,
        "import sys\n",
    ),
    (
        "python.bare_except",
        {"m.py": "try:\n    pass\nexcept:\n    pass\n"},
        "bare except",
        "m.py",
        3,
        "except Exception:",
    ),
    (
        "python.method_missing_self",
        {"m.py": "class C:\n    def f(x):\n        return x\n"},
        "TypeError: C.f() takes 1 positional argument but 2 were given",
        "m.py",
        2,
        "def f(self, x):",
    ),
    (
        "python.missing_return",
        {"m.py": "def f(x):\n    y = x * 2\n"},
        "AssertionError: assert None == 4\n +  where None = f(2)",
        "m.py",
        2,
        "    y = x * 2\n    return y\n",
    ),
    (
        "javascript.reference_close_match",
        {"m.js": "function f(total) {\n  return totl;\n}\n"},
        "ReferenceError: totl is not defined",
        "m.js",
        2,
        "return total;",
    ),
    (
        "javascript.method_near_miss",
        {"m.js": "function f(xs) {\n  return xs.fliter((x) => x);\n}\n"},
        "TypeError: xs.fliter is not a function",
        "m.js",
        2,
        "xs.filter(",
    ),
    (
        "javascript.const_to_let",
        {"m.js": "function f() {\n  const n = 0;\n  n += 1;\n  return n;\n}\n"},
        "TypeError: Assignment to constant variable.",
        "m.js",
        3,
        "let n = 0;",
    ),
    (
        "javascript.optional_chaining",
        {"m.js": "function f(u) {\n  return u.address.city;\n}\n"},
        "TypeError: Cannot read properties of undefined (reading 'city')",
        "m.js",
        2,
        "u.address?.city",
    ),
]

GROUPS = {
    "python.method_missing_self": lambda m: {"cls": "C", "func": "f", "n": "1", "m": "2"},
    "python.missing_return": lambda m: {"func": "f"},
    "python.name_close_match": lambda m: {"name": m.split("'")[1]},
    "python.attribute_near_miss": lambda m: {"owner": m.split("'")[1], "attr": m.split("'")[3]},
    "python.key_error_get": lambda m: {"key": m.split(": ", 1)[1]},
    "python.unbound_local": lambda m: {"name": m.split("'")[1]},
    "python.remove_unused_import": lambda m: {"name": m.split("'")[1]},
    "javascript.reference_close_match": lambda m: {"name": m.split(": ")[1].split(" ")[0]},
    "javascript.method_near_miss": lambda m: {"method": m.split(".")[1].split(" ")[0]},
    "javascript.optional_chaining": lambda m: {"prop": m.split("'")[1]},
}


@pytest.mark.parametrize(
    ("template", "files", "message", "path", "line", "expected"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_it_proposes_a_diff_that_applies_and_parses(
    tmp_path: Path, template: str, files: dict, message: str, path: str, line: int, expected: str
) -> None:
    repo = repo_with(tmp_path / "repo", files)
    groups = GROUPS.get(template, lambda m: {})(message)
    ctx = FixContext(
        root=repo,
        case=failure(
            message, path, line, language="javascript" if path.endswith(".js") else "python"
        ),
        groups=groups,
        pattern="p",
    )
    fix = TEMPLATES[template].propose(ctx)
    assert fix is not None, template
    assert fix.diff.startswith(f"diff --git a/{path} b/{path}\n")
    # The diff is real: git applies it, and the file then holds the fix and still parses.
    subprocess.run(["git", "-C", str(repo), "apply", "-"], input=fix.diff, text=True, check=True)
    patched = (repo / path).read_text()
    assert expected in patched
    assert syntax_ok(path, patched)


def test_it_proposes_nothing_when_no_close_match_exists(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "repo", {"m.py": "def f():\n    return qwertyuiop\n"})
    ctx = FixContext(
        root=repo,
        case=failure("NameError: name 'qwertyuiop' is not defined", "m.py", 2),
        groups={"name": "qwertyuiop"},
    )
    assert TEMPLATES["python.name_close_match"].propose(ctx) is None


def test_it_refuses_a_fix_that_would_not_parse(tmp_path: Path) -> None:
    # Adding a colon cannot repair this line; the template must not propose the broken result.
    repo = repo_with(tmp_path / "repo", {"m.py": "def f(x)\n    return (x\n"})
    ctx = FixContext(root=repo, case=failure("SyntaxError: expected ':'", "m.py", 1))
    assert TEMPLATES["python.missing_colon"].propose(ctx) is None


def test_it_will_not_read_outside_the_tree(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "repo", {"m.py": "x = 1\n"})
    (tmp_path / "outside.py").write_text("def f(total):\n    return totl\n")
    ctx = FixContext(
        root=repo,
        case=failure("NameError: name 'totl' is not defined", "../outside.py", 2),
        groups={"name": "totl"},
    )
    assert TEMPLATES["python.name_close_match"].propose(ctx) is None


SOURCES = [
    "def f(a, b):\n    return a / b\n",
    "d = {}\n\n\ndef g(k):\n    x = d[k]\n    return x[0]\n",
    "class C:\n    def m(self):\n        return self.vlaue\n",
    "def h(xs)\n    for i in range(len(xs) + 1):\n        print(xs[i]\n",
    "n = 0\ndef k():\n  n += 1\n      return n\n",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.sampled_from(SOURCES),
    message=st.sampled_from(
        [
            "NameError: name 'x' is not defined",
            "KeyError: 'k'",
            "ZeroDivisionError: division by zero",
            "AttributeError: 'C' object has no attribute 'vlaue'",
            "SyntaxError: expected ':'",
            "SyntaxError: '(' was never closed",
            "IndentationError: unexpected indent",
            "IndexError: list index out of range",
            "UnboundLocalError: cannot access local variable 'n' where it is not associated with a value",
        ]
    )
    | st.text(max_size=60),
    line=st.integers(min_value=-2, max_value=9),
)
def test_it_never_proposes_a_patch_that_fails_validation(
    tmp_path_factory: pytest.TempPathFactory, source: str, message: str, line: int
) -> None:
    repo = repo_with(tmp_path_factory.mktemp("r") / "repo", {"m.py": source})
    analyzer = TestFailureAnalyzer(seed_patterns())
    case = failure(message, "m.py", line)
    for fix in analyzer.diagnose(case, repo).fixes:
        applied = subprocess.run(
            ["git", "-C", str(repo), "apply", "--check", "-"], input=fix.diff, text=True
        )
        assert applied.returncode == 0
        subprocess.run(
            ["git", "-C", str(repo), "apply", "-"], input=fix.diff, text=True, check=True
        )
        assert syntax_ok("m.py", (repo / "m.py").read_text())
        subprocess.run(["git", "-C", str(repo), "checkout", "--", "m.py"], check=True)
