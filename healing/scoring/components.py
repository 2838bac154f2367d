"""The measured components of a confidence score.

Each component returns a `Component`: the measured value (None when it cannot be measured), the
agent's claim, the value used (measured wins; else the claim; else a stated default) and where it
came from. Defaults are neutral (1.0) for history, pattern and complexity — a missing history is
never held against a patch — and 0.0 for coverage: untested lines are not assumed tested.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import unidiff
from django.db.models import Sum
from radon.complexity import cc_rank, cc_visit

from ..contrib import COVERAGE_SOURCES
from ..models import Modification, SuccessRate
from ..models.modification import ModificationStatus

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]")
KEPT_PATCHES = 200
# Radon's ranks (A: 1–5 … F: 41+) to a penalty factor.
RANK_PENALTY = {"A": 1.0, "B": 0.95, "C": 0.85, "D": 0.75, "E": 0.65, "F": 0.5}


@dataclass
class Component:
    used: float
    measured: float | None = None
    claimed: float | None = None
    source: str = ""
    detail: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def choose(
    measured: float | None,
    claimed: float | None,
    default: float,
    source: str,
    detail: dict | None = None,
) -> Component:
    if measured is not None:
        return Component(measured, measured, claimed, source, detail)
    if claimed is not None:
        return Component(claimed, None, claimed, "claimed (not measurable)", detail)
    return Component(
        default, None, None, f"default {default} (not measurable, nothing claimed)", detail
    )


def claims(modification: Modification) -> dict[str, float]:
    scoring = (modification.envelope or {}).get("confidence_scoring") or {}
    parts = scoring.get("confidence_components") or {}
    out: dict[str, float] = {}
    for key, name in (
        ("historical_success_rate", "historical_success"),
        ("pattern_similarity", "pattern_similarity"),
        ("code_complexity_penalty", "complexity_penalty"),
        ("test_coverage", "test_coverage"),
    ):
        value = parts.get(key)
        if isinstance(value, int | float) and 0.0 <= value <= 1.0:
            out[name] = float(value)
    for key in ("overall_confidence", "syntax_confidence", "logic_confidence"):
        value = scoring.get(key)
        if isinstance(value, int | float) and 0.0 <= value <= 1.0:
            out[key] = float(value)
    return out


def source_record(modification: Modification, error_type: str) -> tuple[int, int]:
    """(attempts, successes) of the patch's own source on its workspace and error type. Other
    sources' outcomes never count: one engine's failures say nothing about another's patches."""
    totals = SuccessRate.objects.filter(
        workspace_id=modification.workspace_id,
        error_type=error_type,
        source=modification.source[:128],
    ).aggregate(n=Sum("attempts"), s=Sum("successes"))
    return totals["n"] or 0, totals["s"] or 0


def historical_success(
    modification: Modification,
    error_type: str,
    prior_mean: float,
    prior_strength: float,
    claimed: float | None,
) -> Component:
    """The source's record here under a Beta(k·m, k·(1−m)) prior: posterior mean
    (s + k·m) / (n + k), as a factor relative to the prior mean (capped at 1), so a new source is
    neutral and a handful of failures lowers it by little. Never measured without outcomes."""
    n, s = source_record(modification, error_type)
    alpha = prior_strength * prior_mean
    detail = {
        "attempts": n,
        "successes": s,
        "source": modification.source,
        "prior": {"mean": prior_mean, "strength": prior_strength},
    }
    if n == 0:
        return choose(None, claimed, 1.0, "", detail)
    posterior = (s + alpha) / (n + prior_strength)
    detail["posterior_mean"] = round(posterior, 6)
    return choose(
        min(1.0, posterior / prior_mean),
        claimed,
        1.0,
        f"{n} outcome(s) of this source on this workspace and error type (Beta prior)",
        detail,
    )


def changed_tokens(diff: str) -> set[str]:
    tokens: set[str] = set()
    for line in diff.splitlines():
        if line.startswith(("+++", "---")) or not line.startswith(("+", "-")):
            continue
        tokens.update(f"{line[0]}{t}" for t in TOKEN.findall(line[1:]))
    return tokens


def pattern_similarity(
    modification: Modification, weight: float, claimed: float | None
) -> Component:
    """Best Jaccard similarity of changed-line tokens to the same source's patches applied and
    still applied here: what other engines had kept says nothing about this one."""
    mine = changed_tokens(modification.diff)
    kept = (
        Modification.objects.filter(
            workspace_id=modification.workspace_id,
            source=modification.source,
            status=ModificationStatus.APPLIED,
        )
        .exclude(pk=modification.pk)
        .order_by("-status_changed_at")
        .values_list("pk", "diff")[:KEPT_PATCHES]
    )
    best, best_id, compared = 0.0, None, 0
    for pk, diff in kept:
        theirs = changed_tokens(diff)
        compared += 1
        if mine and theirs:
            score = len(mine & theirs) / len(mine | theirs)
            if score > best:
                best, best_id = score, pk
    if not compared:
        return choose(None, _as_factor(claimed, weight), 1.0, "", {"kept_patches": 0})
    detail = {
        "similarity": round(best, 4),
        "most_similar": best_id,
        "kept_patches": compared,
        "weight": weight,
    }
    return choose(
        _as_factor(best, weight),
        _as_factor(claimed, weight),
        1.0,
        f"similarity to {compared} kept patch(es) of this source",
        detail,
    )


