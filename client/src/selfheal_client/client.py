"""The HTTP side: build the transmission envelope, post it, read a patch, wait for its decision.

Speaks the REST API of a Selfheal server (`/api/v1/patches/`) with an API token. Nothing here
prints or exits; the CLI (cli.py) turns answers and errors into text and exit codes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import __version__

SCHEMA_VERSION = "2.0"
LANGUAGES = ("python", "javascript", "typescript", "php")
ERROR_TYPES = ("syntax", "logic", "runtime", "performance", "security")
SEVERITIES = ("critical", "high", "medium", "low")
EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".php": "php",
}

# A decision is a status the patch will not leave by itself soon. `blocked` may lift later
# (a breaker closes, an operator resumes), but nothing more happens until then.
DECISIONS = frozenset(
    {"applied", "awaiting_approval", "rejected", "blocked", "cancelled", "failed", "rolled_back"}
)
# Answers worth asking again while waiting: the server restarting, a proxy in between.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class SelfhealError(Exception):
    """No usable answer: the server cannot be reached, or it refused the request."""


class Unreachable(SelfhealError):
    """The server could not be reached (refused, timed out, name or TLS error)."""


class UsageError(SelfhealError):
    """The request cannot be built from what was given (no diff, unknown language…)."""


class ApiError(SelfhealError):
    """The server answered with an error: status code, its error code, detail and field errors."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        fields: Mapping[str, list[str]] | None = None,
        url: str = "",
    ) -> None:
        self.status = status
        self.error = error
        self.detail = detail
        self.fields = dict(fields or {})
        self.url = url
        super().__init__(self.describe())

    def describe(self) -> str:
        lines = [f"HTTP {self.status} ({self.error}): {self.detail}".rstrip()]
        lines += [f"  {name}: {' '.join(messages)}" for name, messages in self.fields.items()]
        if self.status == 401:
            lines.append("  Check the token (--token or SELFHEAL_TOKEN).")
        return "\n".join(lines)


class WaitTimeout(SelfhealError):
    """No decision within the time allowed; `patch` is the last state seen."""

    def __init__(self, patch: Patch, timeout: float) -> None:
        self.patch = patch
        self.timeout = timeout
        super().__init__(
            f"no decision after {timeout:g} s: patch {patch.id} is still {patch.status}"
        )


@dataclass(frozen=True)
class Patch:
    """A patch as the server sees it. `data` is the whole answer, for what is not lifted out."""

    id: int
    patch_id: str
    status: str
    review_url: str
    safety_level: str = ""
    safety_rule: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def decided(self) -> bool:
        return self.status in DECISIONS

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.data.get("findings") or [])

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "patch_id": self.patch_id,
            "status": self.status,
            "decided": self.decided,
            "safety_level": self.safety_level,
            "safety_rule": self.safety_rule,
            "reason": self.reason,
            "review_url": self.review_url,
            "applied_commit": self.data.get("applied_commit") or "",
            "findings": self.findings,
        }


def language_of(diff: str) -> str | None:
    """The language of the first file of the diff that has a known extension."""
    for line in diff.splitlines():
        if line.startswith("+++ ") or line.startswith("--- "):
            path = line[4:].split("\t")[0].strip()
        elif line.startswith("diff --git "):
            path = line.rsplit(" ", 1)[-1]
        else:
            continue
        if path == "/dev/null":
            continue
        dot = path.rfind(".")
        language = EXTENSIONS.get(path[dot:].lower()) if dot != -1 else None
        if language:
            return language
    return None


