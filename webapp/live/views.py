"""Live pages: the seller starts a session and gets the ingest address; viewers get the "now
showing" card (long polling, polling as the fallback); the RTMP server asks about publishers."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webapp.accounts.models import Shop
from webapp.catalog.models import ProductImage
from webapp.embeds import services as embeds

from . import rtmp, services
from .models import LiveSession

_long_polls = threading.BoundedSemaphore(max(1, settings.SHOPFOCUS_LIVE_LONGPOLL_MAX))


def _session(request, pk) -> LiveSession:
    return get_object_or_404(LiveSession.objects.visible_to(request.user).select_related("shop", "video", "job"),
                             pk=pk)


# --------------------------------------------------------------------------- seller
def session_list(request, slug):
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    services.release_finished_slots()
    return render(request, "live/list.html", {
        "shop": shop, "sessions": shop.live_sessions.select_related("video", "job")[:100],
        "can_start": shop.can_upload(request.user)})


def session_new(request, slug):
    """GET: the form (title, products, push or pull). POST: start; 503 when every slot is taken."""
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    if not shop.can_upload(request.user):
        raise PermissionDenied("only the shop's sellers and admins go live")
    products = shop.products.filter(images__isnull=False).distinct().order_by("product_id")
    ctx = {"shop": shop, "products": products, "error": None, "form": request.POST,
           "chosen": set(request.POST.getlist("products"))}
    if request.method != "POST":
        return render(request, "live/new.html", ctx)
    try:
        session = services.start_session(shop, request.user, request.POST.get("title", ""),
                                         [int(p) for p in request.POST.getlist("products") if p.isascii() and p.isdigit()],
                                         request.POST.get("source", LiveSession.Source.PUSH),
                                         request.POST.get("pull_url", ""))
    except services.CapacityFull as e:
        ctx["error"] = str(e)
        return render(request, "live/new.html", ctx, status=503)
    except services.SessionError as e:
        ctx["error"] = str(e)
        return render(request, "live/new.html", ctx, status=400)
    return redirect("live:detail", session.pk)


def detail(request, pk):
    session = _session(request, pk)
    services.release_finished_slots()
    session.refresh_from_db()
    can_manage = session.shop.can_upload(request.user)
    # The viewer key of the session's video (webapp.embeds): the same key opens the video's own
    # viewer page once the stream has ended, and revoking it on the focus page closes both.
    key = embeds.current_key(session.video, request.user).key if can_manage else None
    return render(request, "live/detail.html", {
        "session": session, "shop": session.shop, "can_manage": can_manage,
        "viewer_url": key and request.build_absolute_uri(reverse("live:viewer", args=[session.pk]) + f"?key={key}"),
        "status": status_dict(session),
    })


def status_dict(session) -> dict:
    job = session.job
    return {"id": session.pk, "state": session.state, "state_label": session.get_state_display(),
            "message": session.message or (job.message if job else ""), "recorded_s": round(session.recorded_s, 1),
            "followed_s": round(session.followed_s, 1), "reconnects": session.reconnects,
            "job": job.status if job else None, "stage": job.stage if job else "", "video": session.video_id,
            "now": session.now_product.title if session.now_product_id and session.state == "live" else None,
            "intervals": session.video.intervals.count()}


def status(request, pk):
    session = _session(request, pk)
    return JsonResponse(status_dict(session))


@require_POST
def end(request, pk):
    session = _session(request, pk)
    if not session.shop.can_upload(request.user):
        raise PermissionDenied("only the shop's sellers and admins end a live session")
    services.end_session(session, request.user.username)
    return redirect("live:detail", session.pk)


# --------------------------------------------------------------------------- viewers
def _viewer_access(request, pk) -> tuple[LiveSession, str | None]:
    """The session and the key to pass on (None for a member of the shop, who needs none)."""
    if request.user.is_authenticated:
        session = LiveSession.objects.visible_to(request.user).filter(pk=pk).first()
        if session is not None:
            return session, None
    key = request.GET.get("key", "")
    session = LiveSession.objects.filter(pk=pk).only("video_id").first()
    if session is None or embeds.video_for_key(session.video_id, key) is None:
        raise Http404
    return get_object_or_404(LiveSession, pk=pk), key


def _image_url(session, key):
    def url(image):
        return reverse("live:viewer_image", args=[session.pk, image.pk]) + (f"?key={key}" if key else "")
    return url


@login_not_required
@xframe_options_exempt
def viewer(request, pk):
    """The embeddable "now showing" card of a live session (empty when no product is shown)."""
    session, key = _viewer_access(request, pk)
    now_url = reverse("live:now", args=[session.pk]) + (f"?key={key}" if key else "")
    response = render(request, "live/viewer.html", {
        "session": session,
        "config": {"now": now_url, "poll_ms": settings.SHOPFOCUS_LIVE_POLL_MS,
                   "state": services.now_showing(session, _image_url(session, key))}})
    response._csp_replace = {"frame-ancestors": embeds.frame_ancestors(session.shop)}  # read by django-csp
    return response


@login_not_required
def now(request, pk):
    """``?after=N``: answers once ``now_version`` passes N (long poll, at most
    SHOPFOCUS_LIVE_LONGPOLL_S), or at once with ``"poll_ms"`` when this server process already
    holds SHOPFOCUS_LIVE_LONGPOLL_MAX long polls: the client then polls (each holds a thread)."""
    session, key = _viewer_access(request, pk)
    try:
        after = int(request.GET.get("after", "-1"))
    except ValueError:
        return JsonResponse({"detail": "after must be an integer"}, status=400)
    waited = False
    if after >= session.now_version and session.is_active and _long_polls.acquire(blocking=False):
        waited = True
        try:
            deadline = time.monotonic() + settings.SHOPFOCUS_LIVE_LONGPOLL_S
            while time.monotonic() < deadline:
                time.sleep(0.25)
                row = LiveSession.objects.filter(pk=session.pk).values("now_version", "state").first()
                if row is None or row["now_version"] > after or row["state"] != session.state:
                    break
            session.refresh_from_db()
        finally:
            _long_polls.release()
    data = services.now_showing(session, _image_url(session, key))
    data["poll_ms"] = 0 if waited or not session.is_active else settings.SHOPFOCUS_LIVE_POLL_MS
    if not session.is_active and session.state == LiveSession.State.ENDED:
        data["video_viewer"] = reverse("review:viewer", args=[session.video_id]) + (f"?key={key}" if key else "")
    resp = JsonResponse(data)
    resp["Cache-Control"] = "no-store"
    return resp


@login_not_required
def viewer_image(request, pk, image_pk):
    session, _ = _viewer_access(request, pk)
    image = get_object_or_404(ProductImage.objects.filter(product__in=session.products.all()), pk=image_pk)
    return FileResponse(open(image.image.path, "rb"))


# --------------------------------------------------------------------------- the RTMP server
def _rtmp_call(request):
    if request.method != "POST" or not rtmp.token_ok(request.GET.get("token", "")):
        raise Http404
    return request.POST.get("name", ""), request.POST.get("clientid", ""), request.POST.get("addr", "")


def _answer(ok: bool, why: str = "") -> HttpResponse:
    return HttpResponse("ok" if ok else why or "refused", status=200 if ok else 403, content_type="text/plain")


@csrf_exempt
@login_not_required
def rtmp_publish(request):
    key, client, addr = _rtmp_call(request)
    ok, why = services.on_publish(key, client, addr)
    return _answer(ok, why)


@csrf_exempt
@login_not_required
def rtmp_publish_done(request):
    key, client, _ = _rtmp_call(request)
    services.on_publish_done(key, client)
    return _answer(True)


@csrf_exempt
@login_not_required
def rtmp_update(request):
    key, client, _ = _rtmp_call(request)
    if request.POST.get("call") != "update_publish":
        return _answer(True)  # the local recorder playing: nothing to check
    return _answer(services.on_update(key, client), "the live session is over")
