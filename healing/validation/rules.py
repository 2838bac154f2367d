"""Rule patterns, compiled by RE2: linear-time matching (no backtracking), so no text can make a
rule run for seconds. A pattern RE2 cannot compile (backreferences, lookaround) is refused where
it is defined, with the reason."""

from __future__ import annotations

from typing import Any

import re2


class RuleError(ValueError):
    pass


def compile_rule(pattern: str, *, ignore_case: bool = False, multiline: bool = False) -> Any:
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.never_capture = False
    options.log_errors = False
    if multiline:
        pattern = "(?m)" + pattern
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise RuleError(f"not a linear-time pattern: {exc}") from None


def check_rule(pattern: str) -> str:
    """'' when `pattern` compiles for RE2, else why not (for forms and the admin)."""
    try:
        compile_rule(pattern)
    except RuleError as exc:
        return str(exc)
    return ""
