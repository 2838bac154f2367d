"""patch_id is unique per agent: one agent neither learns nor claims another's ids."""

from __future__ import annotations

from typing import Any

import pytest

from healing.models import Modification
from tests import factories
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db


def test_it_lets_two_agents_use_the_same_patch_id(api_as: Any, workspace: Any, agent: Any) -> None:
    other = factories.make_user("agent-other", role="agent")
    first = api_as(agent).post("/api/v1/patches/", envelope(patch_id="fix-1"), format="json")
    assert first.status_code == 201, first.content
    # The other agent probing for "fix-1" learns nothing: its own submission is simply accepted.
    second = api_as(other).post("/api/v1/patches/", envelope(patch_id="fix-1"), format="json")
    assert second.status_code == 201, second.content
    assert "agent-7" not in second.content.decode()
    mine = Modification.objects.get(pk=first.json()["id"])
    assert mine.submitted_by == agent and mine.status != "cancelled"
    # Each sees only its own.
    listed = api_as(other).get("/api/v1/patches/").json()["results"]
    assert [p["id"] for p in listed] == [second.json()["id"]]


def test_it_still_refuses_one_agent_reusing_its_own_patch_id(
    api_as: Any, workspace: Any, agent: Any
) -> None:
    assert (
        api_as(agent)
        .post("/api/v1/patches/", envelope(patch_id="fix-2"), format="json")
        .status_code
        == 201
    )
    again = api_as(agent).post("/api/v1/patches/", envelope(patch_id="fix-2"), format="json")
    assert again.status_code == 409
    assert Modification.objects.filter(patch_id="fix-2").count() == 1
