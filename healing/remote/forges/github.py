"""GitHub REST v3: pulls, statuses; webhooks signed with X-Hub-Signature-256."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from .base import ForgeAdapter, PullRequest, hmac_sha256, register, webhook_secret


def _state(data: dict[str, Any]) -> str:
    if data.get("merged") or data.get("merged_at"):
        return "merged"
    return "closed" if data.get("state") == "closed" else "open"


@register
class GitHub(ForgeAdapter):
    name = "github"
    default_api = "https://api.github.com"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _repo(self) -> str:
        return f"/repos/{self.workspace.forge_repo}"

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        data = self.request(
            "POST",
            f"{self._repo()}/pulls",
            {"title": title, "head": head, "base": base, "body": body},
        )
        return PullRequest(str(data["number"]), data.get("html_url", ""))

    def get_pull_request(self, number: str) -> PullRequest:
        data = self.request("GET", f"{self._repo()}/pulls/{number}")
        return PullRequest(str(data["number"]), data.get("html_url", ""), _state(data))

    def set_status(self, commit: str, state: str, description: str, target_url: str) -> None:
        self.request(
            "POST",
            f"{self._repo()}/statuses/{commit}",
            {
                "state": state,
                "description": description[:140],
                "target_url": target_url,
                "context": "selfheal",
            },
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get("X-Hub-Signature-256", "")
        return bool(webhook_secret()) and hmac.compare_digest(given, f"sha256={hmac_sha256(body)}")

    def webhook_event(
        self, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> PullRequest | None:
        pr = payload.get("pull_request")
        if headers.get("X-GitHub-Event") != "pull_request" or not isinstance(pr, dict):
            return None
        return PullRequest(str(pr.get("number")), pr.get("html_url", ""), _state(pr))
