"""Operators and admins cancel a patch before it is applied; its running sandbox dies with it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from healing.models import AuditEvent, Modification
from healing.sandbox.tasks import sandbox_modification
from tests import factories
from tests.console_helpers import awaiting
from tests.sandbox_helpers import (
    endless_modification,
    sandbox_processes,
    scratch_dirs,
    wait_until_under_way,
)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["operator", "admin_user"])
def test_it_cancels_from_the_api_with_the_reason(
    request: Any, api_as: Any, workspace: Any, persona: str
) -> None:
    mod = awaiting(workspace, "HIGH_RISK")
    user = request.getfixturevalue(persona)
    response = api_as(user).post(
        f"/api/v1/patches/{mod.pk}/cancel/", {"reason": "wrong branch"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    event = AuditEvent.objects.filter(modification=mod, to_state="cancelled").get()
    assert event.reason == "wrong branch" and event.actor == user


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["reviewer", "agent", "outsider"])
def test_it_forbids_a_cancel_to_everyone_else(
    request: Any, api_as: Any, workspace: Any, persona: str
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    response = api_as(request.getfixturevalue(persona)).post(
        f"/api/v1/patches/{mod.pk}/cancel/", {"reason": "mine now"}, format="json"
    )
    assert response.status_code == 403
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


@pytest.mark.django_db
def test_it_refuses_a_cancel_without_a_reason_or_once_applying(
    api_as: Any, workspace: Any, operator: Any
) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    assert api_as(operator).post(f"/api/v1/patches/{mod.pk}/cancel/", {}).status_code == 400
    applying = factories.make_modification(workspace, status="applying")
    response = api_as(operator).post(
        f"/api/v1/patches/{applying.pk}/cancel/", {"reason": "too late"}, format="json"
    )
    assert response.status_code == 409
    assert Modification.objects.get(pk=applying.pk).status == "applying"


@pytest.mark.django_db
def test_it_cancels_from_the_review_page_with_csrf(workspace: Any, operator: Any) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get(f"/patches/{mod.pk}/").content.decode()
    assert 'id="cancel-form"' in page and "data-confirm=" in page
    # Without the token: refused.
    assert client.post(f"/patches/{mod.pk}/cancel/", {"reason": "x"}).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/patches/{mod.pk}/cancel/",
        {"reason": "duplicate of another fix", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert f"{mod.patch_id} cancelled." in response.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "cancelled"


@pytest.mark.django_db
def test_it_shows_no_cancel_button_to_a_reviewer_and_refuses_the_post(
    workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    client = Client()
    client.force_login(reviewer)
    assert 'id="cancel-form"' not in client.get(f"/patches/{mod.pk}/").content.decode()
    assert client.post(f"/patches/{mod.pk}/cancel/", {"reason": "x"}).status_code == 403
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


@pytest.mark.django_db(transaction=True)
def test_it_kills_the_running_sandbox_of_a_cancelled_patch(
    celery_worker_process: Any, tmp_path: Path, operator: Any, api_as: Any
) -> None:
    mod = endless_modification(tmp_path, "cancelme")
    scratch_before = scratch_dirs()
    sandbox_modification.delay(mod.pk)
    wait_until_under_way(scratch_before, time.monotonic() + 60)
    assert sandbox_processes(), "the endless test is not running"
    cancelled_at = time.monotonic()
    response = api_as(operator).post(
        f"/api/v1/patches/{mod.pk}/cancel/", {"reason": "hangs"}, format="json"
    )
    assert response.status_code == 200, response.content
    # Gone well before the 30 s wall time could have struck.
    while time.monotonic() - cancelled_at < 15 and (
        sandbox_processes() or scratch_dirs() != scratch_before
    ):
        time.sleep(0.1)
    assert sandbox_processes() == []
    assert scratch_dirs() == scratch_before
    print(f"cancel → sandbox gone in {time.monotonic() - cancelled_at:.2f} s")
    assert Modification.objects.get(pk=mod.pk).status == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_it_answers_a_committed_cancel_even_when_redis_is_down(
    api_as: Any, workspace: Any, operator: Any, settings: Any
) -> None:
    from healing.sandbox import stop

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: the kill cannot be sent
    stop._client.cache_clear()
    try:
        mod = awaiting(workspace, "HIGH_RISK")
        response = api_as(operator).post(
            f"/api/v1/patches/{mod.pk}/cancel/", {"reason": "wrong branch"}, format="json"
        )
    finally:
        stop._client.cache_clear()
    assert response.status_code == 200, response.content
    assert Modification.objects.get(pk=mod.pk).status == "cancelled"
