"""The confidence score against real outcomes: out-of-fold ECE and Brier score of the evidence
model, of the formula as it now runs (history and patterns of the same source only, Beta prior)
and of the old formula (history by error type over every engine). Prints figures; asserts nothing.

    .venv/bin/python bench/confidence_model.py [--submissions 600] [--seed 7]

The corpus (tests/corpus/judgement/one_line_bugs.json): eight repositories, each with one
one-line bug and its failing test beside passing ones. For each, four patches are run once for
real in the sandbox (bubblewrap when it works): the fix, two wrong one-line fixes that repair
nothing, and one that breaks a passing test. Four simulated engines then submit patches drawn
from these — a good one, a bad one (with an early burst of twenty), a mixed one and a late
newcomer — each with its own (mis)calibrated logits. Every submission is scored by the real
score_modification() on its real sandbox result, in order, with the outcomes of the earlier
ones recorded as production records them (a kept patch: applied; the others: failed), so the
history each score sees is the one it would have seen. A fix is kept with probability 0.93, a
wrong fix 0.05, a breaking one never.

The formula scores are prospective (made before the outcome was known); the evidence model is
measured out of fold (stratified 5-fold: each patch predicted by a fit that never saw it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _env  # noqa: E402

CORPUS = _env.ROOT / "tests" / "corpus" / "judgement" / "one_line_bugs.json"
KEPT = {"fix": 0.93, "wrong": 0.05, "breaking": 0.0}
# name → (share of fix, wrong, breaking; mean top logit, its spread)
ENGINES = {
    "engine-good": ((0.85, 0.12, 0.03), 2.0, 0.5),
    "engine-bad": ((0.10, 0.60, 0.30), 4.0, 0.5),
    "engine-mixed": ((0.50, 0.40, 0.10), 3.0, 1.0),
    "engine-new": ((0.80, 0.15, 0.05), 2.5, 0.7),
}


def replace_in(text: str, after: str, old: str, new: str) -> str:
    at = text.index(old, text.index(after))
    return text[:at] + new + text[at + len(old) :]


def build_corpus(tmp: Path) -> list[dict[str, Any]]:
    """Run every patch of the corpus once in the sandbox; return them with their results."""
    from healing.intake.envelope import build_diff
    from healing.sandbox import run_tests
    from healing.sandbox_probe import best_isolation_level
    from tests import factories

    doc = json.loads(CORPUS.read_text())
    level, _ = best_isolation_level()
    patches = []
    for bug in doc["bugs"]:
        module = doc["helpers"] + "\n\n" + bug["function"]
        tests = (
            f"from calc import double, inc, {bug['name']}\n\n\n"
            + doc["helper_tests"]
            + "\n\n"
            + bug["test"]
        )
        repo = factories.make_git_repo(
            tmp / bug["name"], {"calc.py": module, "tests/test_calc.py": tests}
        )
        workspace = factories.make_workspace(
            repo,
            name=bug["name"].replace("_", "-"),
            isolation_level=level,
            test_command="python -m pytest -q -p no:cacheprovider",
        )
        head = f"def {bug['name']}("
        variants = [("fix", replace_in(module, head, bug["bug"], bug["fix"]))]
        variants += [("wrong", replace_in(module, head, bug["bug"], w)) for w in bug["wrong"]]
        variants.append(("breaking", replace_in(module, "def double(", *doc["breaking"])))
        for kind, after in variants:
            diff = build_diff(module, after, "calc.py")
            result = run_tests(workspace, diff=diff)
            patches.append({"workspace": workspace, "kind": kind, "diff": diff, "sandbox": result})
        print(f"  {bug['name']:<12} sandboxed 4 patches ({level})", flush=True)
    return patches


def old_formula(mod: Any, detail: dict[str, Any]) -> float:
    """The score before this change: history by the most specific level with ≥ 5 outcomes,
    falling back to every engine's outcomes by workspace and type, then by type; Laplace."""
    from django.db.models import Sum

    from healing.models import SuccessRate
    from healing.scoring.formula import combine

    levels = (
        {"workspace_id": mod.workspace_id, "error_type": "logic", "source": mod.source},
        {"workspace_id": mod.workspace_id, "error_type": "logic"},
        {"error_type": "logic"},
    )
    history = 1.0
    for filters in levels:
        totals = SuccessRate.objects.filter(**filters).aggregate(
            n=Sum("attempts"), s=Sum("successes")
        )
        n, s = totals["n"] or 0, totals["s"] or 0
        if n >= 5:
            history = (s + 1) / (n + 2)
            break
    parts = detail["confidence_components"]
    used = {name: part["used"] for name, part in parts.items()}
    used["historical_success"] = history
    return combine(detail["model_probability"]["calibrated"], used)


