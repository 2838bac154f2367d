"""The Django admin shows a modification read-only: no superuser edits a reviewed diff."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from healing.models import Modification
from tests import factories
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db

EVIL = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-X = 1\n+import os; os.system('id')\n"


def _full_form_data(superuser: Any, mod: Modification) -> dict[str, Any]:
    """Every field of the admin's change form as a browser would send it back."""
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry[Modification]
    form = model_admin.get_form(request, mod)(instance=mod)
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form[name].value())
        data[name] = "" if value is None else value
    return data


def test_it_ignores_a_superuser_editing_the_diff_safety_and_findings(workspace: Any) -> None:
    superuser = factories.make_user("root")
    superuser.is_superuser = superuser.is_staff = True
    superuser.save(update_fields=["is_superuser", "is_staff"])
    mod = awaiting(workspace, "CRITICAL")
    before = (mod.diff, mod.safety_level, mod.validation, mod.submitted_by_id)
    data = _full_form_data(superuser, mod)
    data.update(diff=EVIL, safety_level="SAFE", validation="{}")
    client = Client()
    client.force_login(superuser)
    client.post(f"/admin/healing/modification/{mod.pk}/change/", data)
    mod.refresh_from_db()
    assert (mod.diff, mod.safety_level, mod.validation, mod.submitted_by_id) == before


def test_it_shows_the_diff_safety_submitter_and_findings(workspace: Any, agent: Any) -> None:
    superuser = factories.make_user("root")
    superuser.is_superuser = superuser.is_staff = True
    superuser.save(update_fields=["is_superuser", "is_staff"])
    mod = awaiting(workspace, "HIGH_RISK", submitted_by=agent)
    client = Client()
    client.force_login(superuser)
    html = client.get(f"/admin/healing/modification/{mod.pk}/change/").content.decode()
    assert "HIGH_RISK" in html and agent.get_username() in html
    assert 'name="diff"' not in html and 'name="safety_level"' not in html
