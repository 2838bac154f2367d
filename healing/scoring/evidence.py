"""What Selfheal measured about one patch, as the features of the confidence model.

`measure()` reads the sandbox run (tests repaired, new failures, tests run, what still fails of a
red baseline, coverage of the changed lines), the validation (findings, safety level, size), the
scored components (complexity, the source's own record and pattern similarity) and the model
probability from the agent's logits. The features are stored with the score, so the beat refit
learns from what was known when the patch was judged, never from what came after.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..models import Modification
from ..models.modification import SafetyLevel
from .calibration import EPS

FAILING = {"failed", "error"}

# The order of the model's inputs; a stored fit names the features it was trained on.
FEATURES: tuple[str, ...] = (
    "model_logit",
    "has_logits",
    "repaired",
    "repaired_any",
    "new_failures",
    "tests_run",
    "still_failing",
    "red_baseline",
    "targets_missed",
    "coverage",
    "coverage_measured",
    "findings",
    "safety_rank",
    "size",
    "files",
    "complexity",
    "history_rate",
    "history_outcomes",
    "pattern",
    "pattern_outcomes",
)


def _log1p(n: int | float) -> float:
    return math.log1p(max(float(n), 0.0))


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def targets_of(modification: Modification) -> list[str]:
    """The failing tests the engine says its patch repairs (`error_classification.targets`)."""
    raw = ((modification.envelope or {}).get("error_classification") or {}).get("targets") or []
    return [str(t) for t in raw if isinstance(t, str) and t.strip()][:100]


def _parts(test_id: str) -> list[str]:
    """A test id as dotted parts, so `tests/test_x.py::T::test_y` and the JUnit form
    `tests.test_x.T::test_y` compare equal; a parametrisation `[...]` is dropped."""
    head, sep, rest = test_id.partition("::")
    if head.endswith(".py"):
        head = head[:-3]
    head = head.strip("/").replace("/", ".")
    text = head + ("." + rest.replace("::", ".") if sep else "")
    if text.endswith("]") and "[" in text:
        text = text[: text.index("[")]
    return [p for p in text.split(".") if p]


def matches(target: str, nodeid: str) -> bool:
    """A target names a test (exactly) or a prefix of test ids (a module, a class)."""
    want, have = _parts(target), _parts(nodeid)
    return bool(want) and have[: len(want)] == want


def targets_still_failing(targets: Sequence[str], sandbox: Any) -> list[str]:
    """The targets that did not pass: a target is met when it names at least one test that ran
    and every test it names passed."""
    tests = [t for t in (getattr(sandbox, "tests", None) or []) if t.outcome != "skipped"]
    missed = []
    for target in targets:
        named = [t for t in tests if matches(target, t.nodeid)]
        if not named or any(t.outcome != "passed" for t in named):
            missed.append(target)
    return missed


def red_baseline(sandbox: Any) -> tuple[list[str], list[str]]:
    """(failing on the baseline, of those still failing with the patch)."""
    if sandbox is None:
        return [], []
    before = list((getattr(sandbox, "detail", None) or {}).get("baseline_failing") or [])
    now = {t.nodeid for t in (getattr(sandbox, "tests", None) or []) if t.outcome in FAILING}
    return before, [n for n in before if n in now]


def measure(
    modification: Modification,
    sandbox: Any,
    model_probability: float,
    has_logits: bool,
    components: Mapping[str, Any],
) -> dict[str, Any]:
    """The evidence of one patch: raw counts for people, `features` for the model."""
    tests = [t for t in (getattr(sandbox, "tests", None) or []) if t.outcome != "skipped"]
    fixed = list(getattr(sandbox, "fixed", None) or [])
    new = list(getattr(sandbox, "new_failures", None) or [])
    before, still = red_baseline(sandbox)
    targets = targets_of(modification)
    missed = targets_still_failing(targets, sandbox) if targets and sandbox is not None else []
    coverage = components["test_coverage"]
    findings = [
        f
        for stage in (modification.validation or {}).values()
        if isinstance(stage, dict)
        for f in stage.get("findings", [])
        if isinstance(f, dict) and f.get("severity") != "info"
    ]
    stats = ((modification.validation or {}).get("anomaly") or {}).get("data") or {}
    size = int(stats.get("lines_added", 0) or 0) + int(stats.get("lines_removed", 0) or 0)
    if not size:
        size = sum(
            1
            for line in modification.diff.splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        )
    level = modification.safety_level or SafetyLevel.MEDIUM_RISK
    history = components["historical_success"]
    pattern = components["pattern_similarity"]
    h_detail = history.detail or {}
    p_detail = pattern.detail or {}
    counts = {
        "tests_run": len(tests),
        "repaired": fixed[:50],
        "new_failures": new[:50],
        "baseline_failing": len(before),
        "still_failing": still[:50],
        "targets": targets,
        "targets_still_failing": missed,
        "coverage": coverage.measured,
        "findings": len(findings),
        "safety_level": str(level),
        "size": size,
        "files": len(modification.files or []),
        "history": {
            "source": modification.source,
            "outcomes": h_detail.get("attempts", 0),
            "kept": h_detail.get("successes", 0),
        },
        "pattern": {
            "similarity": p_detail.get("similarity"),
            "outcomes": p_detail.get("kept_patches", 0),
        },
    }
    prior = h_detail.get("prior") or {}
    rate = h_detail.get("posterior_mean", prior.get("mean", 1.0))
    features = {
        "model_logit": _logit(model_probability),
        "has_logits": float(has_logits),
        "repaired": _log1p(len(fixed)),
        "repaired_any": float(bool(fixed)),
        "new_failures": _log1p(len(new)),
        "tests_run": _log1p(len(tests)),
        "still_failing": _log1p(len(still)),
        "red_baseline": float(bool(before)),
        "targets_missed": _log1p(len(missed)),
        "coverage": float(coverage.measured or 0.0),
        "coverage_measured": float(coverage.measured is not None),
        "findings": _log1p(len(findings)),
        "safety_rank": float(SafetyLevel.rank(level)),
        "size": _log1p(size),
        "files": _log1p(len(modification.files or [])),
        "complexity": float(components["complexity_penalty"].used),
        "history_rate": float(rate),
        "history_outcomes": _log1p(h_detail.get("attempts", 0)),
        "pattern": float(p_detail.get("similarity") or 0.0),
        "pattern_outcomes": _log1p(p_detail.get("kept_patches", 0)),
    }
    return {**counts, "features": {k: round(v, 6) for k, v in features.items()}}


def vector(features: Mapping[str, float], names: Sequence[str] = FEATURES) -> list[float]:
    return [float(features.get(name, 0.0)) for name in names]


def reasons(evidence: Mapping[str, Any]) -> list[str]:
    """What a person reads beside the score: the evidence, plainly, with what it rests on."""
    out = []
    repaired = evidence.get("repaired") or []
    if evidence.get("tests_run"):
        out.append(
            f"{evidence['tests_run']} test(s) ran; repairs {len(repaired)} failing test(s)"
            + (f" ({', '.join(repaired[:3])})" if repaired else "")
        )
    else:
        out.append("no test evidence: the sandbox ran no test")
    if evidence.get("new_failures"):
        out.append(f"{len(evidence['new_failures'])} new failure(s)")
    if evidence.get("still_failing"):
        shown = ", ".join(evidence["still_failing"][:5])
        out.append(f"{len(evidence['still_failing'])} test(s) failing before still fail: {shown}")
    if evidence.get("coverage") is not None:
        out.append(f"coverage of the changed lines {evidence['coverage']:.2f}")
    history = evidence.get("history") or {}
    out.append(
        f"source {history.get('source') or '?'!s}: {history.get('kept', 0)} kept of "
        f"{history.get('outcomes', 0)} outcome(s) on this workspace and error type"
    )
    pattern = evidence.get("pattern") or {}
    if pattern.get("outcomes"):
        out.append(
            f"most similar kept patch of this source: {pattern.get('similarity') or 0:.2f} "
            f"(of {pattern['outcomes']})"
        )
    if evidence.get("findings"):
        out.append(f"{evidence['findings']} validation finding(s)")
    out.append(f"safety {evidence.get('safety_level')}, {evidence.get('size')} changed line(s)")
    return out
