"""API keys kept as sha256 with expiry, revocation, last use and workspace grants.

Existing DRF keys are carried over (hashed) so engines keep working, then wiped from DRF's
table; the `workspace:<name>` group grants become grants on the member's keys, and the groups
go: one grant mechanism, not two."""

import hashlib
from datetime import UTC, datetime

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _aware(value):
    # A raw cursor gives SQLite's stored UTC text or a naive datetime; PostgreSQL an aware one.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def carry_over(apps, schema_editor):
    ApiToken = apps.get_model("healing", "ApiToken")
    Workspace = apps.get_model("healing", "Workspace")
    Group = apps.get_model("auth", "Group")
    connection = schema_editor.connection
    if "authtoken_token" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("SELECT key, user_id, created FROM authtoken_token")
            rows = cursor.fetchall()
            for key, user_id, created in rows:
                ApiToken.objects.create(
                    user_id=user_id,
                    name="carried over",
                    key_hash=hashlib.sha256(key.encode()).hexdigest(),
                    prefix=key[:6],
                    created_at=_aware(created),
                )
            cursor.execute("DELETE FROM authtoken_token")
    for group in Group.objects.filter(name__startswith="workspace:"):
        workspace = Workspace.objects.filter(name=group.name.split(":", 1)[1]).first()
        if workspace is not None:
            for token in ApiToken.objects.filter(user__groups=group):
                token.workspaces.add(workspace)
                token.scoped = True
                token.save(update_fields=["scoped"])
        group.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("healing", "0011_modification_latest_per_workspace_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(blank=True, max_length=100)),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("prefix", models.CharField(max_length=8)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("rotated_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "workspaces",
                    models.ManyToManyField(
                        blank=True, related_name="api_tokens", to="healing.workspace"
                    ),
                ),
                ("scoped", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["user__username", "id"],
            },
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
    ]
