"""The "classification" stage: the error type and severity a patch's changes show, and the
stricter of them and the agent's claim applies."""

from __future__ import annotations

import re

from .base import Finding, Stage, ValidationContext, register, severity_rank
from .syntax import syntax_ok_before

# Stricter first: a security fix gets security's scrutiny, a syntax fix the highest confidence bar.
TYPE_STRICTNESS = ("security", "syntax", "performance", "runtime", "logic")
SEVERITY_ORDER = ("low", "medium", "high", "critical")

# Evidence is looked up in the set of words of the changed lines (fast, and no "retry" for "try").
SECURITY_WORDS = frozenset(
    [
        "csrf",
        "xss",
        "injection",
        "htmlspecialchars",
        "htmlentities",
        "bcrypt",
        "argon2",
        "hmac",
        "compare_digest",
        "permission",
        "permissions",
        "httponly",
        "password",
        "escapeshellarg",
        "escapeshellcmd",
        "sanitize",
        "sanitise",
        "escape",
        "escapehtml",
        "html_escape",
        "bleach",
        "markupsafe",
        "authorize",
        "authorization",
        "authenticate",
        "authenticated",
        "parameterized",
        "prepared_statement",
        "samesite",
    ]
)
SECURITY_SUBSTRINGS = ("saniti", "escape", "verify=true", "secure=true", "csrf")
RUNTIME_WORDS = frozenset(
    [
        "try",
        "except",
        "catch",
        "finally",
        "isset",
        "keyerror",
        "typeerror",
        "attributeerror",
        "indexerror",
        "valueerror",
        "zerodivisionerror",
        "nullpointerexception",
    ]
)
RUNTIME_SUBSTRINGS = (
    "is none",
    "is not none",
    "=== null",
    "!== null",
    "== null",
    "!= null",
    "=== undefined",
    "?.",
    "??",
    "isset(",
    "empty(",
)
PERFORMANCE_WORDS = frozenset(
    [
        "lru_cache",
        "cache",
        "cached",
        "cached_property",
        "memo",
        "memoize",
        "usememo",
        "usecallback",
        "select_related",
        "prefetch_related",
        "bulk_create",
        "bulk_update",
        "bisect",
        "deque",
    ]
)
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def _evidence(text: str, words: frozenset[str], substrings: tuple[str, ...] = ()) -> bool:
    return any(s in text for s in substrings) or not words.isdisjoint(_WORD.findall(text))


def stricter_type(a: str, b: str) -> str:
    candidates = [t for t in (a, b) if t in TYPE_STRICTNESS]
    return min(candidates, key=TYPE_STRICTNESS.index) if candidates else "logic"


def stricter_severity(a: str, b: str) -> str:
    candidates = [s for s in (a, b) if s in SEVERITY_ORDER]
    return max(candidates, key=SEVERITY_ORDER.index) if candidates else "medium"


def infer(ctx: ValidationContext) -> tuple[str, str, list[str]]:
    """(error type, severity, evidence) from the diff and what the earlier stages found."""
    evidence: list[str] = []
    removed = "\n".join(t for c in ctx.files for t in c.removed.values())
    added = "\n".join(t for c in ctx.files for t in c.added.values())
    changed = (removed + "\n" + added).lower()
    added = added.lower()
    security_hits = [
        f
        for f in ctx.findings
        if f.rule.startswith(("danger.", "secret."))
        and severity_rank(f.severity) >= severity_rank("high")
    ]
    fixed_syntax = [
        c.path
        for c in ctx.readable_files()
        if c.language and c.after is not None and syntax_ok_before(c) is False
    ]
    if security_hits:
        evidence.append(f"adds {security_hits[0].rule} ({security_hits[0].location()})")
        kind = "security"
    elif _evidence(changed, SECURITY_WORDS, SECURITY_SUBSTRINGS):
        evidence.append("changes security-related code (escaping, auth, secrets)")
        kind = "security"
    elif fixed_syntax:
        evidence.append(f"{fixed_syntax[0]} did not parse before the patch and does after")
        kind = "syntax"
    elif _evidence(added, RUNTIME_WORDS, RUNTIME_SUBSTRINGS):
        evidence.append("adds exception handling or None/undefined guards")
        kind = "runtime"
    elif _evidence(added, PERFORMANCE_WORDS):
        evidence.append("adds caching, batching or a faster data structure")
        kind = "performance"
    else:
        evidence.append(
            "changes behaviour without a syntax, runtime, performance or security signature"
        )
        kind = "logic"
    severity = {"critical": "critical", "high": "high", "medium": "medium"}.get(
        ctx.risk_level, "low"
    )
    if kind == "security" and SEVERITY_ORDER.index(severity) < SEVERITY_ORDER.index("high"):
        severity = "high"
    if ctx.workspace.is_self and SEVERITY_ORDER.index(severity) < SEVERITY_ORDER.index("high"):
        severity = "high"
        evidence.append("touches the engine's own code")
    return kind, severity, evidence


@register
class ClassificationStage(Stage):
    name = "classification"
    order = 80
    title = "Error classification"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        kind, severity, evidence = infer(ctx)
        ctx.inferred_error_type, ctx.inferred_severity = kind, severity
        claimed_type, claimed_severity = ctx.claimed_error_type, ctx.claimed_severity
        ctx.error_type = stricter_type(claimed_type, kind)
        ctx.severity = stricter_severity(claimed_severity, severity)
        notes = []
        if claimed_type and claimed_type != kind:
            notes.append(
                f"claimed {claimed_type}, inferred {kind} ({'; '.join(evidence)}); {ctx.error_type} applies as the stricter"
            )
        if claimed_severity and claimed_severity != severity:
            notes.append(
                f"claimed severity {claimed_severity}, inferred {severity}; {ctx.severity} applies"
            )
        ctx.classification_note = ". ".join(notes)
        self._evidence = evidence
        return [Finding("info", note, "classification.disagreement") for note in notes]

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        return {
            "claimed": {"error_type": ctx.claimed_error_type, "severity": ctx.claimed_severity},
            "inferred": {"error_type": ctx.inferred_error_type, "severity": ctx.inferred_severity},
            "effective": {"error_type": ctx.error_type, "severity": ctx.severity},
            "evidence": getattr(self, "_evidence", []),
        }
