from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # The thresholds must be in the registry before any request, task or admin page reads it.
        from . import tunables  # noqa: F401
