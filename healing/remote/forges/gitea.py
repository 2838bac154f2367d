"""Gitea / Forgejo API v1 (GitHub's shape): pulls, statuses; webhooks signed with
X-Gitea-Signature (Forgejo: X-Forgejo-Signature)."""

from __future__ import annotations

from .base import register
from .github_style import GitHubStyle


@register
class Gitea(GitHubStyle):
    name = "gitea"
    default_api = ""
    signature_headers = ("X-Gitea-Signature", "X-Forgejo-Signature")

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}
