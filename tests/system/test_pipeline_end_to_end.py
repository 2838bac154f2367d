"""The whole product, as a new user drives it: an agent posts envelopes with its token, a real
Celery worker validates, sandboxes (bubblewrap when it works), scores and applies to a real git
repository, reviewers approve over the API and an operator rolls back. Nothing here calls a task
or an action of the pipeline directly: only HTTP, the worker and git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_change_setting
from healing.sandbox_probe import best_isolation_level
from tests import factories
from tests.apply_helpers import APP, FIX, TESTS, snapshot
from tests.intake_helpers import wait_for_patch

pytestmark = pytest.mark.django_db(transaction=True)

FINAL = {"applied", "rejected", "failed", "blocked", "cancelled", "rolled_back"}
DANGEROUS = """--- a/app.py
+++ b/app.py
@@ -1,2 +1,5 @@
+import os
+
+
 def add(a, b):
     return a + b
@@ -4,3 +7,4 @@
\x20
 def sub(a, b):
+    os.system("rm -rf /")
     return a + b
"""


def _envelope(
    patch_id: str, diff: str, *, severity: str = "medium", logits: list[float] | None = None
) -> dict:
    """The smallest envelope, with the diff and logits of the case."""
    return {
        "schema_version": "2.0",
        "patch_id": patch_id,
        "workspace": "demo",
        "language": "python",
        "error_classification": {"error_type": "logic", "severity": severity},
        "confidence_scoring": {"logits": logits or [6.0, 0.1, 0.1]},
        "patch_data": {"diff": diff},
    }


def _wait_for(client: Any, pk: int, statuses: set[str], timeout: float = 60.0) -> dict:
    return wait_for_patch(client, pk, statuses, timeout)


def _history(pk: int) -> list[str]:
    from healing.models import AuditEvent

    return list(
        AuditEvent.objects.filter(modification_id=pk, kind="modification.transition")
        .order_by("pk")
        .values_list("to_state", flat=True)
    )


def _run_tests(repo: Path) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(repo)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def demo(tmp_path: Path, admin_user: Any) -> Any:
    repo = factories.make_git_repo(tmp_path / "repo", {"app.py": APP, "test_app.py": TESTS})
    level, _ = best_isolation_level()
    ws = factories.make_workspace(
        repo,
        name="demo",
        isolation_level=level,
        test_command="python -m pytest -q -p no:cacheprovider",
    )
    # The post-apply health watch would hold the worker for a minute; the tests re-run still happens.
    do_change_setting(admin_user, "apply.health_window_s", 0, "end-to-end test: no health watch")
    return ws


@pytest.fixture
def bot(api_as: Any) -> Any:
    return api_as(factories.make_user("bot", role="agent"))


def _submit(bot: Any, envelope: dict) -> int:
    response = bot.post("/api/v1/patches/", envelope, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "received"
    return response.json()["id"]


def test_it_applies_a_clean_fix_by_itself(celery_worker_process: Any, demo: Any, bot: Any) -> None:
    repo = Path(demo.path)
    head_before = factories.git(repo, "rev-parse", "HEAD").strip()
    pk = _submit(bot, _envelope("agent-7f3a", FIX))

    body = _wait_for(bot, pk, FINAL)

    assert body["status"] == "applied", body
    assert _history(pk) == ["validating", "sandboxing", "approved", "applying", "applied"]
    assert body["safety_level"] in {"SAFE", "LOW_RISK"}
    assert factories.git(repo, "rev-parse", "HEAD~1").strip() == head_before
    message = factories.git(repo, "log", "-1", "--format=%B")
    assert "Selfheal-Modification:" in message
    assert "return a - b" in (repo / "app.py").read_text()
    assert _run_tests(repo).returncode == 0
    assert factories.git(repo, "status", "--porcelain") == ""


def test_it_rejects_a_wrong_fix_on_new_test_failures(
    celery_worker_process: Any, demo: Any, bot: Any
) -> None:
    # At the base test_sub already fails; this "fix" breaks test_add, which passed: a new failure.
    wrong = """--- a/app.py
+++ b/app.py
@@ -1,4 +1,4 @@
 def add(a, b):
-    return a + b
+    return a * b
\x20
\x20
"""
    before = snapshot(Path(demo.path))
    pk = _submit(bot, _envelope("agent-wrong", wrong))

    body = _wait_for(bot, pk, FINAL)

    assert body["status"] == "rejected", body
    assert _history(pk) == ["validating", "sandboxing", "rejected"], body["findings"]
    assert "new test failure" in str(body).lower(), body
    assert "test_add" in str(body)
    assert snapshot(Path(demo.path)) == before


def test_it_rejects_rm_rf_at_validation_with_the_finding(
    celery_worker_process: Any, demo: Any, bot: Any
) -> None:
    before = snapshot(Path(demo.path))
    pk = _submit(bot, _envelope("agent-evil", DANGEROUS))

    body = _wait_for(bot, pk, FINAL)

    assert body["status"] == "rejected", body
    assert _history(pk) == ["validating", "rejected"]
    text = str(body)
    assert "os.system" in text, body
    assert snapshot(Path(demo.path)) == before


def test_it_applies_a_critical_patch_after_two_different_reviewers_approve(
    celery_worker_process: Any,
    demo: Any,
    bot: Any,
    api_as: Any,
    reviewer: Any,
    second_reviewer: Any,
) -> None:
    repo = Path(demo.path)
    pk = _submit(bot, _envelope("agent-critical", FIX, severity="critical"))

    body = _wait_for(bot, pk, FINAL | {"awaiting_approval"})
    assert body["status"] == "awaiting_approval", body
    assert body["safety_level"] == "CRITICAL"

    rita, rob = api_as(reviewer), api_as(second_reviewer)
    first = rita.post(
        f"/api/v1/patches/{pk}/approve/", {"comment": "the fix is right"}, format="json"
    )
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "awaiting_approval"
    assert first.json()["needed"] == 2
    again = rita.post(f"/api/v1/patches/{pk}/approve/", {"comment": "me again"}, format="json")
    # The same person twice counts once: still one approval of two.
    assert again.status_code == 200, again.content
    assert (again.json()["approvals"], again.json()["status"]) == (1, "awaiting_approval")
    assert rita.get(f"/api/v1/patches/{pk}/").json()["status"] == "awaiting_approval"
    second = rob.post(f"/api/v1/patches/{pk}/approve/", {"comment": "agreed"}, format="json")
    assert second.status_code == 200, second.content

    body = _wait_for(bot, pk, FINAL)
    assert body["status"] == "applied", body
    assert _history(pk)[-3:] == ["approved", "applying", "applied"]
    assert "Selfheal-Modification:" in factories.git(repo, "log", "-1", "--format=%B")
    assert _run_tests(repo).returncode == 0


def test_it_rolls_back_on_an_operator_request(
    celery_worker_process: Any, demo: Any, bot: Any, api_as: Any, operator: Any
) -> None:
    repo = Path(demo.path)
    before = snapshot(repo)
    pk = _submit(bot, _envelope("agent-rollme", FIX))
    assert _wait_for(bot, pk, FINAL)["status"] == "applied"
    assert snapshot(repo)["files"] != before["files"]

    olga = api_as(operator)
    response = olga.post(f"/api/v1/patches/{pk}/rollback/", {"reason": "drill"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rolled_back"

    after = snapshot(repo)
    assert after["files"] == before["files"]
    assert after["status"] == "" and after["branch"] == before["branch"]
    assert olga.get(f"/api/v1/patches/{pk}/").json()["status"] == "rolled_back"
