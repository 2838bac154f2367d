from .base import REGISTRY, ForgeAdapter, ForgeError, PullRequest, adapter_for

__all__ = ["REGISTRY", "ForgeAdapter", "ForgeError", "PullRequest", "adapter_for"]
