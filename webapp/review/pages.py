"""The review pages: the reviewer's timeline, the seller's focus view, the viewer's "now showing"
embed, and the media they use (filmstrip, highlight clips one by one or as a ZIP).

The timeline is a static page driven by the ES modules in static/review/, which read and write
through the platform API (``webapp.review.api``). Every output here (focus view, clips, the clips
ZIP, the viewer's card) shows ``Interval.objects.published``: confirmed intervals plus proposals
at or above the job's threshold, unless the page is asked for given statuses. The viewer page is
embeddable: shop members open it directly; anyone else needs the viewer ``key`` shown on the
focus page (``webapp.embeds``: it only unlocks that one video, expires, and can be revoked);
only the shop's allowed sites may frame it."""

from __future__ import annotations

import functools
import os
import re
import unicodedata

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from webapp.catalog.models import Product, ProductImage
from webapp.embeds import services as embeds
from webapp.learning import services as learning
from webapp.videos.media import ranged_file_response
from webapp.videos.models import Video

from . import clips
from .models import Interval, threshold_of

ALL_BUT_REJECTED = (Interval.Status.PROPOSED, Interval.Status.ACCEPTED, Interval.Status.EDITED)


def _video(request, pk) -> Video:
    return get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)


class _NoMedia(Exception):
    """The video has no file (or no frame) to serve yet; the message says why."""


def _media_view(view):
    """A media view (file, poster, filmstrip) answers 404 with the reason in plain text when the
    video has nothing to show yet, never a 500."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _NoMedia as e:
            return HttpResponse(str(e), status=404, content_type="text/plain; charset=utf-8")
    return wrapped


def _media_file(video) -> str:
    """The video's file on disk. A live session's recording is written only once the stream
    arrives, and its timeline asks for the poster, filmstrip and file before that."""
    path = video.file.path if video.file.name else ""
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        raise _NoMedia("the recording has not started yet: nothing has been streamed"
                       if getattr(video, "live_session", None) is not None else "this video's file is missing")
    return path


def _frame_image(video, make):
    """``make()``'s result for a picture of the video (poster, filmstrip), or _NoMedia when the
    video has no frame to take it from yet."""
    _media_file(video)
    try:
        return make()
    except clips.ClipError as e:
        raise _NoMedia(str(e)) from e


def _slug(text: str, fallback: str = "video") -> str:
    """A file name part anyone's disk accepts: ASCII letters, digits, - and _ only."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-")[:60] or fallback


def _statuses(request) -> tuple[str, ...] | None:
    """The statuses asked for with ``?status=``, or None: the published set."""
    asked = tuple(s for s in request.GET.getlist("status") if s in Interval.Status.values)
    return asked or None


def _thumbnails(video) -> dict[int, str]:
    out = {}
    for img in ProductImage.objects.filter(product__shop_id=video.shop_id).order_by("product_id", "pk"):
        out.setdefault(img.product_id, img.image.url)
    return out


def fmt_time(t: float) -> str:
    t = max(0.0, float(t))
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    frac = f"{t - int(t):.1f}"[1:]
    return f"{h}:{m:02d}:{s:02d}{frac}" if h else f"{m}:{s:02d}{frac}"


# --------------------------------------------------------------------------- timeline
def timeline(request, pk):
    video = _video(request, pk)
    layout = clips.filmstrip_layout(video)
    config = {
        "video": video.pk,
        "duration_s": video.duration_s,
        "canReview": video.shop.can_review(request.user),
        "urls": {
            "data": reverse("video-review-timeline", args=[video.pk]),
            "evidence": reverse("video-review-evidence", args=[video.pk]),
            "curves": reverse("video-review-curves", args=[video.pk]),
            "create": reverse("interval-list"),
            "bulkAccept": reverse("interval-bulk-accept"),
            "history": reverse("correction-list") + f"?video={video.pk}",
            "interval": reverse("interval-detail", args=[0]),
            "split": reverse("interval-split", args=[0]),
            "merge": reverse("interval-merge", args=[0]),
            "filmstrip": reverse("review:filmstrip", args=[video.pk]),
            "boxSearch": reverse("video-search-box-search", args=[video.pk]),
        },
        "filmstrip": layout,
    }
    job = video.latest_job
    if job:
        config["urls"]["job"] = reverse("videos:job_status", args=[job.pk])
    live = getattr(video, "live_session", None)  # webapp.live: the timeline grows while the stream runs
    config["live"] = bool(live and live.is_active)
    learned = learning.summary(video.shop_id)  # a few counts: what reviews taught the shop so far
    learned["video_examples"] = video.examples.count()
    return render(request, "review/timeline.html", {"video": video, "shop": video.shop, "config": config,
                                                    "job": job, "threshold": threshold_of(video),
                                                    "learned": learned})


