"""Shop membership changes made by a shop's admins (add a user, change a role, remove one), and
a user's own API tokens (make one, revoke one).

A shop always keeps at least one admin, so nobody locks the shop out of its own members page."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from django.conf import settings

from .models import ApiToken, Membership, Role, Shop


class MembershipError(ValueError):
    """A change a person can fix (unknown user, already a member, the last admin, no name...)."""


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise MembershipError(f"role must be one of {', '.join(Role.values)}")
    return role


@transaction.atomic
def add_member(shop: Shop, username: str, role: str) -> Membership:
    _check_role(role)
    username = (username or "").strip()
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MembershipError(f"there is no user named {username!r}; platform staff create accounts")
    if Membership.objects.filter(shop=shop, user=user).exists():
        raise MembershipError(f"{username} is already a member of {shop.name}")
    return Membership.objects.create(shop=shop, user=user, role=role)


def _keeps_an_admin(shop: Shop, without: Membership) -> bool:
    return Membership.objects.filter(shop=shop, role=Role.ADMIN).exclude(pk=without.pk).exists()


@transaction.atomic
def change_role(shop: Shop, membership_id: int, role: str) -> Membership:
    _check_role(role)
    # Lock the shop's memberships so two admins demoting each other cannot leave none.
    memberships = list(Membership.objects.select_for_update().filter(shop=shop))
    m = next((x for x in memberships if x.pk == membership_id), None)
    if m is None:
        raise MembershipError("that membership is not in this shop")
    if m.role == Role.ADMIN and role != Role.ADMIN and not _keeps_an_admin(shop, m):
        raise MembershipError(f"{m.user} is the shop's last admin: make someone else admin first")
    m.role = role
    m.save(update_fields=["role"])
    return m


@transaction.atomic
def remove_member(shop: Shop, membership_id: int) -> Membership:
    memberships = list(Membership.objects.select_for_update().filter(shop=shop))
    m = next((x for x in memberships if x.pk == membership_id), None)
    if m is None:
        raise MembershipError("that membership is not in this shop")
    if m.role == Role.ADMIN and not _keeps_an_admin(shop, m):
        raise MembershipError(f"{m.user} is the shop's last admin: make someone else admin first")
    m.delete()
    return m


# --------------------------------------------------------------------------- API tokens
def create_api_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``: (the stored row, the token itself, shown to the user once)."""
    name = (name or "").strip()
    if not name:
        raise MembershipError("give the token a name that says what will use it")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise MembershipError("the name is too long (at most 100 characters)")
    limit = settings.SHOPFOCUS_API_TOKENS_PER_USER
    if ApiToken.objects.filter(user=user).count() >= limit:
        raise MembershipError(f"you already have {limit} tokens: revoke one you no longer use first")
    return ApiToken.objects.create(user=user, name=name)


def revoke_api_token(user, digest: str) -> ApiToken:
    token = ApiToken.objects.filter(user=user, digest=digest or "").first()
    if token is None:
        raise MembershipError("no such token of yours (already revoked?)")
    token.delete()
    return token
