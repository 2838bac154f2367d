from django.urls import path

from . import api

urlpatterns = [
    path("engine/", api.EngineStateView.as_view(), name="api-engine"),
    path("engine/emergency-stop/", api.EmergencyStopView.as_view(), name="api-emergency-stop"),
    path("engine/resume/", api.ResumeView.as_view(), name="api-resume"),
    path("patches/<int:pk>/approve/", api.ApproveView.as_view(), name="api-patch-approve"),
    path("patches/<int:pk>/reject/", api.RejectView.as_view(), name="api-patch-reject"),
    path("patches/<int:pk>/cancel/", api.CancelView.as_view(), name="api-patch-cancel"),
]
