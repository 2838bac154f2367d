"""Ship the second set of known failure patterns (healing/migrations/_diagnostics_seed.py, PATTERNS_V2, frozen)."""

from django.db import migrations


def load(apps, schema_editor):
    from healing.migrations._diagnostics_seed import PATTERNS_V2

    KnownPattern = apps.get_model("healing", "KnownPattern")
    for data in PATTERNS_V2:
        KnownPattern.objects.update_or_create(
            slug=data["slug"], defaults={k: v for k, v in data.items() if k != "slug"}
        )


def unload(apps, schema_editor):
    from healing.migrations._diagnostics_seed import PATTERNS_V2

    KnownPattern = apps.get_model("healing", "KnownPattern")
    KnownPattern.objects.filter(slug__in=[p["slug"] for p in PATTERNS_V2]).delete()


class Migration(migrations.Migration):
    dependencies = [("healing", "0004_diagnostics_seed_patterns")]

    operations = [migrations.RunPython(load, unload)]
