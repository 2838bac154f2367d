"""Landing modes for remote workspaces, in a registry: where a commit goes and what follows."""

from __future__ import annotations

from typing import Any, ClassVar

from ..models import RemoteLanding
from . import forges, summary
from .push import push


class LandingMode:
    name: ClassVar[str] = ""
    # Does the patch count as applied once the push succeeded (or does it wait for a merge)?
    finishes_on_push: ClassVar[bool] = True
    # Does an applied patch run in production (is it on the base branch)? Only then can
    # production's health say anything about it.
    reaches_base: ClassVar[bool] = True

    def target_ref(self, workspace: Any, mod: Any, operation: str) -> str:
        raise NotImplementedError

    def lease(self, landing: RemoteLanding) -> str:
        """What the target ref must hold before the push ("" = must not exist)."""
        return ""

    def push(self, workspace: Any, landing: RemoteLanding) -> None:
        push(workspace, landing.new_commit, landing.target_ref, self.lease(landing))

    def after_push(self, workspace: Any, mod: Any, landing: RemoteLanding) -> None:
        """Raises forges.ForgeError."""


class PushMode(LandingMode):
    name = "push"

    def target_ref(self, workspace: Any, mod: Any, operation: str) -> str:
        return f"refs/heads/{workspace.branch}"

    def lease(self, landing: RemoteLanding) -> str:
        return landing.base_commit


class BranchMode(LandingMode):
    name = "branch"
    reaches_base = False

    def target_ref(self, workspace: Any, mod: Any, operation: str) -> str:
        prefix = "revert-" if operation == "rollback" else ""
        return f"refs/heads/selfheal/{prefix}{mod.patch_id}"


class PullRequestMode(BranchMode):
    name = "pull_request"
    finishes_on_push = False
    reaches_base = True  # applied only once the request is merged into the base branch

    def after_push(self, workspace: Any, mod: Any, landing: RemoteLanding) -> None:
        forge = forges.adapter_for(workspace)
        head = landing.target_ref.removeprefix("refs/heads/")
        if landing.operation == "rollback":
            title = f"Revert: {summary.title(mod)}"
            body = (
                f"Reverts {mod.applied_commit} (patch {mod.patch_id}).\n\n{summary.review_url(mod)}"
            )
        else:
            title, body = summary.title(mod), summary.body(mod)
        pr = forge.open_pull_request(head, workspace.branch, title, body)
        landing.pr_number, landing.pr_url = pr.number, pr.url
        landing.save(update_fields=["pr_number", "pr_url"])
        forge.set_status(
            landing.new_commit, "success", summary.verdict(mod), summary.review_url(mod)
        )


MODES: dict[str, LandingMode] = {m.name: m for m in (PushMode(), BranchMode(), PullRequestMode())}
