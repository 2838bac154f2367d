from django.contrib import admin

from .models import (
    Baseline,
    HealingAttempt,
    HealingLoopState,
    SystemSnapshot,
    TelemetryRollup,
    TelemetrySnapshot,
)


@admin.register(TelemetrySnapshot)
class TelemetrySnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "recorded_at",
        "source",
        "context",
        "phi",
        "kappa_eff",
        "error_rate",
        "latency_ms",
        "is_demo",
    )
    list_filter = ("source", "context", "is_demo")
    exclude = ("basin",)
    raw_id_fields = ("workspace", "modification")
    date_hierarchy = "recorded_at"


@admin.register(TelemetryRollup)
class TelemetryRollupAdmin(admin.ModelAdmin):
    list_display = (
        "bucket_start",
        "source",
        "count",
        "phi_mean",
        "kappa_mean",
        "latency_ms_mean",
        "is_demo",
    )
    list_filter = ("source", "is_demo")


@admin.register(Baseline)
class BaselineAdmin(admin.ModelAdmin):
    list_display = ("created_at", "source", "created_by_label", "sample_count", "reason")
    exclude = ("basin",)


@admin.register(SystemSnapshot)
class SystemSnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "taken_at",
        "status",
        "health_score",
        "trend",
        "cpu_percent",
        "memory_available_percent",
        "disk_percent",
        "worker_memory_mb",
    )
    list_filter = ("status", "trend")
    date_hierarchy = "taken_at"


@admin.register(HealingAttempt)
class HealingAttemptAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "strategy",
        "action",
        "modification",
        "status",
        "auto",
        "decided_by",
    )
    list_filter = ("strategy", "action", "status")
    raw_id_fields = ("modification", "decided_by")
    # Decisions go through the API and its actions (recorded, claimed), not through edits here.
    readonly_fields = ("status", "auto", "decided_by", "decided_at", "executed_at", "outcome")


@admin.register(HealingLoopState)
class HealingLoopStateAdmin(admin.ModelAdmin):
    list_display = ("running", "changed_at", "changed_by", "last_cycle_at", "cycles")
    readonly_fields = ("running", "changed_at", "changed_by", "reason", "last_cycle_at", "cycles")
