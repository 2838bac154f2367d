"""Two engines on one workspace, through HTTP and a real worker: engine A's burst of failing
patches does not get engine B's correct fixes rejected on their score. Each of B's fixes passes,
repairs a failing test and is fully covered; it is applied, or waits for a person — never rejected.

The breakers are set not to trip here (engine and dual thresholds raised through tunables): a
breaker per engine, so that A's failures never block B, is a separate piece of work; this test is
about the score."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.intake.envelope import build_diff
from healing.models import AuditEvent, SuccessRate
from healing.sandbox_probe import best_isolation_level
from tests import factories
from tests.intake_helpers import wait_for_patch

pytestmark = pytest.mark.django_db(transaction=True)

FINAL = {"applied", "rejected", "failed", "blocked", "cancelled", "rolled_back"}
CALC = """def add(a, b):
    return a + b


def sub(a, b):
    return a + b


def mul(a, b):
    return a + b


def neg(a):
    return a
"""
TESTS = """from calc import add, mul, neg, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


def test_mul():
    assert mul(4, 3) == 12


def test_neg():
    assert neg(4) == -4
"""
# The buggy line of each function, its fix, and the test it repairs.
FIXES = [
    ("sub", "return a + b", "return a - b"),
    ("mul", "return a + b", "return a * b"),
    ("neg", "return a", "return -a"),
]


def _diff(text: str, function: str, old: str, new: str) -> tuple[str, str]:
    """(diff, text after): `old` → `new` in the body of `function`."""
    head = text.index(f"def {function}(")
    at = text.index(old, head)
    after = text[:at] + new + text[at + len(old) :]
    return build_diff(text, after, "calc.py"), after


def _envelope(patch_id: str, diff: str, targets: list[str] | None = None) -> dict:
    classification: dict[str, Any] = {"error_type": "logic", "severity": "medium"}
    if targets:
        classification["targets"] = targets
    return {
        "schema_version": "2.0",
        "patch_id": patch_id,
        "workspace": "calc",
        "language": "python",
        "error_classification": classification,
        "confidence_scoring": {"logits": [2.0, 0.5, 0.3]},
        "patch_data": {"diff": diff},
    }


def _submit(client: Any, envelope: dict) -> int:
    response = client.post("/api/v1/patches/", envelope, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _last_reason(pk: int) -> str:
    event = (
        AuditEvent.objects.filter(modification_id=pk, kind="modification.transition")
        .order_by("-pk")
        .first()
    )
    return event.reason if event else ""


@pytest.fixture
def calc(tmp_path: Path, admin_user: Any) -> Any:
    repo = factories.make_git_repo(
        tmp_path / "calc", {"calc.py": CALC, "tests/test_calc.py": TESTS}
    )
    level, _ = best_isolation_level()
    for key, value in (
        ("apply.health_window_s", 0),
        # Not this test's subject: one engine's breaker must not block the other (see above).
        ("engine_breaker.failure_threshold", 1000),
        ("breaker.logic.max_attempts", 1000),
        ("breaker.logic.error_budget", 1.0),
    ):
        do_change_setting(admin_user, key, value, "two-engine test")
    return factories.make_workspace(
        repo,
        name="calc",
        isolation_level=level,
        test_command="python -m pytest -q -p no:cacheprovider",
    )


def test_it_judges_engine_b_by_its_evidence_after_engine_a_failed_20_times(
    celery_worker_process: Any, calc: Any, api_as: Any, reviewer: Any
) -> None:
    engine_a = api_as(factories.make_user("engine-a", role="agent"))
    engine_b = api_as(factories.make_user("engine-b", role="agent"))
    rita = api_as(reviewer)

    # Engine A: twenty "fixes" that each break test_add.
    bad = [
        _submit(
            engine_a,
            _envelope(f"a-{k}", _diff(CALC, "add", "return a + b", f"return a + b + {k}")[0]),
        )
        for k in range(1, 21)
    ]
    for pk in bad:
        assert wait_for_patch(engine_a, pk, FINAL, 120)["status"] == "rejected"
        assert "new test failure" in _last_reason(pk)
    a_rate = SuccessRate.objects.get(source="agent:engine-a")
    assert (a_rate.attempts, a_rate.successes) == (20, 0)

    # Engine B: correct fixes, each naming the test it repairs.
    decided = []
    text = CALC
    for function, old, new in FIXES:
        diff, text = _diff(text, function, old, new)
        pk = _submit(
            engine_b, _envelope(f"b-{function}", diff, [f"tests/test_calc.py::test_{function}"])
        )
        body = wait_for_patch(engine_b, pk, FINAL | {"awaiting_approval"}, 120)
        reason = _last_reason(pk)
        assert body["status"] in {"applied", "awaiting_approval"}, (body["status"], reason)
        assert "floor" not in reason
        if body["status"] == "awaiting_approval":
            decided.append(("waited", function, reason))
            answer = rita.post(
                f"/api/v1/patches/{pk}/approve/", {"comment": "right"}, format="json"
            )
            assert answer.status_code == 200, answer.content
            assert wait_for_patch(engine_b, pk, FINAL, 120)["status"] == "applied", _last_reason(pk)
        else:
            decided.append(("applied", function, reason))

    # The first two leave other failures: a person sees which ones still fail.
    assert decided[0][0] == "waited" and "still fail: tests.test_calc::test_mul" in decided[0][2]
    assert decided[1][0] == "waited" and "still fail: tests.test_calc::test_neg" in decided[1][2]
    # B's applied fixes count as B's successes, approved by a person or not; A's are untouched.
    # The last one is counted by the worker just after it reports "applied": give it a moment.
    deadline = time.monotonic() + 30
    b_rate = SuccessRate.objects.get(source="agent:engine-b")
    while (b_rate.attempts, b_rate.successes) != (3, 3) and time.monotonic() < deadline:
        time.sleep(0.2)
        b_rate.refresh_from_db()
    assert (b_rate.attempts, b_rate.successes) == (3, 3)
    assert SuccessRate.objects.get(source="agent:engine-a").attempts == 20
    assert (Path(calc.path) / "calc.py").read_text().count("return a + b") == 1
