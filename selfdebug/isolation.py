"""Progressive isolation: before blaming the code, rerun failures alone.

- fails alone, every time          → real
- fails alone only sometimes        → flaky
- passes alone, fails after the tests that ran before it → order_dependent, and the preceding
  tests are narrowed (delta debugging) to the smallest set that still makes it fail
- passes alone and after its predecessors → flaky
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .logger import DiagnosticLogger
from .results import RunResult
from .runners import RunnerError, SandboxRunner

REAL, FLAKY, ORDER_DEPENDENT, UNCHECKED = "real", "flaky", "order_dependent", ""


@dataclass
class Isolation:
    verdict: str
    reruns: int = 0
    culprits: list[str] = field(
        default_factory=list
    )  # the smallest set of tests that must run first
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reruns": self.reruns,
            "culprits": self.culprits,
            "note": self.note,
        }


class Isolator:
    def __init__(
        self,
        runner: SandboxRunner,
        workspace: Any,
        logger: DiagnosticLogger,
        *,
        budget: int = 30,
        repeats: int = 2,
    ) -> None:
        self.runner = runner
        self.workspace = workspace
        self.logger = logger
        self.budget = budget  # reruns left for the whole run
        self.repeats = repeats

    def _fails(self, test_ids: list[str], target: str) -> bool | None:
        """Does `target` fail when `test_ids` run in this order? None: out of budget or no verdict."""
        if self.budget <= 0:
            return None
        self.budget -= 1
        with self.logger.context("rerun", tests=test_ids, target=target) as ctx:
            try:
                result = self.runner.run(self.workspace, test_ids=test_ids)
            except RunnerError as exc:
                ctx["result"] = f"runner error: {exc}"
                return None
            outcome = next((c.outcome for c in result.cases if c.nodeid == target), None)
            ctx["result"] = outcome
        if outcome is None:
            return None
        return outcome in {"failed", "error"}

    def classify(self, baseline: RunResult, target: str) -> Isolation:
        if "::" not in target:
            # A whole file failed to load (a syntax or import error): nothing to isolate.
            return Isolation(REAL, note="the file does not load")
        outcomes = []
        for _ in range(self.repeats):
            fails = self._fails([target], target)
            if fails is None:
                break
            outcomes.append(fails)
        if not outcomes:
            return Isolation(UNCHECKED, note="out of rerun budget")
        if all(outcomes):
            return Isolation(REAL, reruns=len(outcomes))
        if any(outcomes):
            return Isolation(FLAKY, reruns=len(outcomes), note="fails alone only sometimes")
        order = [c.nodeid for c in baseline.cases if "::" in c.nodeid]
        before = order[: order.index(target)] if target in order else []
        fails_after = self._fails([*before, target], target) if before else False
        reruns = len(outcomes) + (1 if before else 0)
        if not fails_after:
            return Isolation(FLAKY, reruns=reruns, note="passes alone and after its predecessors")
        culprits = self.narrow(before, target)
        return Isolation(
            ORDER_DEPENDENT, reruns=reruns, culprits=culprits, note="fails only after other tests"
        )

    def narrow(self, before: list[str], target: str) -> list[str]:
        """ddmin over the preceding tests: the smallest subset after which `target` still fails."""
        current = list(before)
        n = 2
        while len(current) >= 2 and self.budget > 0:
            size = max(1, len(current) // n)
            chunks = [current[i : i + size] for i in range(0, len(current), size)]
            reduced = False
            for chunk in chunks:
                if self._fails([*chunk, target], target):
                    current, n, reduced = chunk, 2, True
                    break
            if not reduced:
                for chunk in chunks:
                    complement = [t for t in current if t not in chunk]
                    if complement and self._fails([*complement, target], target):
                        current, n, reduced = complement, max(n - 1, 2), True
                        break
            if not reduced:
                if n >= len(current):
                    break
                n = min(len(current), n * 2)
        return current
