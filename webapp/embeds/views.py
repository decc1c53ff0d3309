from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webapp.accounts.models import Shop
from webapp.videos.models import Video

from . import services
from .models import EmbedSite


@require_POST
def revoke_key(request, pk):
    """Revoke the video's viewer link(s): embeds using them stop working; the focus page makes a new one."""
    video = get_object_or_404(Video.objects.visible_to(request.user).select_related("shop"), pk=pk)
    if not video.shop.can_upload(request.user):
        raise PermissionDenied("only the shop's sellers and admins share or revoke viewer links")
    n = services.revoke(video, request.POST.get("key") or None)
    if n:
        messages.success(request, "Viewer link revoked: pages embedding it no longer show the video. "
                                  "The embed code below is a new link.")
    else:
        messages.error(request, "That viewer link was already revoked or has expired.")
    return redirect("review:focus", pk=video.pk)


def sites(request, slug):
    """The sites that may frame the shop's viewer page (the shop's admins edit the list)."""
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    if not shop.can_manage(request.user):
        raise PermissionDenied("only the shop's admins choose which sites may embed its viewer")
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("op") == "remove":
                site = services.remove_site(shop, request.POST.get("site", ""))
                messages.success(request, f"{site.origin} may no longer embed the viewer.")
            else:
                site = services.add_site(shop, request.POST.get("origin", ""))
                messages.success(request, f"{site.origin} may now embed the viewer.")
            return redirect("embeds:sites", slug=shop.slug)
        except services.EmbedError as e:
            messages.error(request, str(e))
            status = 400
    return render(request, "embeds/sites.html", {
        "shop": shop, "sites": EmbedSite.objects.filter(shop=shop),
        "platform_sites": settings.SHOPFOCUS_VIEWER_FRAME_ANCESTORS,
    }, status=status)
