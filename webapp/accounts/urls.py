from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("shops/<slug:slug>/", views.shop_dashboard, name="shop"),
    path("shops/<slug:slug>/members/", views.members, name="members"),
    path("account/api-tokens/", views.api_tokens, name="api_tokens"),
]
