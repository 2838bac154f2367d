from django.apps import AppConfig


class HealingConfig(AppConfig):
    name = "healing"
    verbose_name = "Healing engine"

    def ready(self) -> None:
        # Tunables register themselves on import; the registry must be complete before any
        # request, task or admin page reads it.
        from . import (  # noqa: F401 - validation and judgement tunables
            breakers,
            cascades,
            contrib,  # noqa: F401 - the system check that every contributor registered
            scoring,
            tunables,
            validation,
        )
        from .apply import settings as _apply_settings  # noqa: F401 - apply.* tunables
        from .sandbox import hooks as _sandbox_hooks  # noqa: F401 - sandbox.* tunables, stop hook