def build_envelope(
    diff: str,
    *,
    workspace: str,
    language: str | None = None,
    patch_id: str | None = None,
    error_type: str = "logic",
    severity: str = "medium",
    message: str | None = None,
    targets: Iterable[str] = (),
    logits: Iterable[float] | None = None,
    confidence: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The transmission envelope 2.0 for one diff (the server's schema has the last word)."""
    if not diff.strip():
        raise UsageError("The diff is empty.")
    language = language or language_of(diff)
    if language is None:
        raise UsageError(
            "Cannot tell the language from the diff's file names; give --language "
            f"({', '.join(LANGUAGES)})."
        )
    classification: dict[str, Any] = {"error_type": error_type, "severity": severity}
    if message:
        classification["error_message"] = message
    targets = list(targets)
    if targets:
        classification["targets"] = targets
    envelope: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "patch_id": patch_id or f"selfheal-client-{uuid.uuid4().hex[:16]}",
        "workspace": workspace,
        "language": language,
        "error_classification": classification,
        "patch_data": {"diff": diff},
        "metadata": {"client": f"selfheal-client/{__version__}", **dict(metadata or {})},
    }
    scoring: dict[str, Any] = {}
    if logits is not None:
        scoring["logits"] = list(logits)
    if confidence is not None:
        scoring["overall_confidence"] = confidence
    if scoring:
        envelope["confidence_scoring"] = scoring
    return envelope


def _reason(data: Mapping[str, Any]) -> str:
    """Why the patch is where it is: the block reason, else the last transition's reason."""
    if data.get("status") == "blocked" and data.get("block_reason"):
        return str(data["block_reason"])
    events = data.get("events") or []
    return str(events[-1].get("reason") or "") if events else ""


class SelfhealClient:
    """A Selfheal server's patch API, authenticated with an API token (role agent or admin).

    >>> with SelfhealClient("https://selfheal.example.org", token) as client:
    ...     patch = client.submit(diff, workspace="shop")
    ...     patch = client.wait(patch.id, timeout=600)
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        poll_interval: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url:
            raise UsageError("No server URL (--url or SELFHEAL_URL).")
        if not token:
            raise UsageError("No API token (--token or SELFHEAL_TOKEN).")
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"The server URL must start with http:// or https://, not {url!r}.")
        self.url = url.rstrip("/")
        self.poll_interval = poll_interval
        self._http = httpx.Client(
            base_url=self.url,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": f"selfheal-client/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> SelfhealClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def review_url(self, pk: int) -> str:
        return f"{self.url}/patches/{pk}/"

    def submit(self, diff: str, *, workspace: str, **fields: Any) -> Patch:
        """Post one diff (see build_envelope for the fields); the answer comes before any check."""
        return self.submit_envelope(build_envelope(diff, workspace=workspace, **fields))

    def submit_envelope(self, envelope: Mapping[str, Any]) -> Patch:
        data = self._request("POST", "/api/v1/patches/", json=dict(envelope))
        return self._patch(data)

    def status(self, pk: int) -> Patch:
        return self._patch(self._request("GET", f"/api/v1/patches/{int(pk)}/"))

    def wait(self, pk: int, timeout: float = 600.0) -> Patch:
        """Poll until the patch is decided (see DECISIONS); WaitTimeout after `timeout` seconds.
        Asks at least once. Network hiccups and 502/503/504 are retried until the deadline."""
        deadline = time.monotonic() + timeout
        delay = min(0.25, self.poll_interval)
        last: Patch | None = None
        while True:
            try:
                last = self.status(pk)
                if last.decided:
                    return last
            except (Unreachable, _Transient):
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                if last is None:
                    raise Unreachable(f"No answer about patch {pk} within {timeout:g} s.")
                raise WaitTimeout(last, timeout)
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, self.poll_interval)

    def _patch(self, data: Mapping[str, Any]) -> Patch:
        try:
            pk = int(data["id"])
            return Patch(
                id=pk,
                patch_id=str(data.get("patch_id") or ""),
                status=str(data["status"]),
                review_url=self.review_url(pk),
                safety_level=str(data.get("safety_level") or ""),
                safety_rule=str(data.get("safety_rule") or ""),
                reason=_reason(data),
                data=dict(data),
            )
        except (KeyError, TypeError, ValueError):
            raise SelfhealError(f"Unexpected answer from the server: {str(data)[:300]}") from None

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"Cannot reach {self.url}: {exc or type(exc).__name__}") from exc
        if response.status_code in RETRY_STATUSES:
            raise _Transient(_api_error(response))
        if response.is_error:
            raise _api_error(response)
        try:
            body = response.json()
        except ValueError:
            raise SelfhealError(
                f"{response.request.url} answered {response.status_code} with something "
                f"that is not JSON: {response.text[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise SelfhealError(f"Unexpected answer from the server: {str(body)[:300]}")
        return body


class _Transient(ApiError):
    """An error answer that may go away by itself (retried while waiting)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.status, error.error, error.detail, error.fields, error.url)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    url = str(response.request.url)
    if isinstance(body, dict):
        detail = body.get("detail", "")
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            fields = {"body": [str(fields)]}
        return ApiError(
            response.status_code,
            str(body.get("error") or response.reason_phrase),
            detail if isinstance(detail, str) else str(detail),
            {
                str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
                for k, v in fields.items()
            },
            url,
        )
    text = " ".join(response.text.split())[:200]
    return ApiError(response.status_code, response.reason_phrase, text or "(empty body)", None, url)
