"""Ship the known failure patterns (healing/migrations/_diagnostics_seed.py, PATTERNS_V1, frozen)."""

from django.db import migrations


def load(apps, schema_editor):
    from healing.migrations._diagnostics_seed import PATTERNS_V1

    KnownPattern = apps.get_model("healing", "KnownPattern")
    for data in PATTERNS_V1:
        KnownPattern.objects.update_or_create(
            slug=data["slug"], defaults={k: v for k, v in data.items() if k != "slug"}
        )


def unload(apps, schema_editor):
    from healing.migrations._diagnostics_seed import PATTERNS_V1

    KnownPattern = apps.get_model("healing", "KnownPattern")
    KnownPattern.objects.filter(slug__in=[p["slug"] for p in PATTERNS_V1]).delete()


class Migration(migrations.Migration):
    dependencies = [("healing", "0003_diagnostics_models")]

    operations = [migrations.RunPython(load, unload)]
