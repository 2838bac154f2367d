"""The login page (local accounts, throttled; the provider's button when configured) and the
OpenID Connect views around mozilla-django-oidc's."""

from __future__ import annotations

import logging
from typing import Any

import requests
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from .oidc import SIGN_IN_ATTR, ProviderUnavailable, config, oidc_setting
from .throttle import RETRY_AFTER_ATTR

log = logging.getLogger(__name__)


def provider_name() -> str | None:
    cfg = config()
    return cfg["provider_name"] if cfg else None


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match.",
        "throttled": (
            "Too many failed sign-ins for this account or from your address. "
            "Try again in %(minutes)s minute(s)."
        ),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            wait = getattr(self.request, RETRY_AFTER_ATTR, 0)
            if wait:
                self.retry_after = wait
                raise forms.ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"minutes": max(1, -(-wait // 60))},
                ) from None
            raise


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "oidc_provider_name": provider_name()}

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        wait = getattr(form, "retry_after", 0)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response


def _failed(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(
        request,
        "registration/oidc_failed.html",
        {"message": message, "oidc_provider_name": provider_name()},
        status=status,
    )


def _unreachable(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.warning("OIDC provider unreachable: %s", exc)
    return _failed(
        request, f"{provider_name()} did not answer; try again shortly or use a local account.", 502
    )


class OIDCAuthenticateView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)  # endpoints in get()

    def get(self, request: HttpRequest) -> HttpResponse:
        if config() is None:
            raise Http404("OpenID Connect sign-in is not configured")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (ProviderUnavailable, ImproperlyConfigured) as exc:
            return _unreachable(request, exc)
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """The library's callback; a state that is not this browser's pending one is a 400
    (SuspiciousOperation), as is an ID token that fails its checks."""

    get_settings = staticmethod(oidc_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if config() is None:
            raise Http404("OpenID Connect sign-in is not configured")
        try:
            return super().get(request)
        except (ProviderUnavailable, requests.RequestException) as exc:
            return _unreachable(request, exc)

    def login_failure(self) -> HttpResponse:
        sign_in = getattr(self.request, SIGN_IN_ATTR, None)
        if sign_in is not None and not sign_in.roles:
            return render(
                self.request,
                "registration/oidc_no_role.html",
                {
                    "sign_in": sign_in,
                    "oidc_provider_name": provider_name(),
                    "roles_claim": config()["roles_claim"],  # type: ignore[index]
                },
                status=403,
            )
        if self.request.GET.get("error"):
            message = f"{provider_name()} refused the sign-in ({self.request.GET['error']})."
        else:
            message = f"Sign-in with {provider_name()} did not complete; start it again."
        return _failed(self.request, message, 403)
