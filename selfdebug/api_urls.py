"""The self-debugging API, under /api/v1/ (included by selfheal_site.urls)."""

from django.urls import path

from . import api

urlpatterns = [
    path("diagnostics/runs/", api.RunListCreate.as_view(), name="api-diagnostic-runs"),
    path("diagnostics/runs/<int:pk>/", api.RunDetail.as_view(), name="api-diagnostic-run"),
    path(
        "diagnostics/runs/<int:pk>/log/",
        api.RunLog.as_view(),
        name="api-diagnostic-run-log",
    ),
    path("diagnostics/patterns/", api.PatternList.as_view(), name="api-diagnostic-patterns"),
    path(
        "diagnostics/proposals/",
        api.ProposalList.as_view(),
        name="api-diagnostic-proposals",
    ),
    path("diagnostics/testgen/", api.TestGen.as_view(), name="api-diagnostic-testgen"),
    path("diagnostics/coverage/", api.CoverageList.as_view(), name="api-diagnostic-coverage"),
    path("bugs/", api.BugList.as_view(), name="api-bugs"),
    path("bugs/<int:pk>/fix/", api.BugFix.as_view(), name="api-bug-fix"),
]
