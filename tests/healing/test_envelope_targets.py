"""`error_classification.targets`: the failing tests a patch names, bounded by the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from healing.models import Modification
from tests.intake_helpers import envelope

pytestmark = pytest.mark.django_db

URL = "/api/v1/patches/"


def post(client: Any, body: dict) -> Any:
    return client.generic("POST", URL, json.dumps(body), content_type="application/json")


def with_targets(targets: Any) -> dict:
    return envelope(
        error_classification={"error_type": "logic", "severity": "medium", "targets": targets}
    )


def test_it_keeps_the_targets_an_engine_names(api_as: Any, agent: Any, workspace: Any) -> None:
    targets = ["tests/test_x.py", "tests/test_x.py::test_y", "tests/test_x.py::T::test_z[1-2]"]
    response = post(api_as(agent), with_targets(targets))
    assert response.status_code == 201, response.json()
    mod = Modification.objects.get(pk=response.json()["id"])
    assert mod.envelope["error_classification"]["targets"] == targets


@pytest.mark.parametrize(
    ("targets", "needle"),
    [
        (["tests/test_x.py"] * 2, "Items must be unique."),
        ([f"tests/test_{i}.py" for i in range(101)], "At most 100 items."),
        (["x" * 501], "At most 500 characters."),
        ([""], "At least 1 character(s)."),
        (["tests/test x.py"], "A test id or id prefix"),
        (["tests/test_x.py\n::test_y"], "A test id or id prefix"),
        ([7], "Must be of type string"),
        ("tests/test_x.py", "Must be of type array"),
    ],
)
def test_it_refuses_targets_out_of_bounds_by_field(
    api_as: Any, agent: Any, workspace: Any, targets: Any, needle: str
) -> None:
    response = post(api_as(agent), with_targets(targets))
    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    messages = " ".join(
        m for k, v in fields.items() if k.startswith("error_classification.targets") for m in v
    )
    assert needle in messages, fields
    assert not Modification.objects.exists()
