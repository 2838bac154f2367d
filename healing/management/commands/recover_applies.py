"""Finish or undo applies a crash left in flight. Run at server start (the worker runs it too)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Finish or undo interrupted applies, rollbacks and restores (journalled)."

    def handle(self, *args: Any, **options: Any) -> None:
        from healing.apply.recovery import recover_in_flight

        resolved = recover_in_flight()
        for journal_id, state in resolved:
            self.stdout.write(f"journal {journal_id}: {state}")
        self.stdout.write(f"{len(resolved)} interrupted change(s) resolved.")
