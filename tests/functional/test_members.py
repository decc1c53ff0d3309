"""A shop's admins manage its members on the members page; nobody else does."""

import pytest
from django.urls import reverse

from webapp.accounts.models import Membership, Role


def members_url(shop):
    return reverse("accounts:members", args=[shop.slug])


@pytest.mark.parametrize("persona", ["shop_admin", "staff"])
def test_the_shops_admin_and_staff_see_the_members(persona, personas):
    response = personas.client(getattr(personas, persona)).get(members_url(personas.shop))
    assert response.status_code == 200
    assert b"reviewer" in response.content and b"other_seller" not in response.content


@pytest.mark.parametrize("persona,status", [("seller", 403), ("reviewer", 403), ("other_admin", 404),
                                            ("other_seller", 404)])
def test_members_and_outsiders_who_are_not_its_admins_cannot_manage_the_shop(persona, status, personas):
    client = personas.client(getattr(personas, persona))
    assert client.get(members_url(personas.shop)).status_code == status
    response = client.post(members_url(personas.shop), {"op": "add", "username": persona, "role": "admin"})
    assert response.status_code == status
    assert not Membership.objects.filter(shop=personas.shop, role=Role.ADMIN).exclude(user=personas.shop_admin).exists()


def test_a_shop_admin_adds_a_user_changes_the_role_and_removes_the_member(personas):
    client = personas.client(personas.shop_admin)
    url = members_url(personas.shop)
    assert client.post(url, {"op": "add", "username": "other_seller", "role": "reviewer"}).status_code == 302
    m = Membership.objects.get(shop=personas.shop, user=personas.other_seller)
    assert m.role == "reviewer"
    assert client.post(url, {"op": "role", "membership": m.pk, "role": "seller"}).status_code == 302
    assert Membership.objects.get(pk=m.pk).role == "seller"
    assert client.post(url, {"op": "remove", "membership": m.pk}).status_code == 302
    assert not Membership.objects.filter(pk=m.pk).exists()


def test_a_shop_admin_cannot_touch_another_shops_memberships(personas):
    theirs = Membership.objects.get(user=personas.other_seller)
    client = personas.client(personas.shop_admin)
    response = client.post(members_url(personas.shop), {"op": "role", "membership": theirs.pk, "role": "admin"})
    assert response.status_code == 400 and b"not in this shop" in response.content
    response = client.post(members_url(personas.shop), {"op": "remove", "membership": theirs.pk})
    assert response.status_code == 400
    assert Membership.objects.get(pk=theirs.pk).role == "seller"


def test_the_last_admin_cannot_be_demoted_or_removed(personas):
    client = personas.client(personas.shop_admin)
    mine = Membership.objects.get(user=personas.shop_admin)
    response = client.post(members_url(personas.shop), {"op": "role", "membership": mine.pk, "role": "seller"})
    assert response.status_code == 400 and b"last admin" in response.content
    assert client.post(members_url(personas.shop), {"op": "remove", "membership": mine.pk}).status_code == 400
    assert Membership.objects.get(pk=mine.pk).role == "admin"


@pytest.mark.parametrize("data,message", [
    ({"op": "add", "username": "nobody", "role": "seller"}, b"no user named"),
    ({"op": "add", "username": "reviewer", "role": "seller"}, b"already a member"),
    ({"op": "add", "username": "other_seller", "role": "owner"}, b"role must be one of"),
    ({"op": "role", "membership": "abc", "role": "seller"}, b"not in this shop"),
    ({"op": "drop"}, b"unknown action"),
])
def test_a_bad_membership_change_says_what_is_wrong(data, message, personas):
    response = personas.client(personas.shop_admin).post(members_url(personas.shop), data)
    assert response.status_code == 400 and message in response.content
