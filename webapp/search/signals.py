"""Catalog changes (a product or an image added, changed or removed) schedule an index build of
the shop once the transaction commits; one import of many products schedules one build."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from webapp.catalog.models import Product, ProductImage


@receiver([post_save, post_delete], sender=Product, dispatch_uid="search-product-changed")
def _product_changed(sender, instance, **kwargs):
    from . import services

    services.schedule_build(instance.shop_id)


@receiver([post_save, post_delete], sender=ProductImage, dispatch_uid="search-image-changed")
def _image_changed(sender, instance, **kwargs):
    from . import services

    shop_id = Product.objects.filter(pk=instance.product_id).values_list("shop_id", flat=True).first()
    if shop_id is not None:
        services.schedule_build(shop_id)
