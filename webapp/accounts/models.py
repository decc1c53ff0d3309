"""Tenancy: a Shop owns its catalog and videos; a Membership gives a user a role in a shop.

Superusers and members with the admin role see every shop (``Shop.objects.visible_to``)."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    SELLER = "seller", "Seller"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


def is_site_admin(user) -> bool:
    """Superusers and anyone holding the admin role in some shop see and edit every shop."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_shopfocus_is_admin", None)
    if cached is None:
        cached = Membership.objects.filter(user=user, role=Role.ADMIN).exists()
        user._shopfocus_is_admin = cached
    return cached


class ShopQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if is_site_admin(user):
            return self.all()
        return self.filter(memberships__user=user).distinct()


class Shop(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = ShopQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def role_of(self, user) -> str | None:
        """The user's role here: "admin" for site admins, None when not a member."""
        if is_site_admin(user):
            return Role.ADMIN
        m = self.memberships.filter(user=user).first() if user.is_authenticated else None
        return m.role if m else None

    def can_review(self, user) -> bool:
        """Reviewers and admins edit intervals; sellers read them."""
        return self.role_of(user) in (Role.REVIEWER, Role.ADMIN)

    def can_upload(self, user) -> bool:
        return self.role_of(user) in (Role.SELLER, Role.ADMIN)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SELLER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="one_membership_per_user_shop")]

    def __str__(self):
        return f"{self.user} @ {self.shop} ({self.role})"


def shops_visible_to(user):
    return Shop.objects.visible_to(user)
