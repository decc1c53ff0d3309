"""A shop's catalog: categories (one level of parent), products, product images."""

import os

from django.db import models

from webapp.accounts.models import Shop


class ProductQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(shop__in=Shop.objects.visible_to(user))


class Category(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="categories")
    name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="category_name_unique_per_shop")]

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    product_id = models.CharField(max_length=200, help_text="The seller's own id, unique in the shop.")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["product_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "product_id"], name="product_id_unique_per_shop")]

    def __str__(self):
        return f"{self.product_id} {self.title}"

    @property
    def thumbnail(self):
        """The first image (None when the product has none)."""
        images = list(self.images.all()[:1])
        return images[0] if images else None

    def to_dict(self) -> dict:
        thumb = self.thumbnail
        return {
            "id": self.pk,
            "product_id": self.product_id,
            "title": self.title,
            "description": self.description,
            "category": self.category.name if self.category_id else "",
            "parent_category": self.category.parent.name if self.category_id and self.category.parent_id else "",
            "thumbnail": thumb.image.url if thumb else None,
        }


def product_image_path(instance, filename):
    return f"catalog/{instance.product.shop_id}/{instance.product_id}/{os.path.basename(filename)}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=product_image_path, max_length=500)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.image.name
