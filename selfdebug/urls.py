from django.urls import path

from . import views

urlpatterns = [
    path("", views.run_list, name="diagnostics-runs"),
    path("runs/", views.run_create, name="diagnostics-run-create"),
    path("runs/<int:pk>/", views.run_detail, name="diagnostics-run"),
]
