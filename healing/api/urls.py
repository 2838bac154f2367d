from django.urls import include, path

urlpatterns: list = [
    path("", include("healing.api.judgement_urls")),
]
