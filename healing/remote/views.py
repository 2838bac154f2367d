"""POST /api/v1/forges/<workspace id>/webhook/: the forge says a pull request changed.

No session or API token: the forge signs the body (GitHub X-Hub-Signature-256, Gitea
X-Gitea-Signature) or sends the shared secret (GitLab X-Gitlab-Token); anything else is 403."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import RemoteLanding, RemoteLandingState, Workspace
from . import forges
from .actions import do_settle_pull_request

MAX_BODY = 2 * 1024 * 1024


@csrf_exempt
@require_POST
def forge_webhook(request: HttpRequest, workspace_id: int) -> JsonResponse:
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY:
        return JsonResponse({"detail": "body too large"}, status=413)
    workspace = (
        Workspace.objects.filter(pk=workspace_id)
        .exclude(forge="none")
        .exclude(remote_url="")
        .first()
    )
    headers = request.headers  # case-insensitive, as HTTP headers are
    # An unknown workspace answers like a bad signature: nothing to learn by probing ids.
    forge = forges.adapter_for(workspace) if workspace is not None else None
    if forge is None or not forge.verify_webhook(headers, request.body):
        return JsonResponse({"detail": "bad or missing signature"}, status=403)
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "body is not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "body is not a JSON object"}, status=400)
    event = forge.webhook_event(headers, payload)
    if event is None:
        return JsonResponse({"detail": "ignored"}, status=202)
    landing = RemoteLanding.objects.filter(
        workspace=workspace, pr_number=event.number, state=RemoteLandingState.OPEN
    ).first()
    if landing is None:
        return JsonResponse({"detail": "no open request of ours"}, status=202)
    changed = do_settle_pull_request(
        landing, event.state, f"forge:{forge.name}", event.merge_commit
    )
    return JsonResponse({"settled": changed, "state": event.state})
