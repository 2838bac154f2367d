"""Every corpus entry goes through the API and process_modification and ends where cases.json says.

The corpus (tests/corpus/) holds real-looking bug fixes in Python, JavaScript, TypeScript and PHP
and hostile patches (escapes, symlinks, rm -rf, secrets, binary, malformed, huge), each against
the small repository in tests/corpus/repo/.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from healing.intake.tasks import process_modification
from healing.models import Modification
from tests import factories

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = json.loads((CORPUS / "cases.json").read_text())
CASES = MANIFEST["cases"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus_workspace(tmp_path: Path, db: Any) -> Any:
    repo = tmp_path / "corpus-repo"
    shutil.copytree(CORPUS / "repo", repo)
    for link, target in MANIFEST["workspace"].get("symlinks", {}).items():
        os.symlink(target, repo / link)
    factories.make_git_repo(repo, files={})
    return factories.make_workspace(
        repo,
        name="demo",
        languages=["python", "javascript", "typescript", "php"],
        import_denylist=MANIFEST["workspace"]["import_denylist"],
    )


def test_it_has_every_corpus_file_in_the_manifest() -> None:
    on_disk = {p.stem for p in (CORPUS / "cases").glob("*.diff")}
    assert on_disk == {c["name"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_it_brings_each_corpus_entry_to_its_expected_end(
    api_as: Any, agent: Any, corpus_workspace: Any, case: dict[str, Any]
) -> None:
    diff = (CORPUS / "cases" / f"{case['name']}.diff").read_text()
    body = {
        "schema_version": "2.0",
        "patch_id": f"corpus-{case['name']}",
        "workspace": "demo",
        "language": case["language"],
        "error_classification": {
            "error_type": case.get("error_type", "logic"),
            "severity": "medium",
        },
        "confidence_scoring": {"logits": [2.1, 0.4, 0.2]},
        "patch_data": {"diff": diff},
    }
    expect = case["expect"]
    response = api_as(agent).post("/api/v1/patches/", body, format="json")
    assert response.status_code == expect["http"], response.json()
    if expect["http"] != 201:
        assert expect["field"] in response.json()["fields"]
        assert not Modification.objects.exists()
        return
    status = process_modification.run(response.json()["id"])
    detail = api_as(agent).get(response.json()["url"]).json()
    findings = [
        (f["rule"], f["severity"], f"{f['file']}:{f['line']}", f["message"])
        for f in detail["findings"]
    ]
    assert status == expect["status"], findings
    rules = {f["rule"] for f in detail["findings"]}
    assert set(expect["rules"]) <= rules, findings
    if expect["status"] == "rejected":
        assert any(f["blocking"] for f in detail["findings"])
    else:
        assert not any(f["blocking"] for f in detail["findings"]), findings
    if "safety_level" in expect:
        assert detail["safety_level"] == expect["safety_level"], (detail["safety_rule"], findings)
