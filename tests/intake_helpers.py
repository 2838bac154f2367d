"""Envelopes and diffs shared by the intake tests."""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

_ids = itertools.count(1)

FIX_DIFF = (
    "diff --git a/app.py b/app.py\n"
    "--- a/app.py\n"
    "+++ b/app.py\n"
    "@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n"
    "-    return a + b\n"
    "+    return b + a\n"
)

RM_RF_DIFF = (
    "diff --git a/app.py b/app.py\n"
    "--- a/app.py\n"
    "+++ b/app.py\n"
    "@@ -1,2 +1,5 @@\n"
    "+import os\n"
    "+\n"
    " def add(a, b):\n"
    '+    os.system("rm -rf /")\n'
    "     return a + b\n"
)

ESCAPE_DIFF = (
    "diff --git a/../outside.py b/../outside.py\n"
    "--- a/../outside.py\n"
    "+++ b/../outside.py\n"
    "@@ -1 +1 @@\n"
    "-x = 1\n"
    "+x = 2\n"
)


def envelope(diff: str = FIX_DIFF, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema_version": "2.0",
        "patch_id": f"agent-{next(_ids):04d}",
        "workspace": "demo",
        "language": "python",
        "error_classification": {"error_type": "logic", "severity": "medium"},
        "confidence_scoring": {"logits": [2.1, 0.4, 0.2]},
        "patch_data": {"diff": diff},
    }
    for key, value in overrides.items():
        body[key] = value
    return copy.deepcopy(body)


def wait_for_patch(
    client: Any, pk: int, statuses: set[str], timeout: float, interval: float = 0.2
) -> dict[str, Any]:
    """Poll GET /api/v1/patches/{pk}/ until its status is one of `statuses` (bounded)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/patches/{pk}/")
        assert response.status_code == 200, response.content
        body = response.json()
        if body["status"] in statuses:
            return body
        time.sleep(interval)
    raise AssertionError(f"patch {pk} still {body.get('status')!r} after {timeout} s: {body}")
