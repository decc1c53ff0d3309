from django.urls import path

from . import views

app_name = "embeds"
urlpatterns = [
    path("videos/<int:pk>/viewer-links/revoke/", views.revoke_key, name="revoke_key"),
    path("shops/<slug:slug>/embed-sites/", views.sites, name="sites"),
]
