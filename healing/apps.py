from django.apps import AppConfig


class HealingConfig(AppConfig):
    name = "healing"
    verbose_name = "Healing engine"

    def ready(self) -> None:
        # Tunables register themselves on import; the registry must be complete before any
        # request, task or admin page reads it.
        from . import tunables  # noqa: F401
        from .apply import settings as _apply_settings  # noqa: F401
        from .sandbox import hooks as _sandbox_hooks  # noqa: F401
