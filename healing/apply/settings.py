"""Admin-tunable settings of apply, backups and the post-apply watch."""

from __future__ import annotations

from .. import tunables
from ..tunables import Tunable

GROUP = "Apply and rollback"

tunables.register(
    Tunable(
        "apply.backup_retention_days",
        7,
        GROUP,
        "Backups older than this are pruned.",
        kind=int,
        min=1,
        max=3650,
        unit="days",
    ),
    Tunable(
        "apply.backup_max_count",
        50,
        GROUP,
        "At most this many backups are kept (newest first).",
        kind=int,
        min=1,
        max=10000,
    ),
    Tunable(
        "apply.health_window_s",
        60,
        GROUP,
        "How long health is watched after an apply.",
        kind=int,
        min=0,
        max=3600,
        unit="s",
    ),
    Tunable(
        "apply.max_auto_rollbacks",
        1,
        GROUP,
        "Automatic rollbacks of one patch, at most.",
        kind=int,
        min=0,
        max=1,
    ),
    Tunable("apply.verify_tests", True, GROUP, "Run the tests again after an apply.", kind=bool),
    Tunable(
        "apply.lock_ttl_s",
        600,
        GROUP,
        "A workspace lock older than this is considered abandoned.",
        kind=int,
        min=30,
        max=86400,
        unit="s",
    ),
)
