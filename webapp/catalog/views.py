from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from ml.errors import InputError
from webapp.accounts.models import Shop

from . import services
from .models import Product


def products(request, slug):
    shop = get_object_or_404(Shop.objects.visible_to(request.user), slug=slug)
    error = None
    if request.method == "POST":
        if not shop.can_upload(request.user):
            raise PermissionDenied("only the shop's sellers and admins change its catalog")
        files = request.FILES  # parse the body first: the upload handler records errors
        upload_errors = getattr(request, "upload_errors", {})
        try:
            if upload_errors:
                raise InputError(next(iter(upload_errors.values())))
            summary = services.import_catalog(shop, files.getlist("files"))
        except InputError as e:
            error = str(e)
        else:
            messages.success(request, f"Catalog imported: {summary}.")
            return redirect("catalog:products", slug=shop.slug)
    items = Product.objects.filter(shop=shop).select_related("category__parent").prefetch_related("images")
    return render(request, "catalog/products.html", {
        "shop": shop, "products": items, "error": error, "can_upload": shop.can_upload(request.user),
    }, status=400 if error else 200)
