from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Oversight console"

    def ready(self) -> None:
        from . import panels, signals, tunables  # noqa: F401 - register on import

        # Registered here too, so a send by task name runs it in eager mode (see healing.apps).
        from . import tasks as _tasks  # noqa: F401
