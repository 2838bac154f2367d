from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import run_checks
from .models import EngineState


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every component answers, 503 naming what is down."""
    components = run_checks()
    down = sorted(name for name, result in components.items() if not result["ok"])
    body: dict = {"status": "ok" if not down else "down", "down": down, "components": components}
    if components["database"]["ok"]:
        body["engine"] = EngineState.objects.current().as_json()
    return JsonResponse(body, status=503 if down else 200)
