"""JSON endpoints the review timeline needs beyond the platform API: the timeline's data in one
request, interval edits with ``version`` (409 on a stale version), split, merge, bulk accept and
the correction history.

Every write goes through ``webapp.review.services`` (optimistic locking, one Correction per
change); the views here only parse, authorise and serialise. Session auth + CSRF header, as the
rest of the site."""

from __future__ import annotations

import gzip
import json
import os

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.catalog.models import Product
from webapp.videos.models import Video

from . import services
from .models import Correction, Interval


# --------------------------------------------------------------------------- serialisation
def interval_dict(iv: Interval) -> dict:
    return {"id": iv.pk, "product": iv.product_id, "start_s": round(iv.start_s, 3), "end_s": round(iv.end_s, 3),
            "score": round(iv.score, 4), "status": iv.status, "origin": iv.origin, "version": iv.version,
            "evidence": iv.evidence or {}}


def correction_dict(c: Correction) -> dict:
    return {"id": c.pk, "interval": c.interval_id, "action": c.action, "user": c.user.get_username() if c.user else "",
            "created": c.created.isoformat(), "before": c.before, "after": c.after}


def products_of(video) -> list[dict]:
    out = []
    for p in Product.objects.filter(shop_id=video.shop_id).select_related("category__parent").prefetch_related("images"):
        images = list(p.images.all()[:1])
        out.append({"id": p.pk, "product_id": p.product_id, "title": p.title, "description": p.description,
                    "category": p.category.name if p.category_id else "",
                    "thumbnail": images[0].image.url if images else None})
    return out


# --------------------------------------------------------------------------- helpers
def _video_for(request, pk, *, edit=False) -> Video:
    video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)
    if edit and not video.shop.can_review(request.user):
        raise PermissionError
    return video


def _interval_for(request, pk, *, edit=True) -> Interval:
    iv = Interval.objects.visible_to(request.user).select_related("video__shop", "product").filter(pk=pk).first()
    if iv is None:
        raise Http404
    if edit and not iv.video.shop.can_review(request.user):
        raise PermissionError
    return iv


def _body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise services.EditError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise services.EditError("the request body must be a JSON object")
    return data


def _conflict(exc: services.Conflict) -> JsonResponse:
    current = exc.current
    return JsonResponse({"error": "conflict", "message": str(exc),
                         "current": interval_dict(current) if current is not None else None}, status=409)


def api_view(fn):
    """Map the services' exceptions to HTTP: Conflict 409, EditError 400, PermissionError 403."""

    def wrapper(request, *args, **kwargs):
        try:
            return fn(request, *args, **kwargs)
        except services.Conflict as e:
            return _conflict(e)
        except services.EditError as e:
            return JsonResponse({"error": "invalid", "message": str(e)}, status=400)
        except PermissionError:
            return JsonResponse({"error": "forbidden", "message": "only reviewers and admins of this shop edit intervals"},
                                status=403)
        except (TypeError, ValueError) as e:
            return JsonResponse({"error": "invalid", "message": f"bad value: {e}"}, status=400)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _version(data) -> int | None:
    v = data.get("version")
    return None if v is None else int(v)


# --------------------------------------------------------------------------- views
def _percent(curves: dict) -> dict:
    """Fused curves as integer percent: the lanes draw 14 px high, and a 2-hour video with 300
    products is 600,000 values, so this keeps the response a few MB instead of a dozen."""
    return {pid: [int(round((v or 0.0) * 100)) for v in values] for pid, values in (curves or {}).items()}


@require_GET
@gzip_page
@api_view
def timeline_data(request, pk):
    """What the timeline draws first: video, products, intervals, latest job (curves: curves.json)."""
    video = _video_for(request, pk)
    job = video.latest_job
    ivs = Interval.objects.filter(video=video).order_by("start_s", "end_s", "pk")
    return JsonResponse({
        "video": {"id": video.pk, "title": video.title, "duration_s": video.duration_s, "fps": video.fps or 25.0,
                  "width": video.width, "height": video.height, "url": video.file.url},
        "can_review": video.shop.can_review(request.user),
        "products": products_of(video),
        "intervals": [interval_dict(iv) for iv in ivs],
        "job": job.to_dict() if job else None,
    })


