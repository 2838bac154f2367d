from __future__ import annotations

from django.core.cache import caches
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .healthz import CHECKS, public_view, run_checks
from .models import EngineState
from .roles import Role, has_role

# Anonymous answers are shared for a few seconds: a load balancer (or anyone) polling does not
# make every hit ping the broker, the channel layer and the workers. Kept in this process's memory:
# the shared cache lives in Redis, which is one of the things this view must report down.
PUBLIC_CACHE_S = 3
PUBLIC_CACHE_KEY = "selfheal:healthz:remote"
REMOTE_CHECKS = ("broker", "channel_layer", "worker")
LOCAL_CHECKS = tuple(name for name in CHECKS if name not in REMOTE_CHECKS)


def _is_staff(request: HttpRequest) -> bool:
    """Signed in with a console role. A dead database (sessions live there) means anonymous."""
    try:
        return any(has_role(request.user, r) for r in (Role.REVIEWER, Role.OPERATOR, Role.ADMIN))
    except (OperationalError, InterfaceError):
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every component answers, 503 naming what is down. A workspace whose isolation
    level this machine cannot give is reported under `degraded`, never a 503 for everyone.
    Details (errors, host and workspace names, the engine's operator and reason) are for staff."""
    staff = _is_staff(request)
    if staff:
        components = run_checks()
    else:
        cache = caches["local"]
        remote = cache.get(PUBLIC_CACHE_KEY)
        if remote is None:
            remote = run_checks(REMOTE_CHECKS)
            cache.set(PUBLIC_CACHE_KEY, remote, PUBLIC_CACHE_S)
        # The local checks are cheap and stay fresh (a dead database shows at once).
        components = {**run_checks(LOCAL_CHECKS), **remote}
        components = {name: components[name] for name in CHECKS}
    down = sorted(name for name, result in components.items() if not result["ok"])
    degraded = sorted(name for name, result in components.items() if result.get("degraded"))
    body: dict = {
        "status": "ok" if not down else "down",
        "down": down,
        "degraded": degraded,
        "components": components if staff else public_view(components),
    }
    if components["database"]["ok"]:
        engine = EngineState.objects.current().as_json()
        body["engine"] = engine if staff else {"state": engine["state"]}
    return JsonResponse(body, status=503 if down else 200)
