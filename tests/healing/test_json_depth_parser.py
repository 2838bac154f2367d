"""Bodies nested past a sane depth are a 400 on every API endpoint, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from healing.api.parsers import json_depth

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return '{"reason": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("agent", "/api/v1/patches/"),
        ("agent", "/api/v1/snapshots/"),
        ("agent", "/api/v1/baseline/"),
        ("operator", "/api/v1/engine/emergency-stop/"),
        ("operator", "/api/v1/loop/start/"),
        ("admin_user", "/api/v1/workspaces/"),
    ],
)
def test_it_refuses_json_nested_900_deep_with_a_400(
    request: Any, api_as: Any, persona: str, url: str
) -> None:
    client = api_as(request.getfixturevalue(persona))
    response = client.post(url, data=_nested(900), content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert "deeper than 64" in response.content.decode()


def test_it_accepts_json_within_the_limit(api_as: Any, operator: Any) -> None:
    body = '{"reason": "drill", "x": ' + "[" * 60 + "]" * 60 + "}"
    response = api_as(operator).post(
        "/api/v1/engine/emergency-stop/", data=body, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def test_it_does_not_count_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{\\"[["}') == 1
    assert json_depth("[" * 10 + "]" * 10) == 10
