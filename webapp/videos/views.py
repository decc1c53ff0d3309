import os
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ml.errors import InputError
from webapp.accounts.models import Shop
from webapp.review import services as review_services
from webapp.review.models import Interval

from . import ingest, lifecycle, tus
from .comments import replace_comments
from .media import ranged_file_response
from .storage import StorageFull
from .models import Job, Video


def video_list(request, slug):
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    videos = shop.videos.prefetch_related("jobs")
    return render(request, "videos/list.html", {"shop": shop, "videos": videos,
                                                "can_upload": shop.can_upload(request.user)})


def _wants_json(request) -> bool:
    return (request.headers.get("x-requested-with") == "XMLHttpRequest"
            or "application/json" in request.headers.get("accept", ""))


def _upload_page(request, shop, error=None, status=200):
    return render(request, "videos/upload.html", {
        "shop": shop, "error": error, "max_bytes": settings.SHOPFOCUS_MAX_UPLOAD_BYTES,
        "extensions": ",".join(settings.SHOPFOCUS_VIDEO_EXTENSIONS),
        "chunk_bytes": settings.SHOPFOCUS_UPLOAD_CHUNK_BYTES,
    }, status=status)


def upload(request, slug):
    """GET: the form. POST (plain, or XMLHttpRequest from static/js/upload.js): store and queue.

    Answers 201/302 when stored and queued; 400 for a bad file and 507 when the server's
    storage is full (nothing kept); 503 when the job queue cannot be reached (the video and job
    are kept, the job starts by itself later). XHR and API clients get JSON, browsers a page."""
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    if not shop.can_upload(request.user):
        raise PermissionDenied("only the shop's sellers and admins upload videos")
    if request.method != "POST":
        return _upload_page(request, shop)
    files = request.FILES  # parse the body first: the upload handler records errors
    upload_errors = getattr(request, "upload_errors", {})
    try:
        if upload_errors:
            raise next(iter(upload_errors.values()))
        title, comments = request.POST.get("title", ""), files.get("comments")
        if request.POST.get("upload"):  # a finished resumable upload (static/js/upload.js, tus)
            resumable = tus.finished_upload(request.user, shop, request.POST["upload"])
            outcome = tus.store_finished_upload(request.user, resumable, title, comments)
        else:
            uploaded = files.get("file")
            if uploaded is None:
                raise InputError("no video file was sent: choose a video file")
            outcome = ingest.create_video(shop, request.user, uploaded, name=uploaded.name, title=title,
                                          comments=comments)
    except (InputError, StorageFull) as e:
        status = 507 if isinstance(e, StorageFull) else 400
        error = f"{e}; nothing was kept" if isinstance(e, StorageFull) else str(e)
        if _wants_json(request):
            return JsonResponse({"error": error}, status=status)
        return _upload_page(request, shop, error, status)
    return _uploaded_response(request, outcome)


def _uploaded_response(request, outcome):
    video = outcome.video
    body, status = outcome.to_json()
    if outcome.waiting_for_broker:
        if _wants_json(request):
            return JsonResponse(body, status=status)
        return render(request, "videos/queue_unavailable.html", {"video": video, "shop": video.shop,
                                                                   "error": body["error"], "warnings": body["warnings"]},
                      status=503)
    messages.success(request, f"Uploaded {video.title}; processing has been queued.")
    for note in body["warnings"]:  # shown on the video's page, where both the form and the script land
        messages.warning(request, note[0].upper() + note[1:] + ".")
    if _wants_json(request):
        return JsonResponse(body, status=status)
    return redirect(body["redirect"])


def detail(request, pk):
    video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)
    from webapp.segments.services import segments_of

    job = video.latest_job
    return render(request, "videos/detail.html", {
        "video": video, "shop": video.shop, "job": job, "jobs": video.jobs.all()[:10],
        "segments": segments_of(job) if job else [],
        "comments_count": video.comments.count(),
        "interval_count": video.intervals.exclude(status="rejected").count(),
        "can_upload": video.shop.can_upload(request.user),
    })


@require_POST
def upload_comments(request, pk):
    video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)
    if not video.shop.can_upload(request.user):
        raise PermissionDenied
    uploaded = request.FILES.get("comments")
    try:
        if uploaded is None:
            raise InputError("no comments file was sent: choose a CSV with columns time_s,user,text")
        parsed = replace_comments(video, uploaded)
    except InputError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"{parsed.report()}; re-run the job to use them.")
    return redirect("videos:detail", pk=video.pk)


@require_POST
def rerun(request, pk):
    video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)
    if not (video.shop.can_upload(request.user) or video.shop.can_review(request.user)):
        raise PermissionDenied
    try:
        lifecycle.start(video, request.user)
    except lifecycle.JobAlreadyActive as e:
        messages.error(request, str(e))
    except lifecycle.BrokerUnavailable:
        messages.warning(request, "Re-run saved; the job queue cannot be reached right now, so processing "
                                  "starts by itself when it is back.")
    else:
        messages.success(request, "Processing queued again; people's edits are kept.")
    return redirect("videos:detail", pk=video.pk)


@require_POST
def cancel(request, pk):
    job = get_object_or_404(Job.objects.visible_to(request.user).select_related("video__shop"), pk=pk)
    if not (job.video.shop.can_upload(request.user) or job.video.shop.can_review(request.user)):
        raise PermissionDenied
    if lifecycle.cancel(job.pk, getattr(request.user, "username", "")):
        messages.success(request, "Job cancelled.")
    else:
        job.refresh_from_db()
        messages.error(request, f"The job had already {job.status}.")
    return redirect("videos:detail", pk=job.video_id)


def job_status(request, pk):
    from webapp.segments.services import segments_of

    job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
    return JsonResponse({**job.to_dict(), "segments": segments_of(job)})


def export(request, pk, fmt):
    video = get_object_or_404(Video.objects.visible_to(request.user), pk=pk)
    statuses = [s for s in request.GET.getlist("status") if s in Interval.Status.values]
    return review_services.export_response(video, fmt, statuses)


# --------------------------------------------------------------------------- media
_SHOP_SCOPED = re.compile(r"^(videos|catalog|artefacts)/(\d+)/")


def serve_media(request, path):
    """MEDIA_ROOT for logged-in users of the owning shop, with HTTP Range (video seeking)."""
    m = _SHOP_SCOPED.match(path)
    if not m or not Shop.objects.visible_to(request.user).filter(pk=int(m.group(2))).exists():
        raise Http404
    root = os.path.realpath(settings.MEDIA_ROOT)
    full = os.path.realpath(os.path.join(root, path))
    if not full.startswith(root + os.sep) or not os.path.isfile(full):
        raise Http404
    return ranged_file_response(request, full)
