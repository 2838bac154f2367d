"""Validation of telemetry snapshots: fast (one pass, numpy for the vector) and precise (every
error names its field, and its index within a batch). Nothing is stored unless all are valid."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import SnapshotContext

REQUIRED_NUMBERS = ("phi", "kappa_eff")
OPTIONAL_NUMBERS = ("confidence", "surprise", "agency", "error_rate", "latency_ms")
KNOWN_FIELDS = frozenset(
    {
        *REQUIRED_NUMBERS,
        *OPTIONAL_NUMBERS,
        "basin_coords",
        "extra",
        "source",
        "recorded_at",
        "context",
        "modification_id",
        "workspace",
    }
)
MAX_EXTRA_KEYS = 64
FUTURE_SLACK = timedelta(minutes=5)


class SnapshotErrors(Exception):
    def __init__(self, fields: dict[str, Any]):
        super().__init__("invalid telemetry")
        self.fields = fields


def _number(value: Any) -> float | str:
    """The float, or an error message."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number."
    if not math.isfinite(value):
        return "must be a finite number (NaN and infinities are refused)."
    return float(value)


def _clean_one(
    raw: Any, dim: int, default_source: str, now: datetime
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["A snapshot must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        errors["non_field_errors"] = [
            f"Unknown field(s): {', '.join(unknown)}. Put free-form metrics in `extra`."
        ]
    for name in REQUIRED_NUMBERS:
        if name not in raw:
            errors[name] = ["This field is required."]
            continue
        value = _number(raw[name])
        if isinstance(value, str):
            errors[name] = [value]
        else:
            clean[name] = value
    for name in OPTIONAL_NUMBERS:
        if raw.get(name) is None:
            clean[name] = None
            continue
        value = _number(raw[name])
        if isinstance(value, str):
            errors[name] = [value]
        elif name == "error_rate" and not 0.0 <= value <= 1.0:
            errors[name] = ["must be between 0 and 1."]
        elif name == "latency_ms" and value < 0:
            errors[name] = ["must not be negative."]
        else:
            clean[name] = value

    coords = raw.get("basin_coords")
    if coords is None:
        errors["basin_coords"] = ["This field is required."]
    elif not isinstance(coords, list):
        errors["basin_coords"] = ["must be a list of numbers."]
    elif len(coords) != dim:
        errors["basin_coords"] = [f"must have exactly {dim} numbers, got {len(coords)}."]
    else:
        arr = np.array(coords)
        if arr.dtype.kind not in "if":
            errors["basin_coords"] = ["must contain numbers only."]
        elif not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            errors["basin_coords"] = [
                f"must be finite: element {bad} is {arr[bad]!r} (NaN and infinities are refused)."
            ]
        else:
            clean["basin"] = arr.astype("<f8").tobytes()

    extra = raw.get("extra", {})
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        errors["extra"] = ["must be a JSON object."]
    elif len(extra) > MAX_EXTRA_KEYS:
        errors["extra"] = [f"may hold at most {MAX_EXTRA_KEYS} keys."]
    else:
        bad_keys = [k for k, v in extra.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad_keys:
            errors["extra"] = [f"{bad_keys[0]!r} must be finite (NaN and infinities are refused)."]
        clean["extra"] = extra

    source = raw.get("source", default_source)
    if not isinstance(source, str) or not source.strip() or len(source) > 128:
        errors["source"] = ["must be a non-empty string of at most 128 characters."]
    else:
        clean["source"] = source.strip()

    recorded = raw.get("recorded_at")
    if recorded is None:
        clean["recorded_at"] = now
    else:
        when = parse_datetime(recorded) if isinstance(recorded, str) else None
        if when is None:
            errors["recorded_at"] = ["must be an ISO 8601 date and time."]
        elif timezone.is_naive(when):
            errors["recorded_at"] = ["must carry a time zone (e.g. Z or +00:00)."]
        elif when > now + FUTURE_SLACK:
            errors["recorded_at"] = ["is in the future."]
        else:
            clean["recorded_at"] = when

    context = raw.get("context", SnapshotContext.LIVE)
    if context not in SnapshotContext.values:
        errors["context"] = [f"must be one of {', '.join(SnapshotContext.values)}."]
    else:
        clean["context"] = context

    mod_id = raw.get("modification_id")
    if mod_id is not None and (
        isinstance(mod_id, bool) or not isinstance(mod_id, int) or mod_id < 1
    ):
        errors["modification_id"] = ["must be a positive integer."]
    else:
        clean["modification_id"] = mod_id
    workspace = raw.get("workspace")
    if workspace is not None and (not isinstance(workspace, str) or len(workspace) > 64):
        errors["workspace"] = ["must be a workspace name."]
    else:
        clean["workspace"] = workspace
    return clean, errors


def clean_snapshots(
    payload: Any, *, dim: int, max_batch: int, default_source: str
) -> list[dict[str, Any]]:
    """One snapshot (an object), a list of them, or {"snapshots": [...]}; raises SnapshotErrors."""
    batch = isinstance(payload, list) or (isinstance(payload, dict) and "snapshots" in payload)
    items = (
        payload if isinstance(payload, list) else payload.get("snapshots") if batch else [payload]
    )
    if batch and isinstance(payload, dict) and isinstance(payload.get("source"), str):
        default_source = payload["source"]
    if not isinstance(items, list):
        raise SnapshotErrors({"snapshots": ["must be a list of snapshots."]})
    if not items:
        raise SnapshotErrors({"snapshots": ["must not be empty."]})
    if len(items) > max_batch:
        raise SnapshotErrors(
            {"snapshots": [f"holds {len(items)} snapshots; at most {max_batch} per request."]}
        )
    now = timezone.now()
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, Any] = {}
    for index, raw in enumerate(items):
        clean, item_errors = _clean_one(raw, dim, default_source, now)
        if item_errors:
            errors[str(index)] = item_errors
            if len(errors) >= 20:  # enough to fix the client; do not build a megabyte of errors
                break
        cleaned.append(clean)
    if errors:
        raise SnapshotErrors({"snapshots": errors} if batch else errors[next(iter(errors))])
    return cleaned
