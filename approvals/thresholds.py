"""The thresholds page's form: every registered tunable, grouped, validated all at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict

from healing import tunables
from healing.actions import do_change_setting
from healing.models import Setting


@dataclass
class Field:
    tunable: tunables.Tunable
    value: Any
    is_default: bool
    raw: str
    error: str = ""

    @property
    def name(self) -> str:
        return "t__" + self.tunable.key

    @property
    def input_id(self) -> str:
        return "id_" + self.tunable.key.replace(".", "_")

    @property
    def input_type(self) -> str:
        t = self.tunable
        if t.kind is bool:
            return "checkbox"
        if t.choices:
            return "select"
        if t.kind in (int, float):
            return "number"
        return "text"

    @property
    def step(self) -> str:
        return "1" if self.tunable.kind is int else "any"


def _display(value: Any) -> str:
    return "" if value is None else str(value)


def fields(
    posted: QueryDict | None = None, errors: dict[str, str] | None = None
) -> dict[str, list[Field]]:
    stored = dict(Setting.objects.values_list("key", "value"))
    result: dict[str, list[Field]] = {}
    for group, items in tunables.groups().items():
        for t in items:
            value = stored.get(t.key, t.default)
            raw = _display(value)
            if posted is not None:
                raw = _raw_from_post(t, posted)
            result.setdefault(group, []).append(
                Field(t, value, t.key not in stored, raw, (errors or {}).get(t.key, ""))
            )
    return result


def _raw_from_post(t: tunables.Tunable, posted: QueryDict) -> str:
    name = "t__" + t.key
    if t.kind is bool:
        # A checkbox sends nothing when unticked; the hidden marker says the field was on the form.
        return "true" if posted.get(name) else "false"
    return posted.get(name, "")


def apply(user: Any, posted: QueryDict) -> tuple[list[str], dict[str, str]]:
    """Validate every field first; store only if all are valid (nothing half-stored).
    Returns (changed keys, errors by key)."""
    reason = (posted.get("reason") or "").strip()
    stored = dict(Setting.objects.values_list("key", "value"))
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, t in tunables.REGISTRY.items():
        if ("t__" + key) not in posted and ("present__" + key) not in posted:
            continue  # not on this form: leave it alone
        try:
            value = t.clean(_raw_from_post(t, posted))
        except ValidationError as exc:
            errors[key] = " ".join(exc.messages)
            continue
        if value != stored.get(key, t.default):
            cleaned[key] = value
    if errors:
        return [], errors
    with transaction.atomic():
        for key, value in cleaned.items():
            do_change_setting(user, key, value, reason)
    return sorted(cleaned), {}
