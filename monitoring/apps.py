from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from healing import contrib

        # The thresholds must be in the registry before any request, task or admin page reads
        # it; the handlers register themselves on import.
        from . import handlers, host_health, tunables  # noqa: F401

        # The core's pre-flight and post-apply watch read health through this registration.
        contrib.register_health_source(self.label, host_health.preflight_health)
