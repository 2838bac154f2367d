"""Gitea / Forgejo API v1: pulls, statuses; webhooks signed with X-Gitea-Signature."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from .base import ForgeAdapter, PullRequest, hmac_sha256, register, webhook_secret
from .github import _state

STATES = {"success": "success", "failure": "failure", "pending": "pending"}


@register
class Gitea(ForgeAdapter):
    name = "gitea"
    default_api = ""

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

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
                "state": STATES[state],
                "description": description[:140],
                "target_url": target_url,
                "context": "selfheal",
            },
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        given = headers.get("X-Gitea-Signature", "") or headers.get("X-Forgejo-Signature", "")
        return bool(webhook_secret()) and hmac.compare_digest(given, hmac_sha256(body))

    def webhook_event(
        self, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> PullRequest | None:
        pr = payload.get("pull_request")
        if not isinstance(pr, dict):
            return None
        return PullRequest(str(pr.get("number")), pr.get("html_url", ""), _state(pr))
