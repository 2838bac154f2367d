"""Sandbox, apply, backups and rollback (issue #4). See docs/architecture.md for the contract.

CONTRACT PLACEHOLDER: the sandbox issue replaces this module's body; other areas call only the
names below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TestOutcome:
    nodeid: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""
    duration_ms: float = 0.0


@dataclass
class SandboxResult:
    ok: bool  # the patch introduced no new failure and ran within its limits
    isolation_level: str
    limit_hit: str | None = None  # wall_time | memory | cpu | processes | file_size | output | emergency_stop
    duration_ms: float = 0.0
    tests: list[TestOutcome] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)  # failing now, passing on the baseline
    fixed: list[str] = field(default_factory=list)  # failing on the baseline, passing now
    coverage: float | None = None  # 0..1 coverage of the touched lines, when measured
    output_tail: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def run_tests(workspace: Any, *, diff: str | None = None, test_ids: list[str] | None = None) -> SandboxResult:
    """Run the workspace's tests on a scratch tree of HEAD (with `diff` applied), isolated."""
    raise NotImplementedError("the sandbox lands with issue #4")
