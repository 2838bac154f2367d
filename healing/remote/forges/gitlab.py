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


def _merge_request(data: dict[str, Any], url_key: str) -> PullRequest:
    state = _state(data.get("state", ""))
    # A fast-forward merge leaves merge_commit_sha null: the request's head is what main got.
    merged = data.get("merge_commit_sha") or data.get("squash_commit_sha") or ""
    return PullRequest(
        str(data.get("iid")), data.get(url_key, ""), state, str(merged) if state == "merged" else ""
    )


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
        return _merge_request(
            self.request("GET", f"{self._project()}/merge_requests/{number}"), "web_url"
        )

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
        return _merge_request(attrs, "url")
