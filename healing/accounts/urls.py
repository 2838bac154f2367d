"""Mounted under /login/, which the login-required middleware leaves open."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.LoginView.as_view(), name="login"),
    path(
        "oidc/authenticate/", views.OIDCAuthenticateView.as_view(), name="oidc_authentication_init"
    ),
    path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
