"""Every threshold an admin can tune, in one registry.

Healing's tunables are declared in `declarations.py`, monitoring's and the console's in their
app's `tunables.py`, each with `register(Tunable(...))` at import time; the thresholds page,
the API and the admin read the registry, `get()` reads the value (an admin's override from the
`Setting` table, else the default). Workspaces may override a key in `policy_overrides`.
"""

from __future__ import annotations

# Every healing tunable registers on import of the package, so no reader sees it half-filled.
from .declarations import ANOMALY_LEVELS, DEFAULT_THRESHOLDS, SAFETY_LEVELS
from .registry import REGISTRY, Tunable, get, get_group, get_many, get_tunable, groups, register

__all__ = [
    "ANOMALY_LEVELS",
    "DEFAULT_THRESHOLDS",
    "REGISTRY",
    "SAFETY_LEVELS",
    "Tunable",
    "get",
    "get_group",
    "get_many",
    "get_tunable",
    "groups",
    "register",
]
