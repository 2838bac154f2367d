from django.urls import path

from . import breaker_views, link_views, views, workspaces

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/panels/", views.dashboard_panels, name="dashboard-panels"),
    path("patches/<int:pk>/", views.review, name="review"),
    path("patches/<int:pk>/approve/", views.approve, name="approve"),
    path("patches/<int:pk>/reject/", views.reject, name="reject"),
    path("patches/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("patches/link/<str:token>/", link_views.action_link, name="action-link"),
    path("integrations/chat/actions/", link_views.chat_actions, name="chat-actions"),
    path("patches/bulk-approve/", views.bulk_approve, name="bulk-approve"),
    path("engine/stop/", views.engine_stop, name="engine-stop"),
    path("engine/resume/", views.engine_resume, name="engine-resume"),
    path("breakers/<str:action>/", breaker_views.engine_breaker_action, name="breaker-action"),
    path("thresholds/", views.thresholds_page, name="thresholds"),
    path("thresholds/history/", views.thresholds_history, name="thresholds-history"),
    path("workspaces/", workspaces.workspace_list, name="workspaces"),
    path("workspaces/<int:pk>/", workspaces.workspace_detail, name="workspace"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.json", views.audit_export, {"fmt": "json"}, name="audit-export-json"),
]
