"""Mounted under /tokens/ (console, admins)."""

from django.urls import path

from . import token_views

urlpatterns = [
    path("", token_views.token_list, name="tokens"),
    path("<int:pk>/rotate/", token_views.token_rotate, name="token-rotate"),
    path("<int:pk>/revoke/", token_views.token_revoke, name="token-revoke"),
    path("<int:pk>/grant/", token_views.token_grant, name="token-grant"),
]
