from django.urls import path

from . import views

app_name = "live"
urlpatterns = [
    path("shops/<slug:slug>/live/", views.session_list, name="list"),
    path("shops/<slug:slug>/live/new/", views.session_new, name="new"),
    path("live/<int:pk>/", views.detail, name="detail"),
    path("live/<int:pk>/status.json", views.status, name="status"),
    path("live/<int:pk>/end/", views.end, name="end"),
    path("live/<int:pk>/viewer/", views.viewer, name="viewer"),
    path("live/<int:pk>/now.json", views.now, name="now"),
    path("live/<int:pk>/image/<int:image_pk>", views.viewer_image, name="viewer_image"),
    path("live/rtmp/publish", views.rtmp_publish, name="rtmp_publish"),
    path("live/rtmp/publish_done", views.rtmp_publish_done, name="rtmp_publish_done"),
    path("live/rtmp/update", views.rtmp_update, name="rtmp_update"),
]
