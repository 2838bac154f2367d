from __future__ import annotations

import getpass
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from healing.intake import IntakeError
from healing.intake.actions import do_submit_patch
from healing.validation.base import language_for_path
from healing.validation.diff import DiffParseError, file_changes, parse_diff

ERROR_TYPES = ["syntax", "logic", "runtime", "performance", "security"]
SEVERITIES = ["low", "medium", "high", "critical"]


class Command(BaseCommand):
    help = "Submit a unified diff to a workspace, as an agent would through the API. Prints the patch id and its URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A unified diff; '-' reads standard input.")
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--error-type", choices=ERROR_TYPES, default="logic")
        parser.add_argument("--severity", choices=SEVERITIES, default="medium")
        parser.add_argument(
            "--language",
            choices=["python", "javascript", "typescript", "php"],
            default=None,
            help="Defaults to the language of the first file.",
        )
        parser.add_argument(
            "--logits",
            type=float,
            nargs="+",
            default=None,
            help="The fixing model's logits, e.g. --logits 2.1 0.4 0.2",
        )
        parser.add_argument("--patch-id", default=None, help="Defaults to cli-<random>.")

    def handle(self, *args: Any, **options: Any) -> None:
        diff = self._read(options["file"])
        language = options["language"] or self._language(diff)
        envelope: dict[str, Any] = {
            "schema_version": "2.0",
            "patch_id": options["patch_id"] or f"cli-{uuid.uuid4().hex[:12]}",
            "workspace": options["workspace"],
            "language": language,
            "error_classification": {
                "error_type": options["error_type"],
                "severity": options["severity"],
            },
            "patch_data": {"diff": diff},
            "metadata": {"submitted_with": "manage.py submit_patch"},
        }
        if options["logits"]:
            envelope["confidence_scoring"] = {"logits": options["logits"]}
        try:
            mod = do_submit_patch(envelope, submitted_by=None, source=f"cli:{getpass.getuser()}")
        except IntakeError as exc:
            raise CommandError(
                "\n".join(
                    f"{field}: {' '.join(messages)}" for field, messages in exc.fields.items()
                )
            ) from None
        self.stderr.write(json.dumps({"id": mod.pk, "status": mod.status, "files": mod.files}))
        self.stdout.write(f"{mod.patch_id} {mod.get_api_url()}")

    def _read(self, name: str) -> str:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {name}: {exc.strerror}") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"{name} is not UTF-8 text.") from None

    def _language(self, diff: str) -> str:
        try:
            files = file_changes(parse_diff(diff))
        except DiffParseError as exc:
            raise CommandError(str(exc)) from None
        for change in files:
            language = language_for_path(change.path)
            if language:
                return "typescript" if language == "tsx" else language
        return "python"
