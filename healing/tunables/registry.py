"""The registry of every threshold an admin can tune (see the package's docstring).

Healing's tunables are declared in `declarations.py`, monitoring's and the console's in their
app's `tunables.py`, each with `register(Tunable(...))` at import time; the thresholds page,
the API and the admin read the registry, `get()` reads the value (an admin's override from the
`Setting` table, else the default). Workspaces may override a key in `policy_overrides`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Tunable:
    key: str
    default: Any
    group: str
    help: str
    kind: type = float
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = field(default_factory=tuple)
    unit: str = ""

    def clean(self, raw: Any) -> Any:
        """Coerce and check one value; raise ValidationError with a readable message."""
        try:
            if self.kind is bool:
                if isinstance(raw, str):
                    if raw.lower() not in {"true", "false", "1", "0", "on", "off", "yes", "no"}:
                        raise ValueError(raw)
                    value: Any = raw.lower() in {"true", "1", "on", "yes"}
                else:
                    value = bool(raw)
            elif self.kind is int:
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError(raw)
                value = int(raw)
            elif self.kind is float:
                value = float(raw)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError(raw)
            else:
                value = str(raw)
        except (TypeError, ValueError):
            raise ValidationError(
                f"{self.key}: {raw!r} is not a valid {self.kind.__name__}."
            ) from None
        if self.choices and value not in self.choices:
            raise ValidationError(f"{self.key}: {value!r} is not one of {', '.join(self.choices)}.")
        if self.min is not None and value < self.min:
            raise ValidationError(f"{self.key}: {value} is below the minimum {self.min}.")
        if self.max is not None and value > self.max:
            raise ValidationError(f"{self.key}: {value} is above the maximum {self.max}.")
        return value


REGISTRY: dict[str, Tunable] = {}


def register(*tunables: Tunable) -> None:
    for tunable in tunables:
        existing = REGISTRY.get(tunable.key)
        if existing is not None and existing != tunable:
            raise ValueError(f"Tunable {tunable.key} registered twice with different definitions")
        REGISTRY[tunable.key] = tunable


def get_tunable(key: str) -> Tunable:
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"Unknown tunable {key!r}") from None


def get(key: str, workspace: Any = None) -> Any:
    """The value in force: the workspace's override, else the admin's setting, else the default."""
    tunable = get_tunable(key)
    if workspace is not None and key in (workspace.policy_overrides or {}):
        return tunable.clean(workspace.policy_overrides[key])
    from ..models import Setting

    row = Setting.objects.filter(key=key).values_list("value", flat=True).first()
    return tunable.default if row is None else tunable.clean(row)


def get_many(keys: Iterable[str], workspace: Any = None) -> dict[str, Any]:
    """Several values in one query."""
    from ..models import Setting

    keys = list(keys)
    tunables = {key: get_tunable(key) for key in keys}
    stored = dict(Setting.objects.filter(key__in=keys).values_list("key", "value"))
    overrides = (workspace.policy_overrides or {}) if workspace is not None else {}
    values = {}
    for key, tunable in tunables.items():
        if key in overrides:
            values[key] = tunable.clean(overrides[key])
        elif key in stored:
            values[key] = tunable.clean(stored[key])
        else:
            values[key] = tunable.default
    return values


def get_group(prefix: str, workspace: Any = None) -> dict[str, Any]:
    return get_many([k for k in REGISTRY if k.startswith(prefix)], workspace)


def groups() -> dict[str, list[Tunable]]:
    result: dict[str, list[Tunable]] = {}
    for tunable in sorted(REGISTRY.values(), key=lambda t: (t.group, t.key)):
        result.setdefault(tunable.group, []).append(tunable)
    return result
