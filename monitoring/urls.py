from django.urls import path

from . import views

urlpatterns = [
    path("metrics", views.prometheus_metrics, name="metrics"),
    path("monitoring/", views.console, name="monitoring-console"),
]
