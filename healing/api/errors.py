"""One shape for every API error: {"error": "...", "detail": ..., "fields": {...}}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..apply.actions import ApplyRefused
from ..apply.backups import BackupCorrupt
from ..apply.lock import WorkspaceBusy
from ..models import InvalidTransition


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, InvalidTransition):
        return Response({"error": "conflict", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {
            "error": "invalid",
            "detail": "The request is not valid.",
            "fields": data,
        }
    elif isinstance(data, dict) and "detail" in data:
        body = {"error": getattr(exc, "default_code", "error"), "detail": data["detail"]}
    else:
        body = {"error": "error", "detail": data}
    response.data = body
    return response


def moved(new_name: str) -> Callable[..., JsonResponse]:
    """The view for a URL that moved: 410 Gone for every method, in the API's error shape, with the
    new URL named. Not a redirect: the moved URLs are control actions (POST), and a client still
    calling the old one should be told and fixed, not silently re-sent elsewhere."""

    @csrf_exempt
    def gone(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        new_url = reverse(new_name)
        return JsonResponse(
            {"error": "gone", "detail": f"This URL moved to {new_url}.", "new_url": new_url},
            status=status.HTTP_410_GONE,
            headers={"Link": f'<{new_url}>; rel="successor-version"'},
        )

    return gone


def conflict(error: str, detail: str, **extra: Any) -> Response:
    return Response({"error": error, "detail": detail, **extra}, status=status.HTTP_409_CONFLICT)


def apply_errors(fn: Any) -> Response:
    try:
        return fn()
    except BackupCorrupt as exc:
        return conflict("backup_corrupt", str(exc), mismatches=exc.mismatches)
    except WorkspaceBusy as exc:
        return conflict("workspace_busy", str(exc))
    except ApplyRefused as exc:
        return conflict("refused", str(exc))
