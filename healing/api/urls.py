from django.urls import include, path

from ..remote.views import forge_webhook
from . import backups, diagnostics, patches, rollback, sandbox_runs, workspaces

urlpatterns: list = [
    path("", include("healing.api.judgement_urls")),
    path("patches/", patches.PatchListView.as_view(), name="api-patches"),
    path("patches/<int:pk>/", patches.PatchDetailView.as_view(), name="api-patch"),
    path(
        "patches/<int:pk>/envelope/", patches.PatchEnvelopeView.as_view(), name="api-patch-envelope"
    ),
    path(
        "schemas/envelope-2.0.json",
        patches.EnvelopeSchemaView.as_view(),
        name="api-envelope-schema",
    ),
    path("workspaces/", workspaces.WorkspaceListView.as_view(), name="api-workspaces"),
    path(
        "workspaces/<int:pk>/environments/",
        workspaces.WorkspaceEnvironmentsView.as_view(),
        name="api-workspace-environments",
    ),
    path("forges/<int:workspace_id>/webhook/", forge_webhook, name="api-forge-webhook"),
    path("diagnostics/runs/", diagnostics.RunListCreate.as_view(), name="api-diagnostic-runs"),
    path("diagnostics/runs/<int:pk>/", diagnostics.RunDetail.as_view(), name="api-diagnostic-run"),
    path(
        "diagnostics/runs/<int:pk>/log/",
        diagnostics.RunLog.as_view(),
        name="api-diagnostic-run-log",
    ),
    path(
        "diagnostics/patterns/", diagnostics.PatternList.as_view(), name="api-diagnostic-patterns"
    ),
    path(
        "diagnostics/proposals/",
        diagnostics.ProposalList.as_view(),
        name="api-diagnostic-proposals",
    ),
    path("diagnostics/testgen/", diagnostics.TestGen.as_view(), name="api-diagnostic-testgen"),
    path(
        "diagnostics/coverage/", diagnostics.CoverageList.as_view(), name="api-diagnostic-coverage"
    ),
    path("bugs/", diagnostics.BugList.as_view(), name="api-bugs"),
    path("bugs/<int:pk>/fix/", diagnostics.BugFix.as_view(), name="api-bug-fix"),
    path(
        "patches/<int:pk>/rollback/",
        rollback.PatchRollbackView.as_view(),
        name="api-patch-rollback",
    ),
    path(
        "patches/<int:pk>/sandbox-runs/",
        sandbox_runs.PatchSandboxRunsView.as_view(),
        name="api-patch-sandbox-runs",
    ),
    path("backups/", backups.BackupListView.as_view(), name="api-backups"),
    path(
        "backups/<int:pk>/restore/", backups.BackupRestoreView.as_view(), name="api-backup-restore"
    ),
]
