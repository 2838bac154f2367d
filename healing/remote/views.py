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
    workspace = Workspace.objects.filter(pk=workspace_id).exclude(forge="none").first()
    if workspace is None or not workspace.is_remote:
        return JsonResponse({"detail": "no such forge workspace"}, status=404)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"detail": "body too large"}, status=413)
    forge = forges.adapter_for(workspace)
    headers = dict(request.headers)
    if not forge.verify_webhook(headers, request.body):
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
    changed = do_settle_pull_request(landing, event.state, f"forge:{forge.name}")
    return JsonResponse({"settled": changed, "state": event.state})
