"""An approval is bound to the digest of what was reviewed; the apply lands only that."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from approvals.actions import do_approve
from healing.apply.actions import do_apply
from healing.models import AuditEvent, Modification
from tests import apply_helpers, factories
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db

EVIL = (
    "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return __import__('os').system('id')\n"
)


def _tamper(mod: Modification, **fields: Any) -> None:
    # Stands for any writer outside the actions (the admin before it went read-only, a shell,
    # the database): the row changes under the reviewer's feet.
    Modification.objects.filter(pk=mod.pk).update(**fields)


def _page_digest(client: Client, mod: Modification) -> str:
    html = client.get(f"/patches/{mod.pk}/").content.decode()
    return re.search(r'name="digest" value="([0-9a-f]{64})"', html).group(1)


def test_it_refuses_an_approval_of_a_page_that_showed_another_diff(
    workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    client = Client()
    client.force_login(reviewer)
    shown = _page_digest(client, mod)
    _tamper(mod, diff=EVIL)
    response = client.post(
        f"/patches/{mod.pk}/approve/", {"comment": "", "digest": shown}, follow=True
    )
    assert "is not what you reviewed" in response.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "awaiting_approval"


@pytest.mark.parametrize(
    "change",
    [{"diff": EVIL}, {"safety_level": "SAFE"}, {"validation": {}}, {"base_commit": "0" * 40}],
)
def test_it_refuses_an_api_approval_bound_to_another_version(
    workspace: Any, reviewer: Any, api_as: Any, change: dict[str, Any]
) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK", base_commit=workspace.head_commit())
    shown = api_as(reviewer).get(f"/api/v1/patches/{mod.pk}/").json()["review_digest"]
    _tamper(mod, **change)
    response = api_as(reviewer).post(
        f"/api/v1/patches/{mod.pk}/approve/", {"digest": shown}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"] == "changed"


def test_it_refuses_to_apply_a_diff_edited_after_the_approval(
    tmp_path: Path, reviewer: Any
) -> None:
    repo = apply_helpers.make_repo(tmp_path)
    ws = factories.make_workspace(repo, name="guarded")
    mod = awaiting(ws, "MEDIUM_RISK", diff=apply_helpers.FIX, base_commit=ws.head_commit())
    do_approve(mod, reviewer, "looks right")
    head = ws.head_commit()
    _tamper(mod, diff=EVIL)
    result = do_apply(Modification.objects.get(pk=mod.pk))
    assert result.status == "validating"  # checked and reviewed again, never applied as is
    assert ws.head_commit() == head
    assert "os" not in (repo / "app.py").read_text()
    event = AuditEvent.objects.get(modification=mod, kind="modification.digest_mismatch")
    assert event.data["approved"] != event.data["now"]


def test_it_applies_what_was_approved(tmp_path: Path, reviewer: Any) -> None:
    repo = apply_helpers.make_repo(tmp_path)
    ws = factories.make_workspace(repo, name="guarded")
    mod = awaiting(ws, "MEDIUM_RISK", diff=apply_helpers.FIX, base_commit=ws.head_commit())
    client = Client()
    client.force_login(reviewer)
    client.post(f"/patches/{mod.pk}/approve/", {"comment": "", "digest": _page_digest(client, mod)})
    assert do_apply(Modification.objects.get(pk=mod.pk)).status == "applied"


def test_it_keeps_the_approved_digest_through_a_block(tmp_path: Path, reviewer: Any) -> None:
    from healing.actions import transition

    repo = apply_helpers.make_repo(tmp_path)
    ws = factories.make_workspace(repo, name="guarded")
    mod = awaiting(ws, "MEDIUM_RISK", diff=apply_helpers.FIX, base_commit=ws.head_commit())
    do_approve(mod, reviewer, "looks right")
    mod = Modification.objects.get(pk=mod.pk)
    transition(mod, "blocked", "system", "breaker open", block_reason="breaker open")
    _tamper(mod, diff=EVIL)
    # The block lifts back into approved: that is no new approval of the edited diff.
    transition(Modification.objects.get(pk=mod.pk), "approved", "system", "breaker closed")
    assert do_apply(Modification.objects.get(pk=mod.pk)).status == "validating"
    assert "os" not in (repo / "app.py").read_text()
