"""URLs of the review pages (issue 5) and of their JSON endpoints (``review:api:...``)."""

from django.urls import include, path

from . import api_extra, pages

app_name = "review"
urlpatterns = [
    path("videos/<int:pk>/review/", pages.timeline, name="timeline"),
    path("videos/<int:pk>/focus/", pages.focus, name="focus"),
    path("videos/<int:pk>/viewer/", pages.viewer, name="viewer"),
    path("videos/<int:pk>/viewer/<str:kind>/<int:ref>", pages.viewer_media, name="viewer_media"),
    path("videos/<int:pk>/video", pages.video_file, name="video_file"),
    path("videos/<int:pk>/filmstrip.jpg", pages.filmstrip, name="filmstrip"),
    path("videos/<int:pk>/clips/<int:product_pk>.mp4", pages.clip, name="clip"),
    path("videos/<int:pk>/clips.zip", pages.clips_zip, name="clips_zip"),
    path("api/review/", include((api_extra.urlpatterns, "api"))),
]
