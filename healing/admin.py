from typing import Any

from django.contrib import admin

from .models import (
    AuditEvent,
    EngineState,
    Modification,
    RemoteLanding,
    Setting,
    SettingChange,
    Workspace,
)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "path",
        "remote_url",
        "landing",
        "branch",
        "isolation_level",
        "is_active",
        "is_demo",
    )
    search_fields = ("name", "path", "remote_url")
    fields = (
        "name",
        "path",
        "remote_url",
        "branch",
        "landing",
        "credentials_env",
        "forge",
        "forge_api",
        "forge_repo",
        "webhook_secret_env",
        "test_command",
        "setup_command",
        "setup_inputs",
        "interpreter",
        "isolation_level",
        "languages",
        "allowed_paths",
        "protected_paths",
        "import_allowlist",
        "import_denylist",
        "policy_overrides",
        "allow_binary",
        "is_self",
        "is_demo",
        "is_active",
    )


@admin.register(RemoteLanding)
class RemoteLandingAdmin(admin.ModelAdmin):
    """Pushes to remotes: the refs and commit ids (the remote workspace's backups)."""

    list_display = (
        "modification",
        "operation",
        "mode",
        "target_ref",
        "state",
        "pr_url",
        "created_at",
    )
    list_filter = ("state", "mode")
    readonly_fields = [f.name for f in RemoteLanding._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False  # written by the landing only

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Modification)
class ModificationAdmin(admin.ModelAdmin):
    list_display = (
        "patch_id",
        "workspace",
        "status",
        "safety_level",
        "error_type",
        "source",
        "created_at",
    )
    list_filter = ("status", "safety_level", "error_type", "workspace")
    search_fields = ("patch_id", "source")

    # Read-only, all of it: what a reviewer approved is what lands (a diff edited here after
    # the review would be applied on one click). Changes go through actions only.
    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Modification._meta.concrete_fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "actor_label",
        "workspace",
        "modification",
        "from_state",
        "to_state",
    )
    list_filter = ("kind",)
    search_fields = ("actor_label", "reason")
    raw_id_fields = ("modification", "actor")

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(EngineState)
class EngineStateAdmin(admin.ModelAdmin):
    list_display = ("state", "changed_at", "changed_by", "reason")
    readonly_fields = ("state", "changed_at", "changed_by", "reason")

    # The one row (pk=1) is made by EngineStateManager.current(); a second row would be meaningless
    # (and on PostgreSQL the sequence still says 1, so an add here was a 500).
    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Setting)
class SettingAdmin(admin.ModelAdmin):
    list_display = ("key", "value", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")


@admin.register(SettingChange)
class SettingChangeAdmin(admin.ModelAdmin):
    list_display = ("changed_at", "key", "old_value", "new_value", "changed_by")
    list_filter = ("key",)
