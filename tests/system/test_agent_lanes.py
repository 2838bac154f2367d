"""Agents stay in their own lane: their own telemetry source and baseline, the workspaces their
token was granted; anything else is a 403 and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from healing.actions.tokens import do_grant_workspaces
from healing.models import ApiToken, Modification
from monitoring.models import Baseline, TelemetrySnapshot
from monitoring.synthetic import api_payload
from tests import factories
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db


def _grant(user: Any, name: str) -> None:
    user.groups.add(Group.objects.get_or_create(name=name)[0])


def _grant_workspace(user: Any, name: str) -> None:
    """As the console's tokens page does: add `name` to the grant of the user's key."""
    factories.token_for(user)
    token = ApiToken.objects.live().get(user=user)
    do_grant_workspaces(
        "user:ada-admin", token, [*token.workspaces.values_list("name", flat=True), name]
    )


def test_it_refuses_snapshots_written_under_another_agents_source(api_as: Any, agent: Any) -> None:
    factories.make_user("agent-victim", role="agent")
    for body in (
        {"source": "agent:agent-victim", "snapshots": api_payload(3)},
        [{**api_payload(1)[0], "source": "agent:agent-victim"}],
        {**api_payload(1)[0], "source": "prod-web"},
    ):
        response = api_as(agent).post("/api/v1/snapshots/", body, format="json")
        assert response.status_code == 403, response.content
    assert not TelemetrySnapshot.objects.exists()


def test_it_stores_snapshots_under_its_own_source_or_a_granted_one(api_as: Any, agent: Any) -> None:
    own = api_as(agent).post(
        "/api/v1/snapshots/",
        {"source": "agent:agent-7/web-1", "snapshots": api_payload(2)},
        format="json",
    )
    assert own.status_code == 201, own.content
    _grant(agent, "source:prod-web")
    granted = api_as(agent).post(
        "/api/v1/snapshots/", {"source": "prod-web", "snapshots": api_payload(2)}, format="json"
    )
    assert granted.status_code == 201, granted.content


def test_it_refuses_a_baseline_reset_of_another_source(
    api_as: Any, agent: Any, operator: Any
) -> None:
    coords = api_payload(1)[0]["basin_coords"]
    response = api_as(agent).post(
        "/api/v1/baseline/", {"source": "prod-web", "basin_coords": coords}, format="json"
    )
    assert response.status_code == 403
    assert not Baseline.objects.exists()
    mine = api_as(agent).post(
        "/api/v1/baseline/", {"source": "agent:agent-7", "basin_coords": coords}, format="json"
    )
    assert mine.status_code == 201, mine.content
    # Operators keep every lane.
    theirs = api_as(operator).post(
        "/api/v1/baseline/", {"source": "prod-web", "basin_coords": coords}, format="json"
    )
    assert theirs.status_code == 201


def test_it_refuses_a_patch_to_a_workspace_granted_to_other_agents(
    api_as: Any, workspace: Any, agent: Any
) -> None:
    owner = factories.make_user("agent-owner", role="agent")
    _grant_workspace(owner, workspace.name)
    response = api_as(agent).post("/api/v1/patches/", envelope(patch_id="intrude"), format="json")
    assert response.status_code == 403, response.content
    assert "reserved" in response.json()["fields"]["workspace"][0]
    assert not Modification.objects.exists()
    ok = api_as(owner).post("/api/v1/patches/", envelope(patch_id="mine"), format="json")
    assert ok.status_code == 201, ok.content
    _grant_workspace(agent, workspace.name)
    again = api_as(agent).post("/api/v1/patches/", envelope(patch_id="granted"), format="json")
    assert again.status_code == 201, again.content
