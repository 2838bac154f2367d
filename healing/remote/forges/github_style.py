"""The REST API GitHub (v3) and Gitea/Forgejo (v1) share: pulls, commit statuses, and webhooks
whose body is signed with HMAC-SHA256. Each forge names its headers and its auth."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

from .base import ForgeAdapter, PullRequest


def pull_state(data: dict[str, Any]) -> str:
    if data.get("merged") or data.get("merged_at"):
        return "merged"
    return "closed" if data.get("state") == "closed" else "open"


def pull_request(data: dict[str, Any]) -> PullRequest:
    state = pull_state(data)
    # GitHub fills merge_commit_sha for an open request too (its test merge): read only once merged.
    merged = str(data.get("merge_commit_sha") or "") if state == "merged" else ""
    return PullRequest(str(data.get("number")), data.get("html_url", ""), state, merged)


class GitHubStyle(ForgeAdapter):
    # Headers that may carry the signature, and what precedes the hex digest in them.
    signature_headers: ClassVar[tuple[str, ...]] = ()
    signature_prefix: ClassVar[str] = ""
    # The header naming the event, when the forge sends one we must check ("" = none checked).
    event_header: ClassVar[str] = ""

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
        return pull_request(self.request("GET", f"{self._repo()}/pulls/{number}"))

    def set_status(self, commit: str, state: str, description: str, target_url: str) -> None:
        # Both take success | failure | error | pending as they are.
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
        given = next((headers[h] for h in self.signature_headers if headers.get(h)), "")
        expected = f"{self.signature_prefix}{self.hmac_sha256(body)}"
        return bool(self.webhook_secret()) and hmac.compare_digest(given, expected)

    def webhook_event(
        self, headers: Mapping[str, str], payload: dict[str, Any]
    ) -> PullRequest | None:
        pr = payload.get("pull_request")
        if self.event_header and headers.get(self.event_header) != "pull_request":
            return None
        if not isinstance(pr, dict):
            return None
        return pull_request(pr)
