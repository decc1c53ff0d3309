from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("shops/<slug:slug>/catalog/", views.products, name="products"),
]
