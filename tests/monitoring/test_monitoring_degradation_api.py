from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from monitoring.actions import do_ingest_snapshots, do_set_baseline
from monitoring.synthetic import stream

pytestmark = pytest.mark.django_db
URL = "/api/v1/degradation/"


def _feed(count: int = 100, **levels: Any) -> None:
    start = timezone.now() - timedelta(seconds=10 * count)
    do_ingest_snapshots(
        stream(count, start=start, step=timedelta(seconds=10), source="app", **levels)
    )


def test_it_reports_a_healthy_stream_as_not_degraded(api_as: Any, reviewer: Any) -> None:
    _feed()
    body = api_as(reviewer).get(URL).json()
    assert body["degraded"] is False
    assert body["issues"] == []
    metrics = body["sources"]["app"]
    assert metrics["snapshot_count"] == 100
    assert metrics["regime"] == "geometric"
    assert len([k for k in metrics if k not in {"snapshot_count", "baseline_set"}]) >= 13


def test_it_names_metric_value_and_threshold_of_each_issue(api_as: Any, reviewer: Any) -> None:
    _feed(phi=0.5, latency_ms=3000.0, error_rate=0.2, kappa=40.0)
    body = api_as(reviewer).get(URL, {"source": "app"}).json()
    assert body["degraded"] is True
    by_metric = {i["metric"]: i for i in body["issues"]}
    assert set(by_metric) == {"phi", "latency_ms", "error_rate", "kappa_eff"}
    assert by_metric["phi"]["threshold"] == 0.651
    assert by_metric["phi"]["value"] == pytest.approx(0.5, abs=0.02)
    assert by_metric["latency_ms"]["threshold"] == 2000.0
    assert by_metric["kappa_eff"]["threshold"] == 64.21
    assert all(i["source"] == "app" for i in body["issues"])


def test_it_measures_basin_drift_from_the_baseline(
    api_as: Any, reviewer: Any, operator: Any
) -> None:
    _feed(basin_center=np.zeros(64))
    far = np.zeros(64)
    far[:4] = 12.0  # softmax puts almost all mass on 4 of 64 coordinates: far from uniform
    do_set_baseline(operator, source="app", basin_coords=far.tolist(), reason="test")
    body = api_as(reviewer).get(URL).json()
    drift = next(i for i in body["issues"] if i["metric"] == "basin_drift")
    assert drift["value"] > 2.0 and drift["threshold"] == 2.0


def test_it_sets_a_baseline_from_the_recent_window_through_the_api(
    api_as: Any, operator: Any, reviewer: Any
) -> None:
    _feed()
    response = api_as(operator).post(
        "/api/v1/baseline/", {"source": "app", "reason": "after deploy"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["sample_count"] == 20
    metrics = api_as(reviewer).get(URL).json()["sources"]["app"]
    assert metrics["baseline_set"] and metrics["basin_drift"] < 0.1


def test_it_refuses_a_baseline_of_the_wrong_length(api_as: Any, operator: Any) -> None:
    response = api_as(operator).post(
        "/api/v1/baseline/", {"source": "app", "basin_coords": [0.1] * 3}, format="json"
    )
    assert response.status_code == 400
    assert "basin_coords" in response.json()["fields"]


@pytest.mark.parametrize(
    ("persona", "code"),
    [("agent", 403), ("outsider", 403), ("reviewer", 200), ("operator", 200), ("admin_user", 200)],
)
def test_it_shows_degradation_to_reviewers_and_above(
    api_as: Any, request: Any, persona: str, code: int
) -> None:
    assert api_as(request.getfixturevalue(persona)).get(URL).status_code == code


def test_it_refuses_a_baseline_holding_nan(api_as: Any, operator: Any) -> None:
    import json

    body = json.dumps({"source": "app", "basin_coords": [0.0] * 63 + ["__X__"]}).replace(
        '"__X__"', "NaN"
    )
    response = api_as(operator).post(
        "/api/v1/baseline/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert "basin_coords" in response.json()["fields"]
