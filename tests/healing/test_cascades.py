"""Cascading errors: linked chains stop at depth 5, on repeats, falling confidence, rising severity."""

from __future__ import annotations

from typing import Any

import pytest

from healing.breakers import run_preflight
from healing.cascades import do_link_patch, do_record_followup_error
from healing.models import AuditEvent, Cascade, CascadeLink, Modification
from tests import factories

pytestmark = pytest.mark.django_db

TYPES = ["logic", "runtime", "logic", "runtime", "logic", "runtime"]


def chain_of(
    workspace: Any,
    error_types: list[str],
    confidences: list[float] | None = None,
    severities: list[str] | None = None,
) -> list[Any]:
    """Each patch's sandbox run reveals a new error, and the next patch is proposed for it."""
    confidences = confidences or [0.5 + 0.05 * i for i in range(len(error_types))]
    severities = severities or ["medium"] * len(error_types)
    mods: list[Any] = []
    parent = None
    for error_type, confidence, severity in zip(error_types, confidences, severities, strict=True):
        if parent is not None:
            do_record_followup_error(
                parent,
                error_type=error_type,
                severity=severity,
                message=f"{error_type} after {parent.patch_id}",
            )
        mod = factories.make_modification(
            workspace,
            parent=parent,
            error_type=error_type,
            severity=severity,
            confidence=confidence,
            base_commit="a" * 40 if parent is None else "",
        )
        run_preflight(mod, stage="intake")  # intake links a patch with a parent into the chain
        mods.append(mod)
        parent = mod
    return mods


def test_it_stops_a_cascade_of_six_linked_failures_at_five(workspace: Any) -> None:
    mods = chain_of(workspace, TYPES)
    cascade = Cascade.objects.get()
    assert cascade.status == "stopped"
    assert [r["rule"] for r in cascade.stop_reasons] == ["max_depth"]
    assert cascade.stop_reasons[0]["value"] == 6 and cascade.stop_reasons[0]["threshold"] == 5
    assert cascade.recommendations[:2] == [
        "Stop attempting fixes: the cascade is not converging (cascade depth exceeded: 6 > 5)",
        f"Roll back to the last good state (commit {'a' * 12})",
    ]
    assert "Consider human review for complex logic" in cascade.recommendations
    assert "Add comprehensive runtime testing" in cascade.recommendations

    # The five attempted patches sit at depths 1–5; the sixth is blocked by pre-flight.
    assert list(CascadeLink.objects.order_by("depth").values_list("depth", "modification_id")) == [
        (i + 1, mod.pk) for i, mod in enumerate(mods)
    ]
    result = run_preflight(mods[5], stage="intake")
    block = next(c for c in result.checks if c.name == "cascade")
    assert not result.ok
    assert (block.metric, block.value, block.threshold) == ("cascade_depth", 6, 5)
    assert block.retry_at is None and "Roll back" in block.reason
    assert Modification.objects.get(pk=mods[5].pk).cascade_depth == 5
    assert AuditEvent.objects.filter(kind="cascade.stop").count() == 1


def test_it_lets_a_chain_of_five_go_on(workspace: Any) -> None:
    mods = chain_of(workspace, TYPES[:5])
    assert Cascade.objects.get().status == "open"
    check = next(c for c in run_preflight(mods[4], stage="intake").checks if c.name == "cascade")
    assert check.ok and check.value == 5


def test_it_stops_on_the_same_error_type_three_times_in_a_row(workspace: Any) -> None:
    chain_of(workspace, ["runtime", "syntax", "syntax", "syntax"])
    cascade = Cascade.objects.get()
    assert [r["rule"] for r in cascade.stop_reasons] == ["repeating_type"]
    assert cascade.recommendations[0] == "Focus on syntax validation"


def test_it_stops_when_confidence_keeps_falling(workspace: Any) -> None:
    chain_of(workspace, ["logic", "runtime", "logic"], confidences=[0.9, 0.8, 0.7])
    cascade = Cascade.objects.get()
    assert [r["rule"] for r in cascade.stop_reasons] == ["falling_confidence"]
    assert "Consider human review for complex logic" in cascade.recommendations


def test_it_stops_when_severity_rises(workspace: Any) -> None:
    chain_of(workspace, ["logic", "security"], severities=["low", "high"])
    cascade = Cascade.objects.get()
    assert [r["rule"] for r in cascade.stop_reasons] == ["rising_severity"]
    assert "Security review recommended" in cascade.recommendations
    assert any(r.startswith("Roll back to the last good state") for r in cascade.recommendations)


def test_it_links_a_patch_once(workspace: Any) -> None:
    root, child = chain_of(workspace, ["logic", "runtime"])
    do_link_patch(child)
    do_link_patch(child)
    assert CascadeLink.objects.count() == 2


def test_it_returns_the_chain_as_json(
    workspace: Any, api_as: Any, reviewer: Any, agent: Any
) -> None:
    mods = chain_of(workspace, TYPES)
    cascade = Cascade.objects.get()
    response = api_as(reviewer).get(f"/api/v1/cascades/{cascade.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (
        body["status"] == "stopped"
        and body["depth"] == 6
        and body["root_modification_id"] == mods[0].pk
    )
    assert [link["depth"] for link in body["chain"]] == [1, 2, 3, 4, 5, 6]
    assert body["chain"][5]["modification"]["patch_id"] == mods[5].patch_id
    assert body["chain"][1]["error_type"] == "runtime"
    assert api_as(reviewer).get("/api/v1/cascades/999999/").status_code == 404
    assert api_as(agent).get(f"/api/v1/cascades/{cascade.pk}/").status_code == 403
