"""The forges' adapters; each implementation registers itself in REGISTRY on import."""

from __future__ import annotations

from typing import Any

from . import gitea, github, gitlab  # noqa: F401 - they register themselves
from .base import REGISTRY, ForgeAdapter, ForgeError, PullRequest


def adapter_for(workspace: Any) -> ForgeAdapter:
    try:
        return REGISTRY[workspace.forge](workspace)
    except KeyError:
        raise ForgeError(f"no forge adapter for {workspace.forge!r}") from None


__all__ = ["REGISTRY", "ForgeAdapter", "ForgeError", "PullRequest", "adapter_for"]
