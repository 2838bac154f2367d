"""The engine breaker against a small reference model of the design, over random sequences of
outcomes, cool-downs and apply pre-flights (hypothesis stateful testing, real database rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from healing.breakers import record_outcome, run_preflight
from healing.models import EngineBreaker, Workspace
from tests import factories
from tests.judgement_helpers import (
    cool_down_engine,
    healthy_monitor,  # noqa: F401 - fixture
)

FAILURES_TO_OPEN, SUCCESSES_TO_CLOSE, TRIALS = 5, 3, 3


class Reference:
    def __init__(self) -> None:
        self.state, self.failures, self.successes, self.trials = "CLOSED", 0, 0, 0
        self.cooled = False

    def outcome(self, success: bool) -> None:
        if success:
            self.failures, self.successes = 0, self.successes + 1
        else:
            self.failures, self.successes = self.failures + 1, 0
        if self.state == "HALF_OPEN":
            self.trials = max(0, self.trials - 1)
            if not success:
                self.state, self.trials, self.cooled = "OPEN", 0, False
            elif self.successes >= SUCCESSES_TO_CLOSE:
                self.state, self.trials = "CLOSED", 0
        elif self.state == "CLOSED" and self.failures >= FAILURES_TO_OPEN:
            self.state, self.cooled = "OPEN", False

    def preflight(self) -> bool:
        if self.state == "OPEN":
            if not self.cooled:
                return False
            self.state, self.trials, self.successes, self.failures = "HALF_OPEN", 0, 0, 0
        if self.state == "HALF_OPEN":
            if self.trials >= TRIALS:
                return False
            self.trials += 1
        return True


class EngineBreakerMachine(RuleBasedStateMachine):
    repo: Path
    workspace: Workspace

    @initialize()
    def start(self) -> None:
        # Every example starts from nothing. The engine breaker is per engine; the per-type circuit
        # and the workspace breaker are per workspace, so each example gets a workspace of its
        # own: their counts carried over from earlier examples once opened the runtime circuit
        # (1000 consecutive failures), which held the pre-flight without taking a trial place.
        EngineBreaker.objects.all().delete()
        self.workspace = factories.make_workspace(self.repo)
        self.model = Reference()

    def _mod(self) -> Any:
        # Runtime fixes with roomy circuits: the per-type breaker stays out of the way.
        return factories.make_modification(self.workspace, error_type="runtime")

    @rule(success=st.booleans(), times=st.integers(1, 5))
    def outcomes(self, success: bool, times: int) -> None:
        for _ in range(times):
            record_outcome(self._mod(), success=success, stage="apply")
            self.model.outcome(success)

    @rule()
    def trip_cool_and_try(self) -> None:
        """A shortcut into HALF_OPEN, so the trial period is explored often."""
        self.outcomes(False, FAILURES_TO_OPEN)
        self.cool_down()
        self.apply_preflight()

    @rule()
    def cool_down(self) -> None:
        cool_down_engine()
        if self.model.state == "OPEN":
            self.model.cooled = True

    @rule()
    def apply_preflight(self) -> None:
        checks = {c.name: c for c in run_preflight(self._mod(), stage="apply").checks}
        # A trial place is taken only when every check passes: this model is about the engine
        # breaker alone, so anything else blocking would be a broken test, not a finding.
        assert all(c.ok for name, c in checks.items() if name != "engine_breaker"), checks
        assert checks["engine_breaker"].ok == self.model.preflight()

    @invariant()
    def same_state(self) -> None:
        if not hasattr(self, "model"):
            return
        row = EngineBreaker.objects.filter(source="agent:factory").first()
        assert (row.state if row else "CLOSED") == self.model.state
        if row is not None:
            assert (row.consecutive_failures, row.consecutive_successes, row.trials_admitted) == (
                self.model.failures,
                self.model.successes,
                self.model.trials,
            )


@pytest.mark.django_db
@pytest.mark.usefixtures("healthy_monitor")
def test_it_behaves_like_the_reference_model(git_repo: Path) -> None:
    from healing.actions import do_change_setting

    do_change_setting(None, "breaker.runtime.max_attempts", 1000)
    do_change_setting(None, "breaker.runtime.error_budget", 1.0)
    do_change_setting(None, "rate_limit.applications_per_window", 10_000)
    EngineBreakerMachine.repo = git_repo
    EngineBreakerMachine.TestCase.settings = settings(
        max_examples=60,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    EngineBreakerMachine.TestCase().runTest()
