from django.apps import AppConfig


class HealingConfig(AppConfig):
    name = "healing"
    verbose_name = "Healing engine"

    def ready(self) -> None:
        # Tunables register themselves on import; the registry must be complete before any
        # request, task or admin page reads it.
        from . import tunables, validation  # noqa: F401 - validation registers its tunables
        from . import breakers, cascades, scoring  # noqa: F401 - judgement tunables (issue #5)
        from .diagnostics import admin as diagnostics_admin  # noqa: F401
        from .diagnostics import tunables as diagnostics_tunables  # noqa: F401
