from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from healing.actions import record_event
from healing.models import AuditEvent
from monitoring.actions import do_compute_fitness, do_ingest_snapshots
from monitoring.synthetic import stream
from tests import factories

pytestmark = pytest.mark.django_db
STEP = timedelta(seconds=30)


def _applied_at(workspace: Any, at: Any, **levels_after: Any) -> Any:
    start = at - STEP * 40
    before = stream(40, start=start, step=STEP, source="app", seed=4)
    after = stream(40, start=at, step=STEP, source="app", seed=4, **levels_after)
    do_ingest_snapshots(before + after)
    mod = factories.make_modification(workspace, status="applied")
    event = record_event(
        "modification.transition",
        "system",
        modification_id=mod.pk,
        from_state="applying",
        to_state="applied",
    )
    AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
    return mod


def test_it_recommends_apply_when_nothing_got_worse(workspace: Any) -> None:
    mod = _applied_at(workspace, timezone.now() - STEP * 40)
    result = do_compute_fitness(mod, "post_apply")
    assert result["recommendation"] == "apply"
    assert result["fitness"] >= 0.7
    assert set(result["components"]) == {"phi", "basin", "regime", "performance"}
    mod.refresh_from_db()
    assert mod.fitness["post_apply"]["fitness"] == result["fitness"]
    assert mod.fitness["latest"] == "post_apply"


def test_it_recommends_reject_when_phi_fell_out_of_the_band_and_latency_doubled(
    workspace: Any,
) -> None:
    mod = _applied_at(workspace, timezone.now() - STEP * 40, phi=0.5, latency_ms=300.0)
    result = do_compute_fitness(mod, "post_apply")
    assert result["components"]["phi"] == 0.0 and result["components"]["regime"] == 0.0
    assert result["recommendation"] == "reject"


def test_it_says_test_more_without_enough_data(workspace: Any) -> None:
    mod = factories.make_modification(workspace, status="applied")
    record_event(
        "modification.transition",
        "system",
        modification_id=mod.pk,
        from_state="applying",
        to_state="applied",
    )
    result = do_compute_fitness(mod, "post_apply")
    assert result["fitness"] is None and result["recommendation"] == "test_more"


def test_it_computes_sandbox_fitness_from_the_modifications_sandbox_snapshots(
    api_as: Any, agent: Any, reviewer: Any, workspace: Any
) -> None:
    mod = factories.make_modification(workspace, status="sandboxing")
    do_ingest_snapshots(
        stream(20, start=mod.created_at - timedelta(minutes=10), step=STEP, source="app", seed=4)
    )
    sandbox = stream(
        10,
        start=timezone.now() - timedelta(seconds=20),
        step=timedelta(seconds=1),
        source="app",
        seed=4,
    )
    for snap in sandbox:
        snap.update(context="sandbox", modification_id=mod.pk)
    do_ingest_snapshots(sandbox)
    response = api_as(reviewer).post(
        f"/api/v1/modifications/{mod.pk}/fitness/", {"phase": "sandbox"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["samples_after"] == 10
    assert response.json()["recommendation"] == "apply"
    assert (
        api_as(agent)
        .post(f"/api/v1/modifications/{mod.pk}/fitness/", {}, format="json")
        .status_code
        == 403
    )
    assert (
        api_as(reviewer)
        .post(f"/api/v1/modifications/{mod.pk}/fitness/", {"phase": "x"}, format="json")
        .status_code
        == 400
    )
