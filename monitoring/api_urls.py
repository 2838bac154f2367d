from django.urls import path

from healing.api.errors import moved

from . import api

urlpatterns = [
    path("snapshots/", api.SnapshotsView.as_view(), name="api-snapshots"),
    path("health/", api.HealthView.as_view(), name="api-health"),
    path("degradation/", api.DegradationView.as_view(), name="api-degradation"),
    path("baseline/", api.BaselineView.as_view(), name="api-baseline"),
    path("status/", api.StatusView.as_view(), name="api-status"),
    path("history/", api.HistoryView.as_view(), name="api-history"),
    path("loop/start/", api.LoopStartView.as_view(), name="api-loop-start"),
    path("loop/stop/", api.LoopStopView.as_view(), name="api-loop-stop"),
    path("loop/interval/", api.LoopIntervalView.as_view(), name="api-loop-interval"),
    # Moved: engine/ is the engine (emergency stop, resume); these control the healing loop.
    path("engine/start/", moved("api-loop-start"), name="api-loop-start-moved"),
    path("engine/stop/", moved("api-loop-stop"), name="api-loop-stop-moved"),
    path("engine/interval/", moved("api-loop-interval"), name="api-loop-interval-moved"),
    path("healing/attempts/", api.AttemptListView.as_view(), name="api-healing-attempts"),
    path(
        "healing/attempts/<int:pk>/approve/",
        api.AttemptApproveView.as_view(),
        name="api-healing-approve",
    ),
    path(
        "healing/attempts/<int:pk>/reject/",
        api.AttemptRejectView.as_view(),
        name="api-healing-reject",
    ),
    path("modifications/<int:pk>/fitness/", api.FitnessView.as_view(), name="api-fitness"),
]
