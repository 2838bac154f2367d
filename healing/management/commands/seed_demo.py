from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from healing.actions.workspaces import do_register_workspace
from healing.demo import create_demo_repo
from healing.models import Workspace
from healing.sandbox_probe import best_isolation_level
from selfheal_site.env import var_dir


class Command(BaseCommand):
    help = (
        "Create the demo git repository and register it as the `demo` workspace (safe to re-run)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if Workspace.objects.filter(name="demo").exists():
            self.stdout.write("Demo workspace exists.")
            return
        path = create_demo_repo(var_dir() / "demo-repo")
        level, why = best_isolation_level()
        workspace = do_register_workspace(
            None,
            name="demo",
            path=str(path),
            branch="main",
            test_command="python -m pytest -q",
            languages=["python"],
            isolation_level=level,
            is_demo=True,
        )
        self.stdout.write(
            f"Demo workspace registered at {workspace.path}, sandbox isolation {level} ({why})."
        )
