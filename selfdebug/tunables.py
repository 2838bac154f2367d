"""Admin-tunable settings of self-debugging (workspaces may override them)."""

from __future__ import annotations

from healing.tunables import Tunable, register

GROUP = "Self-debugging"

register(
    Tunable(
        "diagnostics.schedule_interval_minutes",
        1440,
        GROUP,
        "Run diagnostics on each active workspace this often (0: never on a schedule).",
        kind=int,
        min=0,
        max=60 * 24 * 30,
        unit="minutes",
    ),
    Tunable(
        "diagnostics.test_timeout_seconds",
        300,
        GROUP,
        "Wall-clock limit of one sandboxed test run of a diagnostic (the other limits are the "
        "sandbox's).",
        kind=int,
        min=5,
        max=3600,
        unit="s",
    ),
    Tunable(
        "diagnostics.isolation_budget",
        30,
        GROUP,
        "Reruns allowed per diagnostic run to tell flaky and order-dependent tests from real failures.",
        kind=int,
        min=0,
        max=500,
    ),
    Tunable(
        "diagnostics.verify_fixes",
        True,
        GROUP,
        "Re-run the tests with each template fix applied before proposing it.",
        kind=bool,
    ),
    Tunable(
        "diagnostics.auto_propose",
        True,
        GROUP,
        "Submit fixes that passed verification as modifications (source builtin:<pattern>); they then "
        "meet the same validation, sandbox, breakers and approvals as any patch.",
        kind=bool,
    ),
    Tunable(
        "diagnostics.coverage",
        True,
        GROUP,
        "Measure coverage (coverage.py) on diagnostic runs.",
        kind=bool,
    ),
    Tunable(
        "diagnostics.static_analysis",
        True,
        GROUP,
        "Scan Python files with pyflakes, bandit and AST checks on each diagnostic run.",
        kind=bool,
    ),
    Tunable(
        "diagnostics.max_failures",
        50,
        GROUP,
        "Failures diagnosed per run (the rest are counted, not analysed).",
        kind=int,
        min=1,
        max=1000,
    ),
    Tunable(
        "diagnostics.search_budget",
        20,
        GROUP,
        "Mutants (one changed operator or constant) tried per assertion failure that no template "
        "fixes; the first that passes the tests is proposed for review. 0: no search.",
        kind=int,
        min=0,
        max=500,
    ),
)
