from django.shortcuts import get_object_or_404, render

from webapp.catalog.models import Product
from webapp.videos.models import Job

from .models import Shop


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