def simulate(patches: list[dict[str, Any]], n: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from healing.actions import do_change_setting
    from healing.breakers import record_outcome
    from healing.models import Modification
    from healing.policy import sandbox_success
    from healing.scoring import score_modification
    from tests import factories

    for key, value in (
        ("engine_breaker.failure_threshold", 1000),
        ("breaker.logic.max_attempts", 1000),
        ("breaker.logic.error_budget", 1.0),
    ):
        do_change_setting(None, key, value, "benchmark: outcomes are data here")
    rng = np.random.default_rng(seed)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for p in patches:
        by_kind.setdefault(p["kind"], []).append(p)
    order = ["engine-bad"] * 20 + list(
        rng.choice(["engine-good", "engine-bad", "engine-mixed"], size=n - 20 - n // 5)
    )
    order += list(rng.choice(["engine-good", "engine-bad", "engine-mixed", "engine-new"], n // 5))
    rows = []
    for engine in order:
        shares, mean, spread = ENGINES[engine]
        kind = str(rng.choice(["fix", "wrong", "breaking"], p=shares))
        chosen = by_kind[kind][int(rng.integers(len(by_kind[kind])))]
        top = float(rng.normal(mean, spread))
        mod = factories.make_modification(
            chosen["workspace"],
            source=engine,
            error_type="logic",
            safety_level="SAFE",
            diff=chosen["diff"],
            files=["calc.py"],
            envelope={"confidence_scoring": {"logits": [top, 0.0, -0.5]}},
        )
        detail = score_modification(mod, chosen["sandbox"])
        old = old_formula(mod, detail)
        kept = bool(rng.random() < KEPT[kind])
        if kept:
            Modification.objects.filter(pk=mod.pk).update(status="applied")
            record_outcome(mod, success=True, stage="apply")
        else:
            record_outcome(mod, success=False, stage="sandbox")
        rows.append(
            {
                "engine": engine,
                "kind": kind,
                "label": int(kept),
                "old": old,
                "formula": detail["formula_score"],
                "features": detail["evidence"]["features"],
                # Not rejected on evidence (new failures, red baseline left red): the score decides.
                "to_score": sandbox_success(mod, chosen["sandbox"]),
            }
        )
    return {"rows": rows}


def report(rows: list[dict[str, Any]]) -> None:
    import numpy as np

    from healing.scoring.calibration import ece
    from healing.scoring.model import brier, matrix, out_of_fold

    y = np.array([r["label"] for r in rows], dtype=float)
    old = np.clip(np.array([r["old"] for r in rows]), 0, 1)
    formula = np.clip(np.array([r["formula"] for r in rows]), 0, 1)
    model = out_of_fold(matrix([r["features"] for r in rows]), y)
    print(f"\n{len(rows)} submissions, {int(y.sum())} kept; ECE (10 bins) and Brier score")
    print(f"  {'score':<52} {'ECE':>7} {'Brier':>7}")
    for label, p in (
        ("old formula (history over every engine), prospective", old),
        ("formula now (same source, Beta prior), prospective", formula),
        ("evidence model (LogisticRegression), out of fold", model),
    ):
        print(f"  {label:<52} {ece(p, y):7.4f} {brier(p, y):7.4f}")
    scored = [i for i, r in enumerate(rows) if r["to_score"]]
    if scored and 0 < y[scored].sum() < len(scored):
        print(f"  among the {len(scored)} the evidence rules leave to the score:")
        for label, p in (("old formula", old), ("formula now", formula), ("evidence model", model)):
            print(
                f"    {label:<50} {ece(p[scored], y[scored]):7.4f} {brier(p[scored], y[scored]):7.4f}"
            )
    fixes = [i for i, r in enumerate(rows) if r["kind"] == "fix"]
    print(f"\ncorrect fixes ({len(fixes)}), mean score and share under the old floor 0.2:")
    for label, p in (("old formula", old), ("formula now", formula), ("evidence model", model)):
        low = sum(1 for i in fixes if p[i] < 0.2)
        print(f"  {label:<16} mean {np.mean(p[fixes]):.3f}   below 0.2: {low}/{len(fixes)}")
    for engine in ENGINES:
        mine = [i for i in fixes if rows[i]["engine"] == engine]
        if mine:
            print(
                f"  {engine:<14} fixes {len(mine):3d}: old {np.mean(old[mine]):.3f}  "
                f"now {np.mean(formula[mine]):.3f}  model {np.mean(model[mine]):.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tmp = _env.setup("confidence")
    print("corpus: real sandbox runs", flush=True)
    patches = build_corpus(tmp)
    result = simulate(patches, args.submissions, args.seed)
    report(result["rows"])


if __name__ == "__main__":
    main()
