"""Known failure patterns and the analyser that matches failures against them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .fixes import TEMPLATES, FixContext, ProposedFix
from .results import Failure


@dataclass
class PatternSpec:
    slug: str
    name: str
    language: str
    exception_type: str
    regex: str
    suggested_action: str
    fix_template: str = ""
    error_type: str = "runtime"
    severity: str = "medium"
    priority: int = 50
    _compiled: re.Pattern | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatternSpec:
        return cls(**{k: v for k, v in data.items() if k in PATTERN_FIELDS})

    @property
    def compiled(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(self.regex, re.M)
        return self._compiled

    def match(self, case: Failure) -> dict[str, str] | None:
        """The regex's named groups when this pattern explains the failure, else None."""
        if self.language not in (case.language, "any"):
            return None
        if (
            self.exception_type
            and case.exception_type
            and self.exception_type != case.exception_type
        ):
            return None
        if self.exception_type and not case.exception_type and not self.regex:
            return None
        text = case.message
        m = self.compiled.search(text)
        if m is None and case.details:
            m = self.compiled.search(case.details)
            if m is not None and not self.regex:
                m = None  # a catch-all only fires on the exception type itself
        if m is None:
            return None
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        for key in list(groups):
            if key[-1].isdigit() and key[:-1] not in groups:
                groups[key[:-1]] = groups.pop(key)  # owner2 → owner: alternatives share a meaning
        return groups


# What a pattern is (a KnownPattern row's columns of the same names, and its API fields).
PATTERN_FIELDS = tuple(f.name for f in fields(PatternSpec) if not f.name.startswith("_"))


@dataclass
class Diagnosis:
    case: Failure
    matches: list[tuple[PatternSpec, dict[str, str]]]
    fixes: list[ProposedFix]
    isolation: str = ""  # real | flaky | order_dependent | "" (not checked)
    isolation_detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        frame = self.case.source_frame()
        return {
            "test_id": self.case.nodeid,
            "outcome": self.case.outcome,
            "error_message": self.case.message,
            "exception_type": self.case.exception_type,
            "language": self.case.language,
            "location": {"path": frame.path, "line": frame.line} if frame else None,
            "traceback": self.case.details[-4000:],
            "isolation": self.isolation,
            "isolation_detail": self.isolation_detail,
            "matched_patterns": [
                {
                    "slug": p.slug,
                    "name": p.name,
                    "error_type": p.error_type,
                    "severity": p.severity,
                    "groups": g,
                }
                for p, g in self.matches
            ],
            "suggested_actions": [p.suggested_action for p, _ in self.matches],
            "potential_fixes": [f.as_dict() for f in self.fixes],
        }


class TestFailureAnalyzer:
    __test__ = False  # not a pytest test class

    """Matches each failure against the known patterns and asks their templates for a fix."""

    def __init__(self, patterns: list[PatternSpec]) -> None:
        self.patterns = sorted(patterns, key=lambda p: (p.priority, p.slug))

    def match_known_patterns(self, case: Failure) -> list[tuple[PatternSpec, dict[str, str]]]:
        matches = []
        for pattern in self.patterns:
            try:
                groups = pattern.match(case)
            except re.error:
                continue  # a bad regex typed in the admin must not stop a run
            if groups is not None:
                matches.append((pattern, groups))
        return matches

    def diagnose(self, case: Failure, root: Path) -> Diagnosis:
        matches = self.match_known_patterns(case)
        fixes: list[ProposedFix] = []
        seen: set[str] = set()
        for pattern, groups in matches:
            template = TEMPLATES.get(pattern.fix_template) if pattern.fix_template else None
            if template is None:
                continue
            fix = template.propose(
                FixContext(root=root, case=case, groups=groups, pattern=pattern.slug)
            )
            if fix is not None and fix.diff not in seen:
                seen.add(fix.diff)
                fixes.append(fix)
        return Diagnosis(case=case, matches=matches, fixes=fixes)


def seed_patterns() -> list[PatternSpec]:
    from healing.migrations._diagnostics_seed import PATTERNS_V1, PATTERNS_V2

    return [PatternSpec.from_dict(p) for p in [*PATTERNS_V1, *PATTERNS_V2]]