def _compact_curves_path(video) -> str | None:
    """``timeline-curves.json.gz`` next to the latest succeeded job's curves (made once)."""
    job = video.latest_succeeded_job
    rel = job.artefacts.get("curves") if job else None
    if not rel:
        return None
    path = os.path.join(settings.MEDIA_ROOT, os.path.dirname(rel), "timeline-curves.json.gz")
    if not os.path.exists(path):
        curves = job.load_artefact("curves") or {}
        body = json.dumps({"times": [round(t, 2) for t in curves.get("times", [])], "step_s": curves.get("step_s", 0),
                           "fused_pct": _percent(curves.get("fused"))}, separators=(",", ":")).encode()
        tmp = f"{path}.{os.getpid()}.part"
        with open(tmp, "wb") as f:
            f.write(gzip.compress(body, 6))
        os.replace(tmp, path)
    return path


@require_GET
@api_view
def curves_data(request, pk):
    """The fused score curves for the lanes, as integer percent, pre-compressed and cached per job."""
    video = _video_for(request, pk)
    path = _compact_curves_path(video)
    if path is None:
        return JsonResponse({"times": [], "step_s": 0, "fused_pct": {}})
    with open(path, "rb") as f:
        body = f.read()
    if "gzip" in request.headers.get("accept-encoding", ""):
        resp = HttpResponse(body, content_type="application/json")
        resp["Content-Encoding"] = "gzip"
    else:
        resp = HttpResponse(gzip.decompress(body), content_type="application/json")
    resp["Vary"] = "Accept-Encoding"
    resp["Cache-Control"] = "private, max-age=60"
    return resp


@require_GET
@gzip_page
@api_view
def evidence_data(request, pk):
    """What the evidence panel shows: modality curves, transcript, screen text, comments, boxes."""
    video = _video_for(request, pk)
    curves = video.load_artefact("curves") or {}
    boxes = evidence_boxes(video.load_artefact("boxes"))
    return JsonResponse({
        "times": curves.get("times", []), "modalities": curves.get("modalities", {}),
        "transcript": video.load_artefact("transcript") or [],
        "screen_text": video.load_artefact("screen_text") or [],
        "comments": [[c.time_s, c.user, c.text] for c in video.comments.all()[:5000]],
        "boxes": boxes, "shots": video.load_artefact("shots") or [],
    })


def evidence_boxes(raw) -> list:
    """The boxes artefact as the pipeline writes it (``ml.types.Evidence``: ``[t, x0, y0, x1, y1,
    track_id]`` in 0..1 of the frame, sorted by time); [] when there is none or it has another shape
    (an artefact of an older pipeline)."""
    from ml.types import Evidence

    try:
        return Evidence.from_json({"boxes": raw or []}).boxes.to_rows()
    except ValueError:
        return []


@require_http_methods(["PATCH", "DELETE", "POST"])
@api_view
def interval_detail(request, pk):
    """PATCH: ``{version, start_s?, end_s?, status?, product?, action?}``. DELETE: ``?version=``."""
    iv = _interval_for(request, pk)
    if request.method == "DELETE":
        version = request.GET.get("version") or _body(request).get("version")
        services.delete_interval(iv.pk, request.user, int(version) if version is not None else None)
        return JsonResponse({"deleted": [iv.pk]})
    data = _body(request)
    changes = {k: data[k] for k in ("start_s", "end_s", "status", "product", "product_id", "action") if k in data}
    iv = services.update_interval(iv.pk, request.user, changes, _version(data))
    return JsonResponse({"interval": interval_dict(iv)})


@require_POST
@api_view
def interval_create(request, pk):
    """``{product, start_s, end_s, status?, action?}`` -> the new interval (origin person)."""
    video = _video_for(request, pk, edit=True)
    data = _body(request)
    action = data.get("action") if data.get("action") in Correction.Action.values else Correction.Action.CREATE
    iv = services.create_interval(video, request.user, data.get("product"), data.get("start_s"), data.get("end_s"),
                                  status=data.get("status") or Interval.Status.ACCEPTED, action=action)
    return JsonResponse({"interval": interval_dict(iv)}, status=201)


