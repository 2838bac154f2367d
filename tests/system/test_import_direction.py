"""The apps depend in one direction: monitoring, the console (approvals) and self-debugging
(selfdebug) on healing, never the other way; monitoring not on the console; none of the three on
self-debugging, nor it on them. Read from the source, so an import inside a
function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.import_graph import APPS, Import, app_of, graph, imports_of, modules

# app -> the apps of ours it must never import
FORBIDDEN = {
    "healing": {"monitoring", "approvals", "selfdebug"},
    "monitoring": {"approvals", "selfdebug"},
    "approvals": {"selfdebug"},
    "selfdebug": {"monitoring", "approvals"},
}


def _forbidden(edges: list[Import]) -> list[str]:
    return [
        f"{e.importer} (line {e.line}{'' if e.top_level else ', inside a function'}) imports {e.target}"
        for e in edges
        if app_of(e.target) in FORBIDDEN.get(app_of(e.importer), set())
    ]


def _guarded(edges: list[Import]) -> list[str]:
    return [
        f"{e.importer} (line {e.line}) guards its import of {e.target} with except ImportError"
        for e in edges
        if e.guarded and app_of(e.target) in APPS
    ]


def _by_name(name: str, path: Path, known: set[str]) -> list[Import]:
    """A call given one of our module names as a string (importlib.import_module("monitoring..."),
    a helper that wraps it): the same import, hidden from the import statements."""
    return [
        Import(name, arg.value, node.lineno, top_level=True, guarded=False)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        for arg in node.args
        if isinstance(arg, ast.Constant) and arg.value in known
    ]


def test_it_finds_no_import_against_the_direction_of_the_apps() -> None:
    edges = graph()
    assert {e.importer.partition(".")[0] for e in edges} >= {
        "healing",
        "monitoring",
        "approvals",
        "selfdebug",
    }
    assert _forbidden(edges) == []


def test_it_finds_no_except_import_error_around_our_own_imports() -> None:
    assert _guarded(graph()) == []


def test_it_finds_no_import_by_name_against_the_direction_of_the_apps() -> None:
    known = modules()
    by_name = [e for name, path in known.items() for e in _by_name(name, path, set(known))]
    assert by_name, "the scan finds the by-name imports that are allowed (url includes)"
    assert _forbidden(by_name) == []


# The checks above must fail when the direction is broken: each of these modules breaks it once.
BAD = {
    "healing/late.py": "def f():\n    from monitoring.host_health import preflight_health\n",
    "healing/guarded.py": (
        "try:\n    import approvals.models\nexcept ImportError:\n    approvals = None\n"
    ),
    "monitoring/console.py": "from approvals import panels\n",
    "healing/coverage.py": "from selfdebug.coverage import latest_coverage\n",
    "healing/by_name.py": "import importlib\nimportlib.import_module('monitoring.host_health')\n",
}


def test_it_catches_each_kind_of_forbidden_import(tmp_path: Path) -> None:
    known = {**modules(), "healing.late": tmp_path, "monitoring.console": tmp_path}
    edges: list[Import] = []
    for relative, source in BAD.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        name = relative.removesuffix(".py").replace("/", ".")
        edges.extend(imports_of(name, path, known))
    assert len(_forbidden(edges)) == 4  # late, guarded, console, coverage
    assert _guarded(edges) == [
        "healing.guarded (line 2) guards its import of approvals.models with except ImportError"
    ]
    hidden = _by_name("healing.by_name", tmp_path / "healing/by_name.py", set(known))
    assert _forbidden(hidden) == ["healing.by_name (line 2) imports monitoring.host_health"]
