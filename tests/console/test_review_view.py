from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import Approval
from healing.models import Modification
from tests import factories
from tests.console_helpers import awaiting

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_highlighted_diff_with_findings_pinned_to_their_line(
    workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(
        workspace,
        "HIGH_RISK",
        claimed_error_type="syntax",
        inferred_error_type="logic",
        confidence=0.83,
        confidence_detail={
            "calibration_method": "isotonic",
            "components": {
                "test_pass_rate": {"value": 1.0, "source": "measured", "weight": 0.4},
                "agent_logits": {"value": 0.9, "source": "claimed", "weight": 0.2},
            },
        },
        fitness={"before": 0.71, "after": 0.74},
    )
    html = _client(reviewer).get(f"/patches/{mod.pk}/").content.decode()
    # Pygments' token classes: `def` is a keyword (k), `return` too.
    assert '<span class="k">return</span>' in html
    assert 'class="diff unified hl"' in html
    # The finding on line 2 of the new file sits right under that line; the other is listed apart.
    unified = html[html.index('class="diff unified hl"') :]
    line_two = unified.index('<td class="ln">2</td>')
    assert unified.index("suspicious assignment") > line_two
    assert "outside the diff" in html and "Findings outside the diff" in html
    assert "syntax" in html and "logic" in html  # claimed and inferred
    assert "test_pass_rate" in html and "src-measured" in html and "src-claimed" in html
    assert "test rule for HIGH_RISK" in html
    assert "No sandbox run yet." in html  # the real (empty) sandbox panel
    assert "held for a reviewer" in html  # the audit trail
    assert "0.74" in html


def test_it_shows_the_diff_side_by_side(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK")
    html = _client(reviewer).get(f"/patches/{mod.pk}/?view=split").content.decode()
    assert 'class="diff split hl"' in html
    assert "suspicious assignment" in html


def test_it_survives_a_diff_that_does_not_parse(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(
        workspace, "LOW_RISK", diff="@@ nonsense\n+++ only", validation={"x": "not a dict"}
    )
    response = _client(reviewer).get(f"/patches/{mod.pk}/")
    assert response.status_code == 200


def test_it_shows_the_cascade_chain(workspace: Any, reviewer: Any) -> None:
    root = factories.make_modification(workspace, status="applied", patch_id="root-patch")
    child = factories.make_modification(
        workspace, status="applied", parent=root, cascade_depth=1, patch_id="child-patch"
    )
    leaf = awaiting(workspace, "LOW_RISK", parent=child, cascade_depth=2)
    html = _client(reviewer).get(f"/patches/{leaf.pk}/").content.decode()
    assert (
        html.index("root-patch")
        < html.index("child-patch")
        < html.index(f"<strong>{leaf.patch_id}</strong>")
    )


def test_it_approves_from_the_page_and_says_so(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "MEDIUM_RISK")
    response = _client(reviewer).post(
        f"/patches/{mod.pk}/approve/", {"comment": "", "digest": mod.review_digest()}, follow=True
    )
    assert response.status_code == 200
    assert f"{mod.patch_id} approved." in response.content.decode()
    assert Modification.objects.get(pk=mod.pk).status == "approved"


def test_it_refuses_a_critical_approval_without_a_comment_with_a_message(
    workspace: Any, reviewer: Any
) -> None:
    mod = awaiting(workspace, "CRITICAL")
    response = _client(reviewer).post(f"/patches/{mod.pk}/approve/", {"comment": ""}, follow=True)
    assert "A comment is required for a CRITICAL patch" in response.content.decode()
    assert not Approval.objects.exists()


def test_it_offers_no_decision_on_ones_own_submission(workspace: Any, reviewer: Any) -> None:
    mod = awaiting(workspace, "LOW_RISK", submitted_by=reviewer)
    html = _client(reviewer).get(f"/patches/{mod.pk}/").content.decode()
    assert 'id="approve-button"' not in html
    assert "You submitted this patch" in html


def test_it_bulk_approves_from_the_dashboard(workspace: Any, reviewer: Any) -> None:
    low, high = awaiting(workspace, "LOW_RISK"), awaiting(workspace, "HIGH_RISK")
    response = _client(reviewer).post(
        "/patches/bulk-approve/", {"ids": [low.pk, high.pk]}, follow=True
    )
    html = response.content.decode()
    assert "Approved 1 patch(es)." in html and "open it and decide on its own page" in html
    assert Modification.objects.get(pk=low.pk).status == "approved"
    assert Modification.objects.get(pk=high.pk).status == "awaiting_approval"


def test_it_answers_400_to_bulk_ids_that_are_not_numbers(reviewer: Any) -> None:
    assert _client(reviewer).post("/patches/bulk-approve/", {"ids": ["x"]}).status_code == 400


def test_it_answers_404_for_a_missing_patch(reviewer: Any) -> None:
    assert _client(reviewer).get("/patches/999999/").status_code == 404


def test_it_marks_a_run_without_isolation_loudly(workspace: Any, reviewer: Any) -> None:
    from healing.models import SandboxRun

    workspace.isolation_level = "none"
    workspace.save(update_fields=["isolation_level"])
    mod = awaiting(workspace, "MEDIUM_RISK")
    SandboxRun.objects.create(
        workspace=workspace,
        modification=mod,
        kind="patched",
        commit="0" * 40,
        test_command=workspace.test_command,
        isolation_level="none",
        ok=True,
    )
    html = _client(reviewer).get(f"/patches/{mod.pk}/").content.decode()
    sandbox = html[html.index('id="sandbox"') :]
    assert "patched · " in sandbox and "NO ISOLATION" in sandbox
    head = html[: html.index('class="review-grid"')]
    assert "NO ISOLATION" in head  # the workspace's own level, in the page head
