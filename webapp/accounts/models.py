"""Tenancy: a Shop owns its catalog and videos; a Membership gives a user a role in a shop.

Roles are per shop: seller (uploads, sees results), reviewer (edits intervals), admin (the
shop's catalog, members and all its videos). A shop admin has no power over any other shop:
only platform staff (Django ``is_staff`` or ``is_superuser``) see and manage every shop."""

from django.conf import settings
from django.db import models
from knox.models import AbstractAuthToken


class Role(models.TextChoices):
    SELLER = "seller", "Seller"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"


def is_platform_staff(user) -> bool:
    """Django staff and superusers: the only accounts that see and manage every shop."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


class ShopQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if is_platform_staff(user):
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
        """The user's role here: "admin" for platform staff, None when not a member."""
        if is_platform_staff(user):
            return Role.ADMIN
        m = self.memberships.filter(user=user).first() if user.is_authenticated else None
        return m.role if m else None

    def can_review(self, user) -> bool:
        """Reviewers and admins edit intervals; sellers read them."""
        return self.role_of(user) in (Role.REVIEWER, Role.ADMIN)

    def can_upload(self, user) -> bool:
        return self.role_of(user) in (Role.SELLER, Role.ADMIN)

    def can_manage(self, user) -> bool:
        """The shop's admins (and platform staff) manage its members."""
        return self.role_of(user) == Role.ADMIN


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SELLER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="one_membership_per_user_shop")]

    def __str__(self):
        return f"{self.user} @ {self.shop} ({self.role})"


class ApiToken(AbstractAuthToken):
    """An API token of one user (django-rest-knox: only a SHA-512 digest is stored; the token is
    shown once, when it is made). Revoking deletes the row. ``name`` says what uses it."""

    name = models.CharField(max_length=100, help_text="What uses this token, e.g. 'OBS on the studio PC'.")

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.token_key}…) of {self.user}"
