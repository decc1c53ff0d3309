from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import tus, views

app_name = "videos"
urlpatterns = [
    path("shops/<slug:slug>/videos/", views.video_list, name="list"),
    path("shops/<slug:slug>/videos/upload/", views.upload, name="upload"),
    path("videos/<int:pk>/", views.detail, name="detail"),
    path("videos/<int:pk>/comments/", views.upload_comments, name="comments"),
    path("videos/<int:pk>/rerun/", views.rerun, name="rerun"),
    path("videos/<int:pk>/export.<str:fmt>", views.export, name="export"),
    path("jobs/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("jobs/<int:pk>/status.json", views.job_status, name="job_status"),
    # Resumable uploads (tus 1.0.0); DRF answers 403 JSON to a client that is not signed in.
    path("api/uploads/", login_not_required(tus.UploadCreate.as_view()), name="tus_create"),
    path("api/uploads/<uuid:pk>/", login_not_required(tus.UploadDetail.as_view()), name="tus_upload"),
    path("api/uploads/<uuid:pk>/video/", login_not_required(tus.UploadFinish.as_view()), name="tus_finish"),
]
