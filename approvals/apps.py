from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Oversight console"

    def ready(self) -> None:
        from . import panels, signals, tunables  # noqa: F401 - register on import
