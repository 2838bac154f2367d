"""GitLab API v4: merge requests, commit (pipeline) statuses; webhooks carry X-Gitlab-Token."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .base import ForgeAdapter, PullRequest, register

STATES = {"success": "success", "failure": "failed", "error": "failed", "pending": "pending"}


def _state(value: str) -> str:
    return {"merged": "merged", "closed": "closed"}.get(value, "open")


@register
class GitLab(ForgeAdapter):
    name = "gitlab"
    default_api = "https://gitlab.com/api/v4"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token}

    def _project(self) -> str:
        return f"/projects/{quote(self.workspace.forge_repo, safe='')}"

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> PullRequest:
        data = self.request(
            "POST",
            f"{self._project()}/merge_requests",
            {"source_branch": head, "target_branch": base, "title": title, "description": body},
        )
        return PullRequest(str(data["iid"]), data.get("web_url", ""))

    def get_pull_request(self, number: str) -> PullRequest:
        data = self.request("GET", f"{self._project()}/merge_requests/{number}")
        return PullRequest(str(data["iid"]), data.get("web_url", ""), _state(data.get("state", "")))

    def set_status(self, commit: str, state: str, description: str, target_url: str) -> None:
        self.request(
            "POST",
            f"{self._project()}/statuses/{commit}",
            {
                "state": STATES[state],
                "name": "selfheal",
                "description": description[:140],
                "target_url": target_url,
            },
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.webhook_secret()
        return bool(secret) and hmac.compare_digest(headers.get("X-Gitlab-Token", ""), secret)

    def webhook_event(
        self, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> PullRequest | None:
        attrs = payload.get("object_attributes")
        if payload.get("object_kind") != "merge_request" or not isinstance(attrs, dict):
            return None
        return PullRequest(
            str(attrs.get("iid")), attrs.get("url", ""), _state(attrs.get("state", ""))
        )
