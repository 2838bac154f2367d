"""Self-debugging starts no process and imports no module of its own that could run workspace code:
what runs the workspace's code is the sandbox. The few subprocesses left only read or patch text."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "selfdebug"

# Module → why it may start a process. None of them runs the workspace's code.
MAY_START_PROCESSES = {
    "bugs.py": "bandit reads the sources (static analysis)",
    "corpus.py": "git init/commit of a corpus program",
    "generators.py": "git apply --check of a model's diff",
    "fixes/base.py": "git apply --check, node --check (parses only)",
}
RUNS_CODE = {"subprocess", "runpy", "multiprocessing", "concurrent.futures", "pty", "os.exec"}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _calls(tree: ast.AST) -> set[str]:
    return {
        ast.unparse(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
    }


# Parsing a test report is the sandbox's work (healing.sandbox.reports): self-debugging reads the
# sandbox's TestOutcome, it has no report parser of its own.
PARSES_REPORTS = {"xml", "xml.etree.ElementTree", "xml.dom.minidom", "defusedxml", "junitparser"}


def _sources() -> list[Path]:
    found = sorted(PACKAGE.rglob("*.py"))
    assert len(found) > 20, f"no self-debugging sources under {PACKAGE}"
    return found


def test_it_leaves_reading_test_reports_to_the_sandbox() -> None:
    offenders = {}
    for path in _sources():
        found = {
            name
            for name in _imports(ast.parse(path.read_text()))
            if name in PARSES_REPORTS or name.startswith(("xml.", "defusedxml."))
        }
        if found:
            offenders[str(path.relative_to(PACKAGE))] = sorted(found)
    assert offenders == {}


def test_it_leaves_running_workspace_code_to_the_sandbox() -> None:
    offenders = {}
    for path in _sources():
        rel = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(), rel)
        found = _imports(tree) & RUNS_CODE
        calls = _calls(tree)
        found |= {c for c in calls if c in {"exec", "eval", "os.system", "os.popen"}}
        found |= {c for c in calls if c.startswith(("os.exec", "os.spawn", "os.fork"))}
        if "importlib.import_module" in calls and rel != "fixes/python.py":
            found.add("importlib.import_module")
        if found and not (found <= {"subprocess"} and rel in MAY_START_PROCESSES):
            offenders[rel] = sorted(found)
    assert offenders == {}


def test_it_imports_only_standard_library_modules_by_name() -> None:
    # The one import_module left names a module of Python's standard library (a template's
    # candidates for a near-miss attribute), never a module of the workspace.
    source = (PACKAGE / "fixes" / "python.py").read_text()
    [call] = [line for line in source.splitlines() if "import_module(" in line]
    guard = source[: source.index(call)].rsplit("elif", 1)[-1]
    assert "sys.stdlib_module_names" in guard
