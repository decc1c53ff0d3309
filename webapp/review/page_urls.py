"""URLs of the review pages; their JSON comes from the platform API (``webapp.review.api``)."""

from django.urls import path

from . import pages

app_name = "review"
urlpatterns = [
    path("videos/<int:pk>/review/", pages.timeline, name="timeline"),
    path("videos/<int:pk>/focus/", pages.focus, name="focus"),
    path("videos/<int:pk>/viewer/", pages.viewer, name="viewer"),
    path("videos/<int:pk>/viewer/<str:kind>/<int:ref>", pages.viewer_media, name="viewer_media"),
    path("videos/<int:pk>/video", pages.video_file, name="video_file"),
    path("videos/<int:pk>/filmstrip.jpg", pages.filmstrip, name="filmstrip"),
    path("videos/<int:pk>/poster.jpg", pages.poster, name="poster"),
    path("videos/<int:pk>/clips/<int:product_pk>.mp4", pages.clip, name="clip"),
    path("videos/<int:pk>/clips.zip", pages.clips_zip, name="clips_zip"),
]