@require_POST
@api_view
def interval_split(request, pk):
    """``{version, at}``: this interval ends at ``at``; a new one (same product) covers the rest."""
    iv = _interval_for(request, pk)
    data = _body(request)
    at = float(data.get("at"))
    if not iv.start_s + 0.05 < at < iv.end_s - 0.05:
        raise services.EditError("the split point must be inside the interval")
    with transaction.atomic():
        end = iv.end_s
        status = iv.status if iv.status != Interval.Status.PROPOSED else Interval.Status.EDITED
        first = services.update_interval(iv.pk, request.user, {"end_s": at, "action": Correction.Action.SPLIT},
                                         _version(data))
        second = services.create_interval(iv.video, request.user, iv.product, at, end, status=status,
                                          action=Correction.Action.SPLIT)
        # both halves keep the machine's score and evidence (create_interval scores a person's add 1.0)
        Interval.objects.filter(pk=second.pk).update(score=iv.score, evidence=iv.evidence)
        second.refresh_from_db()
    return JsonResponse({"intervals": [interval_dict(first), interval_dict(second)]})


@require_POST
@api_view
def interval_merge(request, pk):
    """``{version, other, other_version}``: this interval grows to cover ``other``, which is deleted."""
    iv = _interval_for(request, pk)
    data = _body(request)
    other = _interval_for(request, int(data.get("other")))
    if other.video_id != iv.video_id or other.pk == iv.pk:
        raise services.EditError("merge needs another interval of the same video")
    with transaction.atomic():
        services.delete_interval(other.pk, request.user, _version({"version": data.get("other_version")}))
        merged = services.update_interval(iv.pk, request.user, {
            "start_s": min(iv.start_s, other.start_s), "end_s": max(iv.end_s, other.end_s),
            "action": Correction.Action.MERGE}, _version(data))
    return JsonResponse({"interval": interval_dict(merged), "deleted": [other.pk]})


@require_POST
@api_view
def bulk_accept(request, pk):
    """``{min_score, ids?}``: accept proposals scoring at least ``min_score`` (optionally only ``ids``).

    Each one is accepted with its own version, so a proposal someone else changed meanwhile is
    skipped and reported, never overwritten."""
    video = _video_for(request, pk, edit=True)
    data = _body(request)
    qs = Interval.objects.filter(video=video, status=Interval.Status.PROPOSED, score__gte=float(data.get("min_score", 0)))
    if data.get("ids") is not None:
        qs = qs.filter(pk__in=[int(i) for i in data["ids"]])
    accepted, skipped = [], []
    for iv in list(qs):
        try:
            accepted.append(interval_dict(services.update_interval(
                iv.pk, request.user, {"status": Interval.Status.ACCEPTED}, iv.version)))
        except services.Conflict:
            skipped.append(iv.pk)
    return JsonResponse({"intervals": accepted, "skipped": skipped})


@require_GET
@api_view
def history(request, pk):
    """The video's corrections, newest first (``?limit=``, at most 1000)."""
    video = _video_for(request, pk)
    limit = max(1, min(1000, int(request.GET.get("limit", 200))))
    qs = Correction.objects.filter(video=video).select_related("user")[:limit]
    return JsonResponse({"corrections": [correction_dict(c) for c in qs]})


app_name = "review_api"
urlpatterns = [
    path("videos/<int:pk>/timeline.json", timeline_data, name="timeline_data"),
    path("videos/<int:pk>/evidence.json", evidence_data, name="evidence"),
    path("videos/<int:pk>/curves.json", curves_data, name="curves"),
    path("videos/<int:pk>/intervals/", interval_create, name="interval_create"),
    path("videos/<int:pk>/bulk-accept/", bulk_accept, name="bulk_accept"),
    path("videos/<int:pk>/history.json", history, name="history"),
    path("intervals/<int:pk>/", interval_detail, name="interval"),
    path("intervals/<int:pk>/split/", interval_split, name="split"),
    path("intervals/<int:pk>/merge/", interval_merge, name="merge"),
]
