"""Every write to a model goes through a named action: a call that saves, updates, creates or
deletes rows appears only in an `actions` module (actions.py, or a module of an actions/
package), in the core's transition machinery, or on the short allowlist below with its reason.

Read from the source (the syntax tree), so a `.save()` added to a view fails here before review.
The receiver's type is not known to a syntax tree; the checker counts a call as a model write when
its name is one only Django models have (save, get_or_create, bulk_create…), or when it is
create/update/delete on a manager or queryset (`X.objects…`, a queryset method, a name assigned
from one) or a bare `.delete()` (a model instance's). dict.update, cache.delete(key) and the
like are not model writes and are not counted."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("healing", "monitoring", "approvals", "selfdebug")

SKIPPED_PACKAGES: set[str] = set()

ALWAYS = {"save", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
ON_QUERYSETS = {"create", "update", "delete"}
QUERYSET_METHODS = {
    "objects",
    "all",
    "filter",
    "exclude",
    "select_related",
    "prefetch_related",
    "select_for_update",
    "order_by",
    "only",
    "defer",
    "distinct",
    "annotate",
    "using",
}

# The transition machinery of the core: each module is the inside of named actions (it runs in
# their transaction, under their row locks, and records their audit events), not a caller of them.
MACHINERY = {
    "healing/breakers/dual.py": "the workspace breaker's state machine (check/record/force/reset)",
    "healing/breakers/engine_breaker.py": "the engine breaker's state machine (check/record/force/reset)",
    "healing/breakers/ratelimit.py": "the rate limit's slot reservations, taken by the pre-flight",
    "healing/breakers/outcomes.py": "the outcome counters the breakers' record() keeps",
    "healing/apply/landing.py": "the apply journal's crash-safe steps, inside do_apply/do_rollback",
    "healing/apply/lock.py": "the workspace lock row, taken and released by the apply actions",
    "healing/apply/backups.py": "the backup rows of do_apply and the prune of old ones",
    "healing/cascades.py": "do_link_patch/do_record_followup_error, with the analysis they need",
    "healing/scoring/learning.py": "do_refit_*/do_adapt_thresholds, with the maths they need",
}

# (module, enclosing function) -> why a write outside the actions is right there.
ALLOWED = {
    ("healing/models/breaker.py", "for_source"): "an engine's breaker row, made on first use",
    ("healing/models/run_state.py", "current"): "the singleton row, made on first use",
    ("monitoring/models/loop.py", "current"): "the singleton row, made on first use",
    ("healing/management/commands/ensure_admin.py", "handle"): "a deploy command, not a request",
    ("monitoring/management/commands/seed_demo_telemetry.py", "handle"): "demo data command",
    ("healing/sandbox/__init__.py", "store_run"): "the sandbox run's own result row, once",
    ("healing/remote/modes.py", "after_push"): "the forge's PR on the landing row, in do_apply",
}


@dataclass(frozen=True)
class Write:
    module: str  # path relative to the repository
    function: str  # the enclosing function ("" at module level)
    line: int
    call: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} in {self.function or '<module>'}: {self.call}"


def _chain(node: ast.expr) -> list[ast.expr]:
    """The receiver and everything it is built from: a.b(...).c → [a.b(...).c, a.b(...), a.b, a]."""
    out = [node]
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return out
        out.append(node)


def _is_queryset(node: ast.expr, querysets: set[str]) -> bool:
    for part in _chain(node):
        if isinstance(part, ast.Attribute) and part.attr in QUERYSET_METHODS:
            return True
        if isinstance(part, ast.Name) and part.id in querysets:
            return True
    return False


def _is_super_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


class _Finder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.function = ""
        self.querysets: set[str] = set()
        self.writes: list[Write] = []

    def _enter(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        saved = self.function, self.querysets
        self.function, self.querysets = node.name, set()
        self.generic_visit(node)
        self.function, self.querysets = saved

    visit_FunctionDef = _enter
    visit_AsyncFunctionDef = _enter

    def visit_Assign(self, node: ast.Assign) -> None:
        if _is_queryset(node.value, self.querysets):
            self.querysets |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and not _is_super_call(func.value):
            name = func.attr
            if (
                name in ALWAYS
                or (name in ON_QUERYSETS and _is_queryset(func.value, self.querysets))
                or (name == "delete" and not node.args and not node.keywords)
            ):
                self.writes.append(
                    Write(self.module, self.function, node.lineno, ast.unparse(func)[:80])
                )
        self.generic_visit(node)


def writes_in(source: str, module: str) -> list[Write]:
    finder = _Finder(module)
    finder.visit(ast.parse(source))
    return finder.writes


def is_action_module(module: str) -> bool:
    parts = Path(module).parts
    return parts[-1] == "actions.py" or "actions" in parts[:-1] or module in MACHINERY


def source_files() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            parts = path.relative_to(ROOT).parts
            if "migrations" in parts or "tests" in parts:
                continue
            if any(module.startswith(f"{skipped}/") for skipped in SKIPPED_PACKAGES):
                continue
            found.append(module)
    return found


def stray_writes() -> list[Write]:
    return [
        write
        for module in source_files()
        if not is_action_module(module)
        for write in writes_in((ROOT / module).read_text(), module)
        if (write.module, write.function) not in ALLOWED
    ]


def test_it_finds_no_model_write_outside_the_actions() -> None:
    assert [str(w) for w in stray_writes()] == [], "write through a named action (do_*)"


def test_it_keeps_the_allowlist_to_writes_that_still_exist() -> None:
    """An entry whose write moved into an action goes too, so the list stays short and true."""
    found = {
        (w.module, w.function)
        for module in source_files()
        for w in writes_in((ROOT / module).read_text(), module)
    }
    assert sorted(set(ALLOWED) - found) == []
    assert sorted(m for m in MACHINERY if not (ROOT / m).exists()) == []


VIEW = """
from django.shortcuts import redirect
from healing.models import Modification, Workspace

def pause(request, pk):
    mod = Modification.objects.get(pk=pk)
    mod.note = request.POST["note"]
    mod.save(update_fields=["note"])
    Workspace.objects.filter(pk=mod.workspace_id).update(paused=True)
    stale = Modification.objects.filter(status="received")
    stale.update(status="cancelled")
    Modification.objects.create(patch_id="x")
    mod.delete()
    return redirect("/")
"""

NOT_WRITES = """
def build(env, cache, key, request, form):
    env.update({"A": "1"})
    cache.delete(key)
    context = {}
    context.update(request=request)
    super().save()
"""


def test_it_catches_each_kind_of_write_in_a_view() -> None:
    found = [(w.function, w.line) for w in writes_in(VIEW, "healing/views.py")]
    assert found == [("pause", 8), ("pause", 9), ("pause", 11), ("pause", 12), ("pause", 13)]


def test_it_does_not_count_dicts_caches_or_a_models_own_save() -> None:
    assert writes_in(NOT_WRITES, "healing/views.py") == []


def test_it_counts_actions_modules_and_the_machinery_as_the_action_layer() -> None:
    assert is_action_module("healing/intake/actions.py")
    assert is_action_module("healing/actions/queue.py")
    assert is_action_module("healing/breakers/dual.py")
    assert not is_action_module("healing/views.py")
    assert not is_action_module("healing/transactions.py")
