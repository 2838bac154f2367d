from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group

from monitoring.models import TelemetrySnapshot
from monitoring.synthetic import api_payload

pytestmark = pytest.mark.django_db
URL = "/api/v1/snapshots/"


def _post_raw(client: Any, body: str) -> Any:
    return client.post(URL, data=body, content_type="application/json")


def test_it_stores_one_snapshot_with_its_basin(api_as: Any, agent: Any) -> None:
    snap = api_payload(1)[0]
    response = api_as(agent).post(URL, snap, format="json")
    assert response.status_code == 201, response.json()
    row = TelemetrySnapshot.objects.get()
    assert row.source == "agent:agent-7"
    assert row.basin_coords.tolist() == snap["basin_coords"]
    assert row.phi == pytest.approx(snap["phi"])


def test_it_stores_a_batch_under_the_given_source(api_as: Any, agent: Any) -> None:
    # A source other than its own: an admin granted it (see tests/system/test_agent_lanes.py).
    agent.groups.add(Group.objects.get_or_create(name="source:app-1")[0])
    response = api_as(agent).post(
        URL, {"source": "app-1", "snapshots": api_payload(50)}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["stored"] == 50
    assert set(TelemetrySnapshot.objects.values_list("source", flat=True)) == {"app-1"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phi", "NaN", "finite"),
        ("kappa_eff", "Infinity", "finite"),
        ("latency_ms", "-Infinity", "finite"),
        ("phi", '"high"', "number"),
        ("error_rate", "1.5", "between 0 and 1"),
    ],
)
def test_it_refuses_a_bad_number_naming_the_field(
    api_as: Any, agent: Any, field: str, value: str, message: str
) -> None:
    snap = api_payload(1)[0]
    snap[field] = "__X__"
    body = json.dumps(snap).replace('"__X__"', value)
    response = _post_raw(api_as(agent), body)
    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    assert not TelemetrySnapshot.objects.exists()


def test_it_refuses_a_nan_inside_the_basin_naming_the_element(api_as: Any, agent: Any) -> None:
    snap = api_payload(1)[0]
    snap["basin_coords"][5] = "__X__"
    response = _post_raw(api_as(agent), json.dumps(snap).replace('"__X__"', "NaN"))
    assert response.status_code == 400
    assert "element 5" in response.json()["fields"]["basin_coords"][0]


def test_it_refuses_a_basin_of_the_wrong_length(api_as: Any, agent: Any) -> None:
    snap = api_payload(1, dim=63)[0]
    response = api_as(agent).post(URL, snap, format="json")
    assert response.status_code == 400
    assert "exactly 64" in response.json()["fields"]["basin_coords"][0]


def test_it_stores_nothing_of_a_batch_with_one_bad_snapshot(api_as: Any, agent: Any) -> None:
    batch = api_payload(10)
    batch[7]["basin_coords"] = batch[7]["basin_coords"][:10]
    del batch[3]["phi"]
    response = api_as(agent).post(URL, {"snapshots": batch}, format="json")
    assert response.status_code == 400
    errors = response.json()["fields"]["snapshots"]
    assert set(errors) == {"3", "7"}
    assert "phi" in errors["3"] and "basin_coords" in errors["7"]
    assert not TelemetrySnapshot.objects.exists()


def test_it_refuses_unknown_fields_naive_times_and_unknown_workspaces(
    api_as: Any, agent: Any
) -> None:
    client = api_as(agent)
    snap = api_payload(1)[0]
    assert (
        "Unknown field"
        in client.post(URL, {**snap, "phi2": 1}, format="json").json()["fields"][
            "non_field_errors"
        ][0]
    )
    naive = client.post(URL, {**snap, "recorded_at": "2026-01-01T00:00:00"}, format="json")
    assert "time zone" in naive.json()["fields"]["recorded_at"][0]
    unknown = client.post(URL, {**snap, "workspace": "nope"}, format="json")
    assert unknown.status_code == 400 and "workspace" in unknown.json()["fields"]
    assert not TelemetrySnapshot.objects.exists()


def test_it_refuses_malformed_json_and_empty_batches(api_as: Any, agent: Any) -> None:
    client = api_as(agent)
    assert _post_raw(client, "{not json").status_code == 400
    assert client.post(URL, {"snapshots": []}, format="json").status_code == 400
    assert client.post(URL, [1, 2], format="json").status_code == 400


@pytest.mark.parametrize(
    ("persona", "code"),
    [("reviewer", 403), ("operator", 403), ("outsider", 403), ("admin_user", 201)],
)
def test_it_lets_only_agents_and_admins_post_telemetry(
    api_as: Any, request: Any, persona: str, code: int
) -> None:
    response = api_as(request.getfixturevalue(persona)).post(URL, api_payload(1)[0], format="json")
    assert response.status_code == code


def test_it_answers_401_without_credentials(api_as: Any) -> None:
    assert api_as(None).post(URL, api_payload(1)[0], format="json").status_code == 401