def _as_factor(similarity: float | None, weight: float) -> float | None:
    return None if similarity is None else 1.0 - weight + weight * similarity


def complexity_penalty(modification: Modification, claimed: float | None) -> Component:
    """Radon's cyclomatic complexity of the Python functions the diff touches, as a rank penalty."""
    try:
        files = unidiff.PatchSet(modification.diff)
    except Exception:  # noqa: BLE001 - a diff validation already judged; here it is just unmeasurable
        return choose(None, claimed, 1.0, "", {"note": "diff not parseable"})
    workspace = modification.workspace
    if workspace.is_remote:  # no work tree here: the cached checkout of the checked commit
        from ..sandbox.scratch import DiffDoesNotApply, base_tree

        try:
            if not modification.base_commit:
                raise DiffDoesNotApply("no base commit")
            root = base_tree(workspace.repo_path, modification.base_commit)
        except (DiffDoesNotApply, OSError):
            return choose(None, claimed, 1.0, "", {"note": "no checkout to measure"})
    else:
        root = Path(workspace.path)
    worst, where = 0, ""
    measured_any = False
    for patched in files:
        if patched.is_added_file or not patched.path.endswith(".py"):
            continue
        target = (root / patched.path).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            continue
        try:
            blocks = [
                b for b in cc_visit(target.read_text(errors="replace")) if not hasattr(b, "methods")
            ]
        except (SyntaxError, ValueError, OSError):
            continue
        measured_any = True
        for hunk in patched:
            start, end = hunk.source_start, hunk.source_start + max(hunk.source_length, 1) - 1
            for block in blocks:
                if block.lineno <= end and block.endline >= start and block.complexity > worst:
                    worst, where = block.complexity, f"{patched.path}:{block.name}"
    if not measured_any:
        return choose(None, claimed, 1.0, "", {"note": "no Python code touched"})
    worst = max(worst, 1)
    rank = cc_rank(worst)
    return choose(
        RANK_PENALTY[rank],
        claimed,
        1.0,
        "radon cyclomatic complexity",
        {"complexity": worst, "rank": rank, "where": where},
    )


def test_coverage(sandbox: Any, claimed: float | None, workspace: Any = None) -> Component:
    """Coverage of the touched lines from the sandbox run; failing that, the workspace's line
    coverage from a registered coverage source (self-debugging's last diagnostic run); failing
    both, the claim."""
    measured = getattr(sandbox, "coverage", None) if sandbox is not None else None
    source = "coverage.py in the sandbox run (touched lines)"
    if measured is None and workspace is not None:
        for other in COVERAGE_SOURCES.values():
            measured = other.measure(workspace)
            if measured is not None:
                source = other.description
                break
    if measured is not None:
        measured = min(max(float(measured), 0.0), 1.0)
    return choose(measured, claimed, 0.0, source)


def syntax_confidence(modification: Modification, claimed: float | None) -> Component:
    """1.0 when the syntax validation stage passed, 0.0 when it found errors."""
    stage = (modification.validation or {}).get("syntax")
    if isinstance(stage, dict):
        findings = stage.get("findings") or []
        errors = [
            f
            for f in findings
            if not isinstance(f, dict) or f.get("severity", "error") in ("error", "critical")
        ]
        ok = stage.get("ok", stage.get("passed", not errors))
        return choose(1.0 if ok and not errors else 0.0, claimed, 0.5, "syntax validation stage")
    return choose(None, claimed, 0.5, "")


def logic_confidence(sandbox: Any, claimed: float | None) -> Component:
    """The share of the sandbox's tests that pass; 0.0 on any new failure."""
    if sandbox is None:
        return choose(None, claimed, 0.5, "")
    if getattr(sandbox, "new_failures", None):
        return choose(
            0.0,
            claimed,
            0.5,
            "sandbox: new test failures",
            {"new_failures": list(sandbox.new_failures)[:20]},
        )
    tests = [
        t for t in (getattr(sandbox, "tests", None) or []) if getattr(t, "outcome", "") != "skipped"
    ]
    if not tests:
        return choose(None, claimed, 0.5, "", {"note": "the sandbox ran no tests"})
    passed = sum(1 for t in tests if t.outcome == "passed")
    return choose(
        passed / len(tests),
        claimed,
        0.5,
        "sandbox test pass rate",
        {"passed": passed, "ran": len(tests)},
    )
