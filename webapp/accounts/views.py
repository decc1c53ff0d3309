from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from webapp.catalog.models import Product
from webapp.videos.models import Job

from . import services
from .models import ApiToken, Role, Shop


def home(request):
    shops = Shop.objects.visible_to(request.user)
    return render(request, "accounts/home.html", {"shops": shops})


def shop_dashboard(request, slug):
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    return render(request, "accounts/shop.html", {
        "shop": shop,
        "role": shop.role_of(request.user),
        "videos": shop.videos.all()[:10],
        "product_count": Product.objects.filter(shop=shop).count(),
        "active_jobs": Job.objects.filter(video__shop=shop).active().select_related("video"),
    })


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def members(request, slug):
    """The shop's members; its admins add users, change roles and remove members here."""
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    if not shop.can_manage(request.user):
        raise PermissionDenied("only the shop's admins manage its members")
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "add":
                m = services.add_member(shop, request.POST.get("username", ""), request.POST.get("role", ""))
                messages.success(request, f"{m.user} added as {m.get_role_display().lower()}.")
            elif op == "role":
                m = services.change_role(shop, _int(request.POST.get("membership")), request.POST.get("role", ""))
                messages.success(request, f"{m.user} is now {m.get_role_display().lower()}.")
            elif op == "remove":
                m = services.remove_member(shop, _int(request.POST.get("membership")))
                messages.success(request, f"{m.user} removed from {shop.name}.")
            else:
                raise services.MembershipError("unknown action: use add, role or remove")
        except services.MembershipError as e:
            messages.error(request, str(e))
            return render(request, "accounts/members.html", _members_context(shop), status=400)
        return redirect("accounts:members", slug=shop.slug)
    return render(request, "accounts/members.html", _members_context(shop))


def _members_context(shop):
    return {"shop": shop, "roles": Role.choices,
            "memberships": shop.memberships.select_related("user").order_by("user__username")}


def api_tokens(request):
    """The user's API tokens: make one (shown once, here), revoke one."""
    context = {"ttl_days": settings.REST_KNOX["TOKEN_TTL"].days, "new_token": None, "new_name": ""}
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("op") == "revoke":
                token = services.revoke_api_token(request.user, request.POST.get("token", ""))
                messages.success(request, f"Token {token.name!r} revoked: it no longer works.")
                return redirect("accounts:api_tokens")
            _, context["new_token"] = services.create_api_token(request.user, request.POST.get("name", ""))
        except services.MembershipError as e:
            messages.error(request, str(e))
            context["new_name"] = request.POST.get("name", "")[:100]
            status = 400
    context["tokens"] = ApiToken.objects.filter(user=request.user)
    response = render(request, "accounts/api_tokens.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the new token is on this page once
    return response
