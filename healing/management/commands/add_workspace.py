from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from healing.actions.workspaces import do_register_workspace
from healing.models import IsolationLevel


class Command(BaseCommand):
    help = "Register a git work tree as a workspace the engine guards."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("path")
        parser.add_argument("--test-command", default="python -m pytest -q")
        parser.add_argument("--branch", default=None, help="Defaults to the checked-out branch.")
        parser.add_argument("--language", action="append", dest="languages", default=None)
        parser.add_argument(
            "--setup-command",
            default="",
            help="Installs the project's dependencies into its own environment, e.g. "
            "'python -m pip install -r requirements.txt'.",
        )
        parser.add_argument(
            "--interpreter", default="", help="The Python its environment is made from."
        )
        parser.add_argument(
            "--isolation", choices=[c.value for c in IsolationLevel], default=IsolationLevel.FULL
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = do_register_workspace(
                None,
                name=options["name"],
                path=str(Path(options["path"]).expanduser().resolve()),
                test_command=options["test_command"],
                branch=options["branch"],
                languages=options["languages"] or ["python"],
                isolation_level=options["isolation"],
                setup_command=options["setup_command"],
                interpreter=options["interpreter"],
            )
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"error": exc.messages}
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())
            ) from None
        self.stdout.write(f"Workspace {workspace.name} (id {workspace.pk}) guards {workspace.path}")
