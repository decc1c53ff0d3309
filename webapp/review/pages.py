"""The review pages: the reviewer's timeline, the seller's focus view, the viewer's "now showing"
embed, and the media they use (filmstrip, highlight clips one by one or as a ZIP).

The timeline is a static page driven by static/review/timeline.js, which reads and writes through
``webapp.review.api_extra``. The viewer page is embeddable: shop members open it directly; anyone
else needs the viewer ``key`` shown on the focus page (``webapp.embeds``: it only unlocks that one
video, expires, and can be revoked); only the shop's allowed sites may frame it."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from webapp.catalog.models import Product, ProductImage
from webapp.embeds import services as embeds
from webapp.videos.media import ranged_file_response
from webapp.videos.models import Video

from . import clips
from .api_extra import products_of
from .models import Interval

CLIP_STATUSES = (Interval.Status.ACCEPTED, Interval.Status.EDITED, Interval.Status.PROPOSED)


def _video(request, pk) -> Video:
    return get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "video"


def _statuses(request) -> tuple[str, ...]:
    asked = [s for s in request.GET.getlist("status") if s in Interval.Status.values]
    return tuple(asked) or CLIP_STATUSES


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
            "data": reverse("review:api:timeline_data", args=[video.pk]),
            "evidence": reverse("review:api:evidence", args=[video.pk]),
            "curves": reverse("review:api:curves", args=[video.pk]),
            "create": reverse("review:api:interval_create", args=[video.pk]),
            "bulkAccept": reverse("review:api:bulk_accept", args=[video.pk]),
            "history": reverse("review:api:history", args=[video.pk]),
            "interval": reverse("review:api:interval", args=[0]),
            "split": reverse("review:api:split", args=[0]),
            "merge": reverse("review:api:merge", args=[0]),
            "filmstrip": reverse("review:filmstrip", args=[video.pk]),
        },
        "filmstrip": layout,
    }
    job = video.latest_job
    if job:
        config["urls"]["job"] = reverse("videos:job_status", args=[job.pk])
    return render(request, "review/timeline.html", {"video": video, "shop": video.shop, "config": config,
                                                    "job": job})


def filmstrip(request, pk):
    video = _video(request, pk)
    path, _ = clips.filmstrip(video)
    resp = FileResponse(open(path, "rb"), content_type="image/jpeg")
    resp["Cache-Control"] = "private, max-age=86400"
    return resp


def video_file(request, pk):
    """The video for the review pages' players: shop members only, with HTTP Range (seeking)
    whatever serves MEDIA_URL (Django's test server, for one, answers no Range)."""
    video = _video(request, pk)
    resp = ranged_file_response(request, video.file.path)
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


# --------------------------------------------------------------------------- focus
def focus(request, pk):
    """Per product: its exhibition moments (thumbnail from the filmstrip, times) and clips."""
    video = _video(request, pk)
    statuses = _statuses(request)
    layout = clips.filmstrip_layout(video)
    ivs = (Interval.objects.filter(video=video, status__in=statuses).select_related("product")
           .order_by("product__product_id", "start_s"))
    by_product: dict[int, dict] = {}
    thumbs = {p["id"]: p["thumbnail"] for p in products_of(video)}
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
    status_query = "".join(f"&status={s}" for s in statuses)
    return render(request, "review/focus.html", {
        "video": video, "shop": video.shop, "groups": groups, "layout": layout, "viewer_url": viewer_url,
        "viewer_key": viewer_key, "shop_role": video.shop.role_of(request.user),
        "statuses": statuses, "all_statuses": Interval.Status.choices, "status_query": status_query.lstrip("&"),
    })


def clip(request, pk, product_pk):
    """The product's highlight clip (its intervals joined in time order) as an MP4 download."""
    video = _video(request, pk)
    product = get_object_or_404(Product, pk=product_pk, shop_id=video.shop_id)
    segments = clips.product_segments(video, product, _statuses(request))
    if not segments:
        raise Http404("this product has no interval to cut")
    try:
        path = clips.clip_for(video, segments, f"{product.product_id}")
    except clips.ClipError as e:
        return HttpResponse(str(e), status=500, content_type="text/plain; charset=utf-8")
    name = f"{_slug(video.title)}.{_slug(product.product_id)}.mp4"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="video/mp4")


def clips_zip(request, pk):
    """Every product's highlight clip in one ZIP."""
    video = _video(request, pk)
    statuses = _statuses(request)
    items = []
    for product in Product.objects.filter(shop_id=video.shop_id, intervals__video=video,
                                          intervals__status__in=statuses).distinct():
        segments = clips.product_segments(video, product, statuses)
        if segments:
            try:
                path = clips.clip_for(video, segments, product.product_id)
            except clips.ClipError as e:
                return HttpResponse(str(e), status=500, content_type="text/plain; charset=utf-8")
            items.append((f"{_slug(product.product_id)}.mp4", path))
    if not items:
        raise Http404("no product has an interval to cut")
    path = clips.zip_clips(video, items)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{_slug(video.title)}.highlights.zip",
                        content_type="application/zip")


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
    """"Now showing": the video and the card of the product exhibited now (accepted intervals)."""
    video, key = _viewer_access(request, pk)
    ivs = Interval.objects.filter(video=video, status=Interval.Status.ACCEPTED).select_related("product")
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
    src = (reverse("review:viewer_media", args=[video.pk, "video", 0]) + f"?key={key}") if key \
        else reverse("review:video_file", args=[video.pk])
    response = render(request, "review/viewer.html", {
        "video": video, "src": src,
        "data": {"intervals": [{"product": iv.product_id, "start_s": iv.start_s, "end_s": iv.end_s} for iv in ivs],
                 "products": products},
    })
    response._csp_replace = {"frame-ancestors": embeds.frame_ancestors(video.shop)}  # read by django-csp
    return response


@login_not_required
def viewer_media(request, pk, kind, ref):
    """The video file, or one of its products' images, for a viewer holding the key."""
    video, _ = _viewer_access(request, pk)
    if kind == "video":
        return ranged_file_response(request, video.file.path)
    if kind == "image":
        img = get_object_or_404(ProductImage.objects.filter(product__shop_id=video.shop_id,
                                                            product__intervals__video=video).distinct(), pk=ref)
        return FileResponse(open(img.image.path, "rb"))
    raise Http404
