"""GitHub REST v3: pulls, statuses; webhooks signed with X-Hub-Signature-256."""

from __future__ import annotations

from .base import register
from .github_style import GitHubStyle


@register
class GitHub(GitHubStyle):
    name = "github"
    default_api = "https://api.github.com"
    signature_headers = ("X-Hub-Signature-256",)
    signature_prefix = "sha256="
    event_header = "X-GitHub-Event"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
