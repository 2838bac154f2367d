"""Property tests: whatever arrives at POST /api/v1/patches/, the answer is never a 500, a 4xx
leaves no row behind, and whatever is accepted can be validated without crashing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from healing.intake.tasks import process_modification
from healing.models import AuditEvent, Modification
from tests.intake_helpers import FIX_DIFF, envelope

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
ENVELOPE_KEYS = [
    "schema_version",
    "patch_id",
    "workspace",
    "language",
    "error_classification",
    "confidence_scoring",
    "patch_data",
    "metadata",
    "circuit_breaker_state",
]

diff_like = st.builds(
    lambda path, old, new, junk: (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n{old}\n{new}\n{junk}"
    ),
    st.sampled_from(
        ["app.py", "../x.py", "/etc/passwd", "a b.py", "x.js", ".git/config", "dir/../../y.php", ""]
    ),
    st.text(max_size=30).map(lambda t: " def add(a, b):" if not t else "-" + t.replace("\n", " ")),
    st.text(max_size=30).map(lambda t: "+" + t.replace("\n", " ")),
    st.text(max_size=60),
)


@st.composite
def mutated_envelopes(draw: Any) -> dict[str, Any]:
    body = envelope(FIX_DIFF)
    for key in draw(st.lists(st.sampled_from(ENVELOPE_KEYS), max_size=3, unique=True)):
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(json_values)
    if draw(st.booleans()):
        body["patch_data"] = {"diff": draw(diff_like | st.text(max_size=200))}
    return body


def _check(client: Any, payload: bytes) -> None:
    before = (Modification.objects.count(), AuditEvent.objects.count())
    response = client.generic("POST", "/api/v1/patches/", payload, content_type="application/json")
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert (Modification.objects.count(), AuditEvent.objects.count()) == before
        body = response.json()
        assert body["error"] and body["detail"]
        assert isinstance(body.get("fields", {}), dict)
    else:
        assert response.status_code == 201
        status = process_modification.run(response.json()["id"])
        assert status in {"rejected", "sandboxing", "blocked"}


@PROPERTY_SETTINGS
@given(payload=st.binary(max_size=400))
def test_it_never_fails_on_arbitrary_bytes(
    api_as: Any, agent: Any, workspace: Any, payload: bytes
) -> None:
    _check(api_as(agent), payload)


@PROPERTY_SETTINGS
@given(value=json_values)
def test_it_never_fails_on_arbitrary_json(
    api_as: Any, agent: Any, workspace: Any, value: Any
) -> None:
    _check(api_as(agent), json.dumps(value).encode())


@PROPERTY_SETTINGS
@given(body=mutated_envelopes())
def test_it_never_fails_on_mutated_envelopes(
    api_as: Any, agent: Any, workspace: Any, body: dict[str, Any]
) -> None:
    _check(api_as(agent), json.dumps(body).encode())
