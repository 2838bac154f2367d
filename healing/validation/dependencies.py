"""A patch that changes a setup input (requirements, lock files…) is a dependency change."""

from __future__ import annotations

from .base import Finding, Stage, ValidationContext, register


@register
class DependencyStage(Stage):
    name = "dependencies"
    order = 55
    title = "Dependencies"

    def run(self, ctx: ValidationContext) -> list[Finding]:
        from ..sandbox.environments import changed_inputs

        ws = ctx.workspace
        if not ws.setup_command:
            return []  # no environment of its own: these files are only files
        # The paths git writes (ctx.files), not the names the diff's text gives.
        touched = changed_inputs([f.path for f in ctx.files], ws.setup_inputs or [])
        if not touched:
            return []
        return [
            Finding(
                "medium",
                f"dependency change: {', '.join(touched)} (its environment is built from the "
                "patched tree)",
                "dependency.change",
                file=touched[0],
            )
        ]
