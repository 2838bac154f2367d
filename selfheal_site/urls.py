from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from healing.views import healthz

handler500 = "healing.middleware.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", include("healing.accounts.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("healing.api.urls")),
    path("diagnostics/", include("selfdebug.urls")),
    path("tokens/", include("healing.token_urls")),
    path("api/v1/", include("monitoring.api_urls")),
    path("api/v1/", include("approvals.api_urls")),
    path("api/v1/", include("selfdebug.api_urls")),
    path("", include("monitoring.urls")),
    path("", include("approvals.urls")),
]
