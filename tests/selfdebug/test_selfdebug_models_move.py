"""Upgrading keeps self-debugging's rows: its models move from healing to the selfdebug app on the
tables they always had, and their content types (admin history, permissions) follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests import factories

Target = list[tuple[str, str]]
MODELS = ("knownpattern", "diagnosticrun", "detectedbug", "fixproposal")


def _targets() -> tuple[Target, Target]:
    """Just before the move (whatever number it gets at merge), and latest."""
    graph = MigrationExecutor(connection).loader.graph
    at = next(k for k in graph.nodes if k[0] == "healing" and k[1].endswith("_models_move"))
    before = [p.key for p in graph.node_map[at].parents if p.key[0] == "healing"]
    return before, graph.leaf_nodes()


def _migrate(target: Target) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_rows_and_content_types_of_the_moved_models(tmp_path: Path) -> None:
    before, latest = _targets()
    old = _migrate(before)
    try:
        type_ids = {
            ct.model: ct.pk
            for ct in ContentType.objects.filter(app_label="healing", model__in=MODELS)
        }
        assert set(type_ids) == set(MODELS)  # the test database made them; the reverse renamed them
        Workspace = old.get_model("healing", "Workspace")
        KnownPattern = old.get_model("healing", "KnownPattern")
        DiagnosticRun = old.get_model("healing", "DiagnosticRun")
        DetectedBug = old.get_model("healing", "DetectedBug")
        FixProposal = old.get_model("healing", "FixProposal")
        workspace = Workspace.objects.create(
            name="demo", path=str(factories.make_git_repo(tmp_path / "repo")), branch="main"
        )
        KnownPattern.objects.create(
            slug="moved-pattern", name="kept", exception_type="NameError", suggested_action="x"
        )
        patterns = KnownPattern.objects.count()  # and healing's seeds, unless a test flushed them
        run = DiagnosticRun.objects.create(
            workspace=workspace, status="done", total=3, failed=1, coverage_percent=62.5
        )
        bug = DetectedBug.objects.create(
            workspace=workspace, run=run, tool="pyflakes", code="undefined-name",
            severity="high", path="app.py", line=3, message="undefined name 'x'",
        )  # fmt: skip
        proposal = FixProposal.objects.create(
            workspace=workspace, run=run, bug=bug, origin="template", source="builtin:name-error",
            path="app.py", diff="--- a/app.py\n+++ b/app.py\n",
        )  # fmt: skip

        _migrate(latest)

        from selfdebug.models import DetectedBug as Bug
        from selfdebug.models import DiagnosticRun as Run
        from selfdebug.models import FixProposal as Proposal
        from selfdebug.models import KnownPattern as Pattern

        assert Pattern.objects.count() == patterns
        assert Pattern.objects.get(slug="moved-pattern").exception_type == "NameError"
        moved = Run.objects.get(pk=run.pk)
        assert (moved.workspace.name, moved.status, moved.coverage_percent) == (
            "demo",
            "done",
            62.5,
        )
        assert [b.pk for b in moved.bugs.all()] == [bug.pk]
        assert Proposal.objects.get(pk=proposal.pk).bug == Bug.objects.get(pk=bug.pk)
        assert sorted(p.pk for p in moved.proposals.all()) == [proposal.pk]
        # A new row goes on in the same table, after the old ones.
        assert Run.objects.create(workspace=moved.workspace).pk > run.pk
        assert {
            ct.model: ct.pk for ct in ContentType.objects.filter(app_label="selfdebug")
        } == type_ids
        assert not ContentType.objects.filter(app_label="healing", model__in=MODELS).exists()
    finally:
        _migrate(latest)
