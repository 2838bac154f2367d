"""Admin for self-debugging: known patterns are edited here (imported from HealingConfig.ready)."""

from django.contrib import admin

from .models import DetectedBug, DiagnosticRun, FixProposal, KnownPattern


@admin.register(KnownPattern)
class KnownPatternAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "language",
        "exception_type",
        "fix_template",
        "priority",
        "enabled",
        "success",
    )
    list_filter = ("language", "enabled", "error_type")
    search_fields = ("slug", "name", "regex", "suggested_action")
    list_editable = ("enabled", "priority")

    @admin.display(description="Fix success (applied / decided)")
    def success(self, obj: KnownPattern) -> str:
        rate = obj.success_rate()
        return "—" if rate is None else f"{rate:.0%}"


@admin.register(DiagnosticRun)
class DiagnosticRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "workspace",
        "status",
        "trigger",
        "total",
        "failed",
        "coverage_percent",
        "created_at",
    )
    list_filter = ("status", "trigger", "workspace")
    readonly_fields = ("status", "started_at", "finished_at", "report", "log")


@admin.register(DetectedBug)
class DetectedBugAdmin(admin.ModelAdmin):
    list_display = ("path", "line", "tool", "code", "severity", "workspace", "created_at")
    list_filter = ("tool", "severity", "workspace")


@admin.register(FixProposal)
class FixProposalAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "origin", "path", "modification", "created_at")
    list_filter = ("origin",)
    raw_id_fields = ("modification", "run", "bug")
