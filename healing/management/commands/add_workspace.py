from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from healing.actions.workspaces import do_register_workspace
from healing.models import Forge, IsolationLevel, Landing


class Command(BaseCommand):
    help = "Register a git work tree (PATH) or a remote repository (--remote URL) as a workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("path", nargs="?", default="")
        # A remote instead of a path (healing/remote/): credentials by reference only.
        parser.add_argument("--remote", default="", help="A URL git fetches from and pushes to.")
        parser.add_argument("--landing", choices=[c.value for c in Landing], default=Landing.PUSH)
        parser.add_argument(
            "--credentials-env", default="", help="ENV_NAME or file:/path holding a token or key."
        )
        parser.add_argument("--forge", choices=[c.value for c in Forge], default=Forge.NONE)
        parser.add_argument(
            "--forge-api", default="", help="API base URL (enterprise, self-hosted)."
        )
        parser.add_argument("--forge-repo", default="", help="OWNER/NAME on the forge.")
        parser.add_argument(
            "--webhook-secret-env",
            default="",
            help="ENV_NAME or file:/path holding this workspace's forge webhook secret.",
        )
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
                path=str(Path(options["path"]).expanduser().resolve()) if options["path"] else "",
                remote_url=options["remote"],
                landing=options["landing"],
                credentials_env=options["credentials_env"],
                forge=options["forge"],
                forge_api=options["forge_api"],
                forge_repo=options["forge_repo"],
                webhook_secret_env=options["webhook_secret_env"],
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
        where = workspace.remote_url or workspace.path
        self.stdout.write(f"Workspace {workspace.name} (id {workspace.pk}) guards {where}")
