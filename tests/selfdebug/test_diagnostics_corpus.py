"""The buggy-program corpus: figures that must not regress (bench/diagnostics_corpus.py prints them).

Some programs have bugs the templates were written for; the others are there because no template
can fix them, and the test checks that nothing is claimed for those."""

from __future__ import annotations

import pytest

from selfdebug.corpus import evaluate
from tests.diag_helpers import CORPUS

# The programs run in the sandbox, which reads its limits and the emergency stop from the database.
pytestmark = pytest.mark.django_db

FIXABLE = [
    "py_name_typo",
    "py_attribute_typo",
    "py_import_renamed",
    "py_module_typo",
    "py_missing_colon",
    "py_unclosed_bracket",
    "py_unexpected_indent",
    "py_key_error",
    "py_zero_division",
    "py_index_off_by_one",
    "py_unbound_local",
    "py_float_equality",
    "py_missing_stdlib_import",
    "js_reference_typo",
    "js_method_typo",
    "js_const_assign",
    "js_read_undefined",
    "js_module_path",
    "py_method_missing_self",
    "py_missing_return",
]
NOT_FIXABLE = [
    "py_none_attribute",
    "py_arg_count",
    "py_recursion",
    "py_type_concat",
    "py_order_dependent",
    "py_endless_loop",
    "js_recursion",
]


# Logic bugs no pattern explains; the mutation search finds the one-token fix.
SEARCHABLE = ["py_wrong_operator", "js_wrong_comparison"]


def test_it_has_at_least_15_programs_of_both_kinds() -> None:
    programs = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert len(programs) >= 15
    assert set(FIXABLE) | set(NOT_FIXABLE) | set(SEARCHABLE) | set(MIXED) == programs


# Programs written without the templates in mind, with more than one failure or another layout.
# (failures, diagnosed, proposed, fixed): what the engine manages today, kept from regressing.
MIXED = {
    "py_inventory_package": (2, 2, 1, 1),  # the .get() fix for a variable key is not attempted
    "py_config_parsing": (
        2,
        2,
        1,
        0,
    ),  # .get() gives None where a default was wanted: fails, so not claimed
    "js_tests_in_test_dir": (1, 1, 1, 1),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MIXED))
def test_it_does_what_it_can_on_programs_not_written_for_it(name: str) -> None:
    result = evaluate(CORPUS / name, isolate=False)
    assert (result.failures, result.diagnosed, result.proposed, result.fixed) == MIXED[name], result


@pytest.mark.slow
@pytest.mark.parametrize("name", SEARCHABLE)
def test_it_finds_a_one_token_logic_fix_by_search(name: str) -> None:
    result = evaluate(CORPUS / name, isolate=False)
    assert (result.failures, result.diagnosed, result.proposed, result.fixed) == (1, 0, 1, 1), (
        result
    )
    assert result.templates[0].startswith("search.")


@pytest.mark.slow
@pytest.mark.parametrize("name", FIXABLE)
def test_it_fixes_the_programs_its_templates_know(name: str) -> None:
    result = evaluate(CORPUS / name, isolate=False)
    assert (result.failures, result.diagnosed, result.proposed, result.fixed) == (1, 1, 1, 1), (
        result
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", NOT_FIXABLE)
def test_it_claims_no_fix_where_no_template_fits(name: str) -> None:
    result = evaluate(CORPUS / name, isolate=name == "py_order_dependent")
    assert result.failures >= 1 and result.fixed == 0 and result.proposed == 0, result
    if name == "py_order_dependent":
        assert result.isolation == ["order_dependent"]
