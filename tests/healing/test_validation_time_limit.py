"""The whole validation of one patch has a time limit: past it the patch is rejected as too
complex, and the rule patterns themselves cannot be made to run for long."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from healing import tunables
from healing.validation import ValidationContext, danger_rules, run_pipeline
from healing.validation.rules import RuleError, check_rule, compile_rule
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_rejects_a_patch_that_takes_longer_than_the_limit(tmp_path: Path, db: Any) -> None:
    assert tunables.get_tunable("validation.time_limit_seconds").default == 20
    repo = factories.make_git_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    ws = factories.make_workspace(
        repo, name="demo", policy_overrides={"validation.time_limit_seconds": 1}
    )
    n = 40_000
    body = "".join(f"+v{i} = f(g(h({i}), 'a' + 'b'), k=[{i}, {i}])\n" for i in range(n))
    diff = f"diff --git a/b.py b/b.py\nnew file mode 100644\n--- /dev/null\n+++ b/b.py\n@@ -0,0 +1,{n} @@\n{body}"
    started = time.monotonic()
    report = run_pipeline(ValidationContext(workspace=ws, diff=diff))
    elapsed = time.monotonic() - started
    assert report.rejected
    (finding,) = [f for f in report.blocking if f.rule == "validation.too_complex"]
    assert "too complex to validate in 1 s" in finding.message
    assert elapsed < 15, elapsed


def test_it_matches_rule_patterns_in_linear_time() -> None:
    # (a+)+$ backtracks exponentially in Python's re: 2**28 steps on this text.
    evil = compile_rule(r"(a+)+$")
    started = time.monotonic()
    assert evil.search("a" * 28 + "!") is None
    assert time.monotonic() - started < 0.5
    for pattern, *_ in danger_rules.SECRETS:
        assert type(pattern) is type(evil)
    assert type(danger_rules.RM_RF) is type(evil)


def test_it_refuses_a_pattern_that_needs_backtracking_where_it_is_defined() -> None:
    assert check_rule(r"(a)\1")
    assert check_rule(r"x(?=y)")
    assert check_rule(r"rm\s+-rf") == ""
    with pytest.raises(RuleError):
        compile_rule(r"(?<=a)b")


def test_it_refuses_an_admin_pattern_that_is_not_linear_time(db: Any) -> None:
    from django.core.exceptions import ValidationError

    from selfdebug.models import KnownPattern

    pattern = KnownPattern(slug="x", name="x", regex=r"(\w+)\s+\1", suggested_action="y")
    with pytest.raises(ValidationError) as caught:
        pattern.full_clean()
    assert "linear-time" in str(caught.value.message_dict["regex"])
