"""Judgement benchmarks. Prints figures; asserts nothing.

    .venv/bin/python bench/judgement.py [--n 2000]

- confidence calculation (the formula: softmax / T, calibrator, factors) p50, target < 0.5 ms;
  and score_modification() with its measured components and persistence, for reference
- breaker check with persistence (workspace dual breaker + engine breaker rows) p50, target < 1 ms;
  record_outcome() (locked write path); pybreaker in memory and on Redis in the same run
- calibration vs scikit-learn on the same synthetic data: ECE on a held-out 30 % and fit time

It runs on a throwaway database of its own (var/bench-judgement.sqlite3, or test_<name> on
PostgreSQL when DATABASE_URL says so) and its own embedded Redis unless REDIS_URL is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], object], n: int) -> dict[str, float]:
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[int(0.95 * (len(samples) - 1))],
        "p5": samples[int(0.05 * (len(samples) - 1))],
        "n": n,
    }


ROWS: list[tuple] = []


def line(label: str, figures: dict[str, float], target: str = "") -> None:
    limit = float(target.split("<")[1].split("ms")[0]) if "<" in target else None
    ROWS.append(
        (
            label,
            f"{figures['p50']:.4f} ms",
            f"p5–p95 {figures['p5']:.4f}–{figures['p95']:.4f} ms",
            "—",
            target or "—",
            None if limit is None else figures["p50"] < limit,
        )
    )
    extra = f"   target {target}" if target else ""
    print(f"  {label:<58} p50 {figures['p50']:8.4f} ms   p95 {figures['p95']:8.4f} ms{extra}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    redis_process = None
    if not os.environ.get("REDIS_URL"):
        from selfheal_site import embedded_redis

        socket = ROOT / "var" / f"bench-redis-{os.getpid()}.sock"
        os.environ["SELFHEAL_REDIS_SOCKET"] = str(socket)
        redis_process = embedded_redis.start(socket)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    import django
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})
    if db["ENGINE"].endswith("sqlite3"):
        db["TEST"]["NAME"] = str(ROOT / "var" / "bench-judgement.sqlite3")
    from django.db import connection

    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.n)
    finally:
        connection.creation.destroy_test_db(db["NAME"], verbosity=0)
        if redis_process is not None:
            from selfheal_site import embedded_redis

            embedded_redis.stop(redis_process)
            Path(os.environ["SELFHEAL_REDIS_SOCKET"]).unlink(missing_ok=True)


def run(n: int) -> None:
    from django.db import connection

    print(f"database: {connection.vendor}; n = {n}")
    bench_confidence(n)
    bench_breakers(n)
    bench_calibration()
    from _table import header, row

    header()
    pyb = {r[0]: r for r in ROWS if r[0].startswith("pybreaker")}
    ours = next(r for r in ROWS if r[0].startswith("breaker check with persistence"))
    for r in ROWS:
        r = list(r)
        if r[0].startswith("pybreaker"):
            ratio = float(ours[1].split()[0]) / float(r[1].split()[0])
            r[3] = f"our persisted check = ×{ratio:.1f} of this"
        row(*r)
    del pyb


def bench_confidence(n: int) -> None:
    from healing.scoring import score_modification
    from healing.scoring.calibration import BetaCalibration, TemperatureScaling
    from healing.scoring.formula import base_probability, combine, model_probability
    from tests import factories

    print("\nconfidence")
    logits = [2.0, 0.5, 0.2, -1.0]
    used = {
        "historical_success": 0.8,
        "pattern_similarity": 0.9,
        "complexity_penalty": 0.95,
        "test_coverage": 0.7,
    }
    for label, calibrator in (
        ("uncalibrated", None),
        ("temperature", TemperatureScaling(1.7)),
        ("beta", BetaCalibration(1.2, 0.8, 0.1)),
    ):

        def calc(calibrator: object = calibrator) -> float:
            base = base_probability(logits, None)
            return combine(model_probability(logits, base, 1.0, calibrator), used)  # type: ignore[arg-type]

        line(f"formula, {label}", timed(calc, n), "< 0.5 ms")

    repo = factories.make_git_repo(
        Path(connection_tmp()) / "repo",
        {"app.py": "def add(a, b):\n    if a:\n        return a + b\n    return b\n"},
    )
    workspace = factories.make_workspace(repo, name="bench")
    diff = "--- a/app.py\n+++ b/app.py\n@@ -1,4 +1,4 @@\n def add(a, b):\n-    if a:\n+    if a is not None:\n         return a + b\n     return b\n"
    for _ in range(20):
        factories.make_modification(
            workspace, status="applied", diff=diff.replace("is not None", "!= 0")
        )
    mod = factories.make_modification(
        workspace, diff=diff, envelope={"confidence_scoring": {"logits": logits}}
    )
    line(
        "score_modification() (measured components + 2 writes)",
        timed(lambda: score_modification(mod), max(n // 10, 50)),
    )


def connection_tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="bench-judgement-")


def bench_breakers(n: int) -> None:
    import pybreaker
    import redis
    from django.conf import settings

    from healing.breakers import dual, engine, record_outcome, run_preflight
    from healing.breakers.snapshot import check_breakers
    from healing.models import Workspace
    from tests import factories

    print("\nbreakers")
    workspace = Workspace.objects.get(name="bench")
    mod = factories.make_modification(workspace, error_type="logic")
    record_outcome(mod, success=True, stage="apply")  # rows exist, as in a running system

    line(
        "breaker check with persistence (one SQL read of both)",
        timed(lambda: check_breakers(workspace.pk, "logic"), n),
        "< 1 ms",
    )

    def orm_check() -> bool:
        return dual.check(workspace.pk, "logic").ok and engine.check("intake").ok

    line("breaker check, detailed ORM path (used when one is open)", timed(orm_check, n))
    line(
        "run_preflight(stage='intake'), all checks + stored result",
        timed(lambda: run_preflight(mod, stage="intake"), max(n // 4, 50)),
    )
    mods = [
        factories.make_modification(workspace, error_type="logic") for _ in range(max(n // 4, 50))
    ]
    it = iter(mods)
    line(
        "record_outcome() (locked write: outcome, circuit, engine, rate)",
        timed(lambda: record_outcome(next(it), success=True, stage="apply"), len(mods) - 50),
    )

    def ok() -> None:
        return None

    memory = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=300)
    line("pybreaker.call(), in-memory state", timed(lambda: memory.call(ok), n))
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("pybreaker:bench")
    shared = pybreaker.CircuitBreaker(
        fail_max=5,
        reset_timeout=300,
        state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, client, namespace="bench"
        ),
    )
    line("pybreaker.call(), Redis state (shared by processes)", timed(lambda: shared.call(ok), n))


def bench_calibration() -> None:
    import numpy as np
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from healing.scoring.calibration import (
        BetaCalibration,
        Samples,
        TemperatureScaling,
        ece,
        max_softmax,
    )

    print(
        "\ncalibration (4000 synthetic outcomes, logits 3× over-confident; ECE on a held-out 30 %)"
    )
    rng = np.random.default_rng(42)
    z = rng.normal(0, 1.5, (4000, 3))
    labels = (rng.random(4000) < np.exp(z).max(1) / np.exp(z).sum(1)).astype(int)
    reported = z * 3
    samples = Samples.build(reported.tolist(), [max_softmax(r) for r in reported], labels)
    order = rng.permutation(4000)
    train, test = samples.subset(order[:2800]), samples.subset(order[2800:])
    y = test.labels
    raw = ece(test.at_temperature(1.0), y)
    print(f"  {'raw softmax':<40} ECE {raw:.4f}")

    def report(
        label: str, fit: Callable[[], object], predict: Callable[[object], np.ndarray]
    ) -> None:
        started = time.perf_counter()
        model = fit()
        ms = (time.perf_counter() - started) * 1000
        value = ece(predict(model), y)
        print(f"  {label:<40} ECE {value:.4f}   fit {ms:8.2f} ms")
        ROWS.append(
            (
                f"calibration {label}: ECE (fit time)",
                f"{value:.4f} ({ms:.1f} ms)",
                "one fit",
                f"raw ECE {raw:.4f}",
                "—",
                None,
            )
        )

    report(
        "ours: temperature scaling (scipy)",
        lambda: TemperatureScaling().fit(train),
        lambda m: m.predict(test),
    )
    report(
        "ours: beta calibration (scipy)",
        lambda: BetaCalibration().fit(train),
        lambda m: m.predict(test),
    )
    feats = BetaCalibration.features
    report(
        "sklearn: LogisticRegression on beta feats",
        lambda: LogisticRegression(C=1e6, tol=1e-10, max_iter=10000).fit(
            feats(train.base), train.labels
        ),
        lambda m: m.predict_proba(feats(test.base))[:, 1],  # type: ignore[attr-defined]
    )
    logit = np.log(train.base / (1 - train.base))[:, None]
    report(
        "sklearn: Platt (LogisticRegression)",
        lambda: LogisticRegression(C=1e6).fit(logit, train.labels),
        lambda m: m.predict_proba(np.log(test.base / (1 - test.base))[:, None])[:, 1],  # type: ignore[attr-defined]
    )
    report(
        "sklearn: IsotonicRegression",
        lambda: IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            train.base, train.labels
        ),
        lambda m: m.predict(test.base),  # type: ignore[attr-defined]
    )


if __name__ == "__main__":
    main()
