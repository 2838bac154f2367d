"""Self-debugging's models move to their own app (selfdebug): out of healing's state only. The
tables stay, with their rows; selfdebug's 0001 takes them over under the same names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("healing", "0015_remote_webhook_secret"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="detectedbug",
                    name="run",
                ),
                migrations.RemoveField(
                    model_name="detectedbug",
                    name="workspace",
                ),
                migrations.RemoveField(
                    model_name="fixproposal",
                    name="bug",
                ),
                migrations.RemoveField(
                    model_name="diagnosticrun",
                    name="requested_by",
                ),
                migrations.RemoveField(
                    model_name="diagnosticrun",
                    name="workspace",
                ),
                migrations.RemoveField(
                    model_name="fixproposal",
                    name="run",
                ),
                migrations.RemoveField(
                    model_name="fixproposal",
                    name="modification",
                ),
                migrations.RemoveField(
                    model_name="fixproposal",
                    name="workspace",
                ),
                migrations.DeleteModel(
                    name="KnownPattern",
                ),
                migrations.DeleteModel(
                    name="DetectedBug",
                ),
                migrations.DeleteModel(
                    name="DiagnosticRun",
                ),
                migrations.DeleteModel(
                    name="FixProposal",
                ),
            ],
            database_operations=[],
        ),
    ]
