from django.urls import include, path

from ..remote.views import forge_webhook
from . import backups, patches, rollback, sandbox_runs, workspaces

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
