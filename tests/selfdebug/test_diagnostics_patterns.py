"""The known patterns shipped by the data migration, and matching failures against them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from selfdebug.fixes import TEMPLATES
from selfdebug.models import KnownPattern
from selfdebug.patterns import TestFailureAnalyzer, seed_patterns
from tests.diag_helpers import failure


def test_it_ships_at_least_15_python_and_5_javascript_patterns(db: Any) -> None:
    rows = KnownPattern.objects.all()
    assert rows.filter(language="python").count() >= 15
    assert rows.filter(language="javascript").count() >= 5
    for row in rows:
        re.compile(row.regex)
        assert row.suggested_action
        assert not row.fix_template or row.fix_template in TEMPLATES


def test_it_checks_the_regex_and_template_typed_in_the_admin(db: Any) -> None:
    pattern = KnownPattern(slug="x", name="x", regex="(", suggested_action="y", fix_template="nope")
    with pytest.raises(ValidationError) as caught:
        pattern.full_clean()
    assert {"regex", "fix_template"} <= caught.value.message_dict.keys()


@pytest.mark.parametrize(
    ("message", "language", "slug"),
    [
        ("ModuleNotFoundError: No module named 'reqeusts'", "python", "py-module-not-found"),
        ("NameError: name 'totl' is not defined", "python", "py-name-close-match"),
        (
            "AttributeError: module 'math' has no attribute 'sqr'",
            "python",
            "py-attribute-near-miss",
        ),
        (
            "AttributeError: 'NoneType' object has no attribute 'name'",
            "python",
            "py-none-attribute",
        ),
        (
            "ImportError: cannot import name 'area' from 'shapes' (/x/shapes.py)",
            "python",
            "py-import-renamed",
        ),
        ("SyntaxError: expected ':'", "python", "py-syntax-missing-colon"),
        ("SyntaxError: '(' was never closed", "python", "py-syntax-bracket"),
        ("IndentationError: unexpected indent", "python", "py-indentation"),
        (
            "TypeError: label() missing 1 required positional argument: 'unit'",
            "python",
            "py-type-arg-count",
        ),
        ("KeyError: 'timeout'", "python", "py-key-error-get"),
        ("ZeroDivisionError: division by zero", "python", "py-zero-division"),
        ("RecursionError: maximum recursion depth exceeded", "python", "py-recursion"),
        ("IndexError: list index out of range", "python", "py-index-off-by-one"),
        (
            "UnboundLocalError: cannot access local variable 'n' where it is not associated with a value",
            "python",
            "py-unbound-local",
        ),
        ("AssertionError: assert 0.30000000000000004 == 0.3", "python", "py-float-equality"),
        (
            "FileNotFoundError: [Errno 2] No such file or directory: 'data.csv'",
            "python",
            "py-file-not-found",
        ),
        ("ReferenceError: totl is not defined", "javascript", "js-reference-error"),
        ("TypeError: xs.fliter is not a function", "javascript", "js-not-a-function"),
        (
            "TypeError: Cannot read properties of undefined (reading 'city')",
            "javascript",
            "js-read-undefined",
        ),
        ("SyntaxError: Unexpected token '}'", "javascript", "js-syntax-unexpected-token"),
        (
            "TypeError: Stack.push() takes 1 positional argument but 2 were given",
            "python",
            "py-method-missing-self",
        ),
        (
            "AssertionError: assert None == 125.0\n +  where None = with_tax(100)",
            "python",
            "py-missing-return",
        ),
        ("RangeError: Maximum call stack size exceeded", "javascript", "js-range-error"),
        ("Error: Cannot find module './utlis'", "javascript", "js-module-not-found"),
    ],
)
def test_it_matches_each_failure_to_its_pattern_first(
    message: str, language: str, slug: str
) -> None:
    analyzer = TestFailureAnalyzer(seed_patterns())
    matches = analyzer.match_known_patterns(failure(message, "x", 1, language=language))
    assert matches and matches[0][0].slug == slug


def test_it_does_not_match_a_python_pattern_to_javascript() -> None:
    analyzer = TestFailureAnalyzer(seed_patterns())
    matches = analyzer.match_known_patterns(
        failure("NameError: name 'x' is not defined", "x", 1, language="javascript")
    )
    assert matches == []


def test_it_skips_a_broken_admin_regex_instead_of_failing_the_run() -> None:
    patterns = seed_patterns()
    patterns[0].regex = "("
    analyzer = TestFailureAnalyzer(patterns)
    assert analyzer.match_known_patterns(failure("NameError: name 'x' is not defined", "x", 1))
