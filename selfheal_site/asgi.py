"""ASGI entry point: HTTP through Django, websockets through Channels with session or token auth."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
django_asgi_app = get_asgi_application()

from django.urls import get_resolver  # noqa: E402

# Import every view now, not on the first request: that request may be an emergency stop, and
# under load importing the URLconf took seconds.
get_resolver().url_patterns  # noqa: B018
# As the Celery worker does (selfheal_site/celery.py): keep start-up objects out of full GCs.
gc.freeze()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from approvals.routing import websocket_urlpatterns  # noqa: E402
from healing.ws_auth import TokenOrSessionAuthMiddlewareStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            TokenOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
