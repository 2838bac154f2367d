"""Self-debugging's models, taken over from healing (healing 0015 dropped them from its state):
in the state only, on the tables they always had (db_table), so no row moves. Their content
types follow, so admin history and permissions stay attached."""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("knownpattern", "diagnosticrun", "detectedbug", "fixproposal")


def move_content_types(apps: Any, schema_editor: Any) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="healing", model__in=MODELS
    ).update(app_label="selfdebug")


def return_content_types(apps: Any, schema_editor: Any) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="selfdebug", model__in=MODELS
    ).update(app_label="healing")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("healing", "0016_diagnostics_models_move"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="KnownPattern",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("slug", models.SlugField(max_length=64, unique=True)),
                        ("name", models.CharField(max_length=128)),
                        (
                            "language",
                            models.CharField(
                                choices=[
                                    ("python", "Python"),
                                    ("javascript", "Javascript"),
                                    ("any", "Any"),
                                ],
                                default="python",
                                max_length=16,
                            ),
                        ),
                        (
                            "exception_type",
                            models.CharField(
                                blank=True,
                                help_text="e.g. NameError; blank matches any.",
                                max_length=64,
                            ),
                        ),
                        (
                            "regex",
                            models.TextField(
                                blank=True,
                                help_text="Searched in the failure message; named groups are handed to the fix template.",
                            ),
                        ),
                        ("suggested_action", models.TextField()),
                        (
                            "fix_template",
                            models.CharField(
                                blank=True,
                                help_text="A registered fix template (selfdebug.fixes).",
                                max_length=64,
                            ),
                        ),
                        ("error_type", models.CharField(default="runtime", max_length=16)),
                        ("severity", models.CharField(default="medium", max_length=16)),
                        (
                            "priority",
                            models.PositiveSmallIntegerField(
                                default=50, help_text="Lower wins when several patterns match."
                            ),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "healing_knownpattern",
                        "ordering": ["language", "priority", "slug"],
                    },
                ),
                migrations.CreateModel(
                    name="DiagnosticRun",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("done", "Done"),
                                    ("failed", "Failed"),
                                ],
                                db_index=True,
                                default="queued",
                                max_length=16,
                            ),
                        ),
                        (
                            "trigger",
                            models.CharField(
                                choices=[("manual", "Manual"), ("schedule", "Schedule")],
                                default="manual",
                                max_length=16,
                            ),
                        ),
                        ("backend", models.CharField(blank=True, max_length=32)),
                        ("base_commit", models.CharField(blank=True, max_length=64)),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("total", models.PositiveIntegerField(default=0)),
                        ("passed", models.PositiveIntegerField(default=0)),
                        ("failed", models.PositiveIntegerField(default=0)),
                        ("skipped", models.PositiveIntegerField(default=0)),
                        ("coverage_percent", models.FloatField(blank=True, null=True)),
                        ("report", models.JSONField(blank=True, default=dict)),
                        (
                            "log",
                            models.JSONField(
                                blank=True,
                                default=dict,
                                help_text="The DiagnosticLogger's entries for this run.",
                            ),
                        ),
                        ("error", models.TextField(blank=True)),
                        (
                            "requested_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="diagnostic_runs",
                                to="healing.workspace",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "healing_diagnosticrun",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="DetectedBug",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("tool", models.CharField(max_length=16)),
                        (
                            "code",
                            models.CharField(
                                help_text="The analyser's rule, e.g. undefined-name or B602.",
                                max_length=64,
                            ),
                        ),
                        ("severity", models.CharField(max_length=16)),
                        ("path", models.CharField(max_length=1024)),
                        ("line", models.PositiveIntegerField()),
                        ("message", models.TextField()),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("base_commit", models.CharField(blank=True, max_length=64)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="detected_bugs",
                                to="healing.workspace",
                            ),
                        ),
                        (
                            "run",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="bugs",
                                to="selfdebug.diagnosticrun",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "healing_detectedbug",
                        "ordering": ["path", "line"],
                    },
                ),
                migrations.CreateModel(
                    name="FixProposal",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "origin",
                            models.CharField(
                                choices=[
                                    ("template", "Template"),
                                    ("model", "Model"),
                                    ("testgen", "Testgen"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "source",
                            models.CharField(
                                help_text="The modification's source: builtin:<pattern>, model:<name>.",
                                max_length=128,
                            ),
                        ),
                        ("template", models.CharField(blank=True, max_length=64)),
                        ("test_id", models.CharField(blank=True, max_length=512)),
                        ("path", models.CharField(blank=True, max_length=1024)),
                        ("language", models.CharField(default="python", max_length=32)),
                        ("description", models.TextField(blank=True)),
                        ("diff", models.TextField()),
                        (
                            "verification",
                            models.JSONField(
                                blank=True,
                                help_text="The local re-run with the fix applied.",
                                null=True,
                            ),
                        ),
                        ("submit_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "bug",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="proposals",
                                to="selfdebug.detectedbug",
                            ),
                        ),
                        (
                            "modification",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="healing.modification",
                            ),
                        ),
                        (
                            "run",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="proposals",
                                to="selfdebug.diagnosticrun",
                            ),
                        ),
                        (
                            "workspace",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="fix_proposals",
                                to="healing.workspace",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "healing_fixproposal",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.AddIndex(
                    model_name="diagnosticrun",
                    index=models.Index(
                        fields=["workspace", "-created_at"], name="healing_dia_workspa_381c03_idx"
                    ),
                ),
                migrations.AddIndex(
                    model_name="detectedbug",
                    index=models.Index(
                        fields=["workspace", "severity"], name="healing_det_workspa_751807_idx"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, return_content_types),
    ]
