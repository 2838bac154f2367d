"""Shared helpers of the judgement tests (issue #5): real rows, real outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from healing.breakers import record_outcome
from healing.models import EngineBreaker, ErrorTypeCircuit
from tests import factories


def fail(workspace: Any, error_type: str = "logic", n: int = 1, **fields: Any) -> list[Any]:
    return outcomes(workspace, error_type, [False] * n, **fields)


def succeed(workspace: Any, error_type: str = "logic", n: int = 1, **fields: Any) -> list[Any]:
    return outcomes(workspace, error_type, [True] * n, **fields)


def outcomes(
    workspace: Any, error_type: str, results: list[bool], stage: str = "apply", **fields: Any
) -> list[Any]:
    mods = []
    for success in results:
        mod = factories.make_modification(workspace, error_type=error_type, **fields)
        record_outcome(mod, success=success, stage=stage)
        mods.append(mod)
    return mods


def cool_down_circuit(workspace: Any, error_type: str) -> None:
    """Time passes: the circuit's cool-down is over."""
    ErrorTypeCircuit.objects.filter(workspace=workspace, error_type=error_type).update(
        retry_at=timezone.now() - timedelta(seconds=1)
    )


def cool_down_engine() -> None:
    EngineBreaker.objects.filter(pk=1).update(retry_at=timezone.now() - timedelta(seconds=1))
