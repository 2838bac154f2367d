from django.urls import path, re_path

from . import judgement

ACTION = r"(?P<action>force-open|force-close|reset)"

urlpatterns = [
    path("breakers/", judgement.BreakersView.as_view(), name="api-breakers"),
    re_path(
        rf"^breakers/engine/{ACTION}/$",
        judgement.EngineBreakerActionView.as_view(),
        name="api-engine-breaker-action",
    ),
    re_path(
        rf"^breakers/engines/(?P<source>[^/]+)/{ACTION}/$",
        judgement.EngineBreakerActionView.as_view(),
        name="api-source-breaker-action",
    ),
    path(
        "breakers/workspaces/<int:workspace_id>/",
        judgement.WorkspaceBreakerView.as_view(),
        name="api-workspace-breaker",
    ),
    re_path(
        rf"^breakers/workspaces/(?P<workspace_id>[0-9]+)/{ACTION}/$",
        judgement.WorkspaceBreakerActionView.as_view(),
        name="api-workspace-breaker-action",
    ),
    path("cascades/<int:cascade_id>/", judgement.CascadeView.as_view(), name="api-cascade"),
    path("calibration/", judgement.CalibrationView.as_view(), name="api-calibration"),
    path("learning/", judgement.LearningView.as_view(), name="api-learning"),
]
