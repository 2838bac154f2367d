from django.apps import AppConfig


class HealingConfig(AppConfig):
    name = "healing"
    verbose_name = "Healing engine"

    def ready(self) -> None:
        # Stages, checks and tunables register themselves on import; the registries must be
        # complete before any request, task or admin page reads them.
        from . import (  # noqa: F401 - validation stages, pre-flight checks
            breakers,
            cascades,
            contrib,  # noqa: F401 - the system check that every contributor registered
            scoring,
            tunables,
            validation,
        )

        # Every task registered in this process too: actions send work by task name, and in eager
        # mode (tests, the demo) only a registered task runs instead of going to the broker.
        from . import tasks as _tasks  # noqa: F401
        from .sandbox import hooks as _sandbox_hooks  # noqa: F401 - the emergency-stop hook
