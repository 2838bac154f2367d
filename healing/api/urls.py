from django.urls import path

from .sandbox import BackupListView, BackupRestoreView, PatchRollbackView, PatchSandboxRunsView

urlpatterns: list = [
    path("patches/<int:pk>/rollback/", PatchRollbackView.as_view(), name="api-patch-rollback"),
    path(
        "patches/<int:pk>/sandbox-runs/",
        PatchSandboxRunsView.as_view(),
        name="api-patch-sandbox-runs",
    ),
    path("backups/", BackupListView.as_view(), name="api-backups"),
    path("backups/<int:pk>/restore/", BackupRestoreView.as_view(), name="api-backup-restore"),
]
