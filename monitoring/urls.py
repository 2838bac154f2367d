from django.urls import path

from . import views

urlpatterns = [
    path("metrics", views.prometheus_metrics, name="metrics"),
    path("monitoring/", views.console, name="monitoring-console"),
    path("monitoring/loop/start/", views.loop_start, name="loop-start"),
    path("monitoring/loop/stop/", views.loop_stop, name="loop-stop"),
    path("monitoring/loop/interval/", views.loop_interval, name="loop-interval"),
]
