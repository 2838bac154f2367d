"""Test generation with Hypothesis's ghostwriter: run, keep the passing tests, propose them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from selfdebug.models import FixProposal
from selfdebug.runners import SandboxRunner
from selfdebug.tasks import generate_tests
from selfdebug.testgen import TestGenError, drop_tests, generate, modules_without_tests
from tests import factories

FILES = {
    "textutil.py": 'def shout(text: str) -> str:\n    return text.upper() + "!"\n\n\n'
    "def halve(n: int) -> float:\n    if n > 10:\n        raise ValueError(n)\n    return n / 2\n",
    "covered.py": "def one() -> int:\n    return 1\n",
    "test_covered.py": "from covered import one\n\n\ndef test_one():\n    assert one() == 1\n",
}


def test_it_finds_the_modules_without_tests(tmp_path: Path) -> None:
    repo = factories.make_git_repo(tmp_path / "r", FILES)
    assert modules_without_tests(repo) == ["textutil"]


def test_it_keeps_only_the_generated_tests_that_pass(tmp_path: Path, db: Any) -> None:
    workspace = factories.make_workspace(factories.make_git_repo(tmp_path / "r", FILES))
    generated = generate(SandboxRunner(timeout=120), workspace, "textutil")
    assert generated is not None
    assert generated.path == "test_textutil_ghostwritten.py"
    assert generated.kept == ["test_fuzz_shout"]  # halve(11) raises, Hypothesis finds it: dropped
    assert generated.dropped == ["test_fuzz_halve"]
    assert "new file mode" in generated.diff and "def test_fuzz_halve" not in generated.diff


def test_it_refuses_a_name_that_is_not_a_module(tmp_path: Path, db: Any) -> None:
    workspace = factories.make_workspace(factories.make_git_repo(tmp_path / "r", FILES))
    with pytest.raises(TestGenError):
        generate(SandboxRunner(), workspace, "os; rm -rf /")


def test_it_drops_functions_with_their_decorators() -> None:
    text = "import x\n\n\n@given(a=1)\ndef test_a(a):\n    pass\n\n\ndef test_b():\n    pass\n"
    assert drop_tests(text, {"test_a"}) == "import x\n\n\n\n\ndef test_b():\n    pass\n"


def test_it_proposes_the_tests_as_a_low_risk_modification(tmp_path: Path, operator: Any) -> None:
    workspace = factories.make_workspace(factories.make_git_repo(tmp_path / "r", FILES), name="tg")
    proposal_id = generate_tests(workspace.pk, "textutil", operator.pk)
    proposal = FixProposal.objects.get(pk=proposal_id)
    assert proposal.origin == "testgen" and proposal.source == "builtin:ghostwriter"
    modification = proposal.modification
    assert modification.files == ["test_textutil_ghostwritten.py"]
    assert modification.claimed_severity == "low"
    assert modification.envelope["patch_data"]["metadata"]["safety_hint"] == "LOW_RISK"


def test_it_queues_test_generation_through_the_api(
    tmp_path: Path,
    operator: Any,
    reviewer: Any,
    api_as: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    factories.make_workspace(factories.make_git_repo(tmp_path / "r", FILES), name="tg")
    assert (
        api_as(reviewer)
        .post("/api/v1/diagnostics/testgen/", {"workspace": "tg"}, format="json")
        .status_code
        == 403
    )
    as_operator = api_as(operator)  # issuing its key is audited (and broadcast) on its own
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = as_operator.post(
            "/api/v1/diagnostics/testgen/", {"workspace": "tg"}, format="json"
        )
    assert response.status_code == 202
    assert response.json() == {"workspace": "tg", "module": "textutil", "queued": True}
    assert len(callbacks) == 1
    bad = api_as(operator).post(
        "/api/v1/diagnostics/testgen/", {"workspace": "tg", "module": "a b"}, format="json"
    )
    assert bad.status_code == 400 and "module" in bad.json()["fields"]