@_media_view
def filmstrip(request, pk):
    video = _video(request, pk)
    path, _ = _frame_image(video, lambda: clips.filmstrip(video))
    resp = FileResponse(open(path, "rb"), content_type="image/jpeg")
    resp["Cache-Control"] = "private, max-age=86400"
    return resp


@_media_view
def video_file(request, pk):
    """The video for the review pages' players: shop members only, with HTTP Range (seeking)
    whatever serves MEDIA_URL (Django's test server, for one, answers no Range)."""
    video = _video(request, pk)
    resp = ranged_file_response(request, _media_file(video))
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


# --------------------------------------------------------------------------- focus
def focus(request, pk):
    """Per product: its exhibition moments (thumbnail from the filmstrip, times) and clips."""
    video = _video(request, pk)
    statuses = _statuses(request)
    layout = clips.filmstrip_layout(video)
    threshold = threshold_of(video)
    ivs = Interval.objects.published(video, statuses, threshold).order_by("product__product_id", "start_s")
    by_product: dict[int, dict] = {}
    thumbs = _thumbnails(video)
    for iv in ivs:
        entry = by_product.setdefault(iv.product_id, {"product": iv.product, "thumbnail": thumbs.get(iv.product_id),
                                                      "moments": [], "total_s": 0.0})
        mid = (iv.start_s + iv.end_s) / 2
        tile = min(layout["count"] - 1, int(mid // layout["step_s"]))
        entry["moments"].append({
            "interval": iv, "start": fmt_time(iv.start_s), "end": fmt_time(iv.end_s),
            "bg_x": -(tile % layout["columns"]) * layout["tile_w"], "bg_y": -(tile // layout["columns"]) * layout["tile_h"],
        })
        entry["total_s"] += iv.duration_s
    groups = sorted(by_product.values(), key=lambda g: g["moments"][0]["interval"].start_s)
    for g in groups:
        g["total"] = fmt_time(g["total_s"])
    viewer_key = embeds.current_key(video, request.user) if video.shop.can_upload(request.user) else None
    viewer_url = viewer_key and request.build_absolute_uri(
        reverse("review:viewer", args=[video.pk]) + f"?key={viewer_key.key}")
    status_query = "&".join(f"status={s}" for s in statuses or ())
    return render(request, "review/focus.html", {
        "video": video, "shop": video.shop, "groups": groups, "layout": layout, "viewer_url": viewer_url,
        "viewer_key": viewer_key, "shop_role": video.shop.role_of(request.user),
        "published": statuses is None, "threshold": threshold, "status_query": status_query,
        "all_but_rejected": "&".join(f"status={s}" for s in ALL_BUT_REJECTED),
    })


def clip(request, pk, product_pk):
    """The product's highlight clip (its intervals joined in time order) as an MP4 download."""
    video = _video(request, pk)
    product = get_object_or_404(Product, pk=product_pk, shop_id=video.shop_id)
    segments = clips.segments(Interval.objects.published(video, _statuses(request)).filter(product=product))
    if not segments:
        raise Http404("this product has no interval to cut")
    try:
        path = clips.clip_for(video, segments, f"{product.product_id}")
    except clips.ClipError as e:
        return HttpResponse(str(e), status=500, content_type="text/plain; charset=utf-8")
    name = f"{_slug(video.title)}.{clip_name(product)}"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="video/mp4")


def clip_name(product) -> str:
    """``<title>-<product id>.mp4`` in safe characters (the id keeps two same titles apart)."""
    return f"{_slug(product.title, 'product')}-{_slug(product.product_id, str(product.pk))}.mp4"


def clips_zip(request, pk):
    """Every product's highlight clip in one ZIP, one file per product named after its title."""
    video = _video(request, pk)
    by_product: dict[int, list] = {}
    for iv in Interval.objects.published(video, _statuses(request)):
        by_product.setdefault(iv.product_id, []).append(iv)
    items = []
    for ivs in by_product.values():
        product = ivs[0].product
        try:
            path = clips.clip_for(video, clips.segments(ivs), product.product_id)
        except clips.ClipError as e:
            return HttpResponse(str(e), status=500, content_type="text/plain; charset=utf-8")
        items.append((clip_name(product), path))
    if not items:
        raise Http404("no product has an interval to cut")
    path = clips.zip_clips(video, items)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{_slug(video.title)}.highlights.zip",
                        content_type="application/zip")


@_media_view
def poster(request, pk):
    """A frame where a product is shown, for the players' ``poster`` (the first frames of a
    stream are often a title card)."""
    video = _video(request, pk)
    resp = FileResponse(open(_frame_image(video, lambda: clips.poster(video, clips.poster_time(video))), "rb"),
                        content_type="image/jpeg")
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


# --------------------------------------------------------------------------- viewer
def _viewer_access(request, pk) -> tuple[Video, str | None]:
    """The video and the key to pass on (None when the user is a member and needs none)."""
    video = Video.objects.visible_to(request.user).filter(pk=pk).first() if request.user.is_authenticated else None
    if video is not None:
        return video, None
    key = request.GET.get("key", "")
    video = embeds.video_for_key(pk, key)
    if video is None:
        raise Http404
    return video, key


@login_not_required
@xframe_options_exempt
def viewer(request, pk):
    """"Now showing": the video and the card of the product exhibited now, from the published
    intervals; when none covers the current time the card says nothing is shown."""
    video, key = _viewer_access(request, pk)
    ivs = list(Interval.objects.published(video))
    products = {}
    for iv in ivs:
        if iv.product_id not in products:
            p = iv.product
            img = ProductImage.objects.filter(product=p).first()
            if img is None:
                thumb = None
            elif key:
                thumb = reverse("review:viewer_media", args=[video.pk, "image", img.pk]) + f"?key={key}"
            else:
                thumb = img.image.url
            products[p.pk] = {"id": p.pk, "product_id": p.product_id, "title": p.title,
                              "description": p.description[:280], "thumbnail": thumb}
    if key:
        src = reverse("review:viewer_media", args=[video.pk, "video", 0]) + f"?key={key}"
        poster_url = reverse("review:viewer_media", args=[video.pk, "poster", 0]) + f"?key={key}"
    else:
        src, poster_url = reverse("review:video_file", args=[video.pk]), reverse("review:poster", args=[video.pk])
    response = render(request, "review/viewer.html", {
        "video": video, "src": src, "poster": poster_url,
        "data": {"intervals": [{"product": iv.product_id, "start_s": iv.start_s, "end_s": iv.end_s} for iv in ivs],
                 "products": products},
    })
    response._csp_replace = {"frame-ancestors": embeds.frame_ancestors(video.shop)}  # read by django-csp
    return response


@login_not_required
@_media_view
def viewer_media(request, pk, kind, ref):
    """The video file, or one of its products' images, for a viewer holding the key."""
    video, _ = _viewer_access(request, pk)
    if kind == "video":
        return ranged_file_response(request, _media_file(video))
    if kind == "poster":
        return FileResponse(open(_frame_image(video, lambda: clips.poster(video, clips.poster_time(video))), "rb"),
                            content_type="image/jpeg")
    if kind == "image":
        img = get_object_or_404(ProductImage.objects.filter(product__shop_id=video.shop_id,
                                                            product__intervals__video=video).distinct(), pk=ref)
        return FileResponse(open(img.image.path, "rb"))
    raise Http404
