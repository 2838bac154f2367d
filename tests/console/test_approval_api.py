from __future__ import annotations

from typing import Any

import pytest

from healing.models import Modification
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def test_it_approves_through_the_api(api_as: Any, workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    response = api_as(reviewer).post(
        f"/api/v1/patches/{mod.pk}/approve/", {"comment": "fine"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (
        body["status"] == "approved"
        and body["transitioned"] is True
        and body["approvers"] == ["rita-reviewer"]
    )


def test_it_counts_two_people_for_critical_through_the_api(
    api_as: Any, workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "CRITICAL")
    first = (
        api_as(reviewer)
        .post(f"/api/v1/patches/{mod.pk}/approve/", {"comment": "ok"}, format="json")
        .json()
    )
    assert (
        first["status"] == "awaiting_approval" and first["approvals"] == 1 and first["needed"] == 2
    )
    second = (
        api_as(second_reviewer)
        .post(f"/api/v1/patches/{mod.pk}/approve/", {"comment": "ok"}, format="json")
        .json()
    )
    assert second["status"] == "approved" and second["approvals"] == 2


def test_it_answers_400_with_a_field_message_when_the_comment_is_missing(
    api_as: Any, workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(workspace, "HIGH_RISK")
    response = api_as(reviewer).post(f"/api/v1/patches/{mod.pk}/reject/", {}, format="json")
    assert response.status_code == 400
    assert "comment" in response.json()["fields"]


def test_it_answers_409_when_the_patch_moved_on(
    api_as: Any, workspace: Any, reviewer: Any, second_reviewer: Any
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    api_as(reviewer).post(f"/api/v1/patches/{mod.pk}/approve/", {}, format="json")
    response = api_as(second_reviewer).post(f"/api/v1/patches/{mod.pk}/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "already_decided" and response.json()["status"] == "approved"


def test_it_answers_403_for_ones_own_submission(api_as: Any, workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK", submitted_by=reviewer)
    response = api_as(reviewer).post(f"/api/v1/patches/{mod.pk}/approve/", {}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "own_submission"


@pytest.mark.parametrize("persona", ["agent", "outsider"])
def test_it_refuses_those_without_the_reviewer_role(
    api_as: Any, request: Any, workspace: Any, persona: str
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    response = api_as(request.getfixturevalue(persona)).post(
        f"/api/v1/patches/{mod.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 403
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


def test_it_answers_404_for_a_missing_patch_and_400_for_a_bad_body(
    api_as: Any, reviewer: Any, workspace: Any
) -> None:
    assert (
        api_as(reviewer).post("/api/v1/patches/999999/approve/", {}, format="json").status_code
        == 404
    )
    mod = awaiting(workspace, "LOW_RISK")
    bad = api_as(reviewer).post(
        f"/api/v1/patches/{mod.pk}/approve/", "not json{", content_type="application/json"
    )
    assert bad.status_code == 400
    huge = api_as(reviewer).post(
        f"/api/v1/patches/{mod.pk}/approve/", {"comment": "x" * 20000}, format="json"
    )
    assert huge.status_code == 400
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


def test_it_answers_409_when_the_patch_was_held_anew_since_the_caller_looked(
    api_as: Any, workspace: Any, reviewer: Any
) -> None:
    from healing.actions import transition

    mod = awaiting(workspace, "LOW_RISK")
    for status in ("validating", "sandboxing", "awaiting_approval"):
        transition(Modification.objects.get(pk=mod.pk), status, "system")
    response = api_as(reviewer).post(
        f"/api/v1/patches/{mod.pk}/approve/", {"round": 1}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"] == "changed"
    ok = api_as(reviewer).post(f"/api/v1/patches/{mod.pk}/approve/", {"round": 2}, format="json")
    assert ok.status_code == 200
