from django.apps import AppConfig


class SelfDebugConfig(AppConfig):
    """Self-debugging: diagnostic runs over a workspace's tests (through the core's sandbox),
    known failure patterns, fix and test proposals. Depends on healing; healing knows nothing
    of it beyond what it registers here."""

    name = "selfdebug"
    label = "selfdebug"
    verbose_name = "Self-debugging"

    def ready(self) -> None:
        from healing import contrib

        # The tunables must be in the registry before any request, task or admin page reads it.
        from . import admin, tunables  # noqa: F401
        from .actions import do_requeue_stalled_diagnostics
        from .coverage import latest_coverage

        contrib.register_stalled_sweep("diagnostic_runs", do_requeue_stalled_diagnostics)
        contrib.register_coverage_source(
            self.label,
            contrib.CoverageSource(
                latest_coverage, "coverage.py over the workspace at its last diagnostic run"
            ),
        )
