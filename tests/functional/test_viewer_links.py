"""Viewer links (keys) expire and can be revoked; only the shop's allowed sites may frame the
viewer, and no other page can be framed at all."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse


def viewer_link(personas, video, persona="seller"):
    html = personas.client(getattr(personas, persona)).get(reverse("review:focus", args=[video.pk])).content.decode()
    return re.search(r'href="([^"]*/viewer/\?key=[^"]+)"', html).group(1)


def csp(response) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in response["Content-Security-Policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_the_focus_page_shows_one_link_that_works_for_anyone_until_it_expires(personas, processed, settings):
    from webapp.embeds.models import ViewerKey

    link = viewer_link(personas, processed)
    assert viewer_link(personas, processed) == link  # the same link on every visit
    assert Client().get(link).status_code == 200
    key = ViewerKey.objects.get()
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=settings.SHOPFOCUS_VIEWER_KEY_DAYS)
    assert abs((key.expires_at - expected).total_seconds()) < 60
    ViewerKey.objects.update(expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1))
    assert Client().get(link).status_code == 404
    assert viewer_link(personas, processed) != link  # the focus page makes a fresh one


def test_a_revoked_link_stops_the_page_and_its_media(personas, processed):
    from webapp.embeds.models import ViewerKey

    link = viewer_link(personas, processed)
    key = ViewerKey.objects.get()
    media = reverse("review:viewer_media", args=[processed.pk, "video", 0]) + f"?key={key.key}"
    assert Client().get(media).status_code == 200
    response = personas.client(personas.seller).post(reverse("embeds:revoke_key", args=[processed.pk]),
                                                     {"key": key.pk})
    assert response.status_code == 302
    assert Client().get(link).status_code == 404 and Client().get(media).status_code == 404
    assert viewer_link(personas, processed) != link


@pytest.mark.parametrize("persona,status", [("reviewer", 403), ("other_seller", 404), ("other_admin", 404)])
def test_only_the_shops_sellers_and_admins_revoke_links(persona, status, personas, processed):
    from webapp.embeds.models import ViewerKey

    link = viewer_link(personas, processed)
    response = personas.client(getattr(personas, persona)).post(
        reverse("embeds:revoke_key", args=[processed.pk]), {"key": ViewerKey.objects.get().pk})
    assert response.status_code == status and Client().get(link).status_code == 200


def test_a_reviewer_sees_no_link_to_share(personas, processed):
    from webapp.embeds.models import ViewerKey

    html = personas.client(personas.reviewer).get(reverse("review:focus", args=[processed.pk])).content.decode()
    assert "?key=" not in html and not ViewerKey.objects.exists()


def test_the_viewer_may_be_framed_by_this_site_the_shops_sites_and_the_platform_list(personas, processed, settings):
    settings.SHOPFOCUS_VIEWER_FRAME_ANCESTORS = ["https://partner.example.net"]
    admin = personas.client(personas.shop_admin)
    url = reverse("embeds:sites", args=[personas.shop.slug])
    assert admin.post(url, {"op": "add", "origin": " HTTPS://Shop.Example.com/ "}).status_code == 302
    assert admin.post(url, {"op": "add", "origin": "https://*.corner-grocery.example"}).status_code == 302
    from webapp.embeds.services import add_site

    add_site(personas.other_shop, "https://other-market.example")

    response = Client().get(viewer_link(personas, processed))
    assert response.status_code == 200 and "X-Frame-Options" not in response
    assert csp(response)["frame-ancestors"] == ["'self'", "https://partner.example.net",
                                                "https://*.corner-grocery.example", "https://shop.example.com"]


@pytest.mark.parametrize("origin", ["*", "https://evil.example; script-src *", "javascript:alert(1)",
                                    "https://a.example/path", "'unsafe-inline'", "shop.example.com", "https://",
                                    "https://a b.example", "data:", "https://x.example:123456"])
def test_an_embed_site_must_be_a_plain_origin(origin, personas):
    response = personas.client(personas.shop_admin).post(reverse("embeds:sites", args=[personas.shop.slug]),
                                                         {"op": "add", "origin": origin})
    assert response.status_code == 400 and "is not a site origin" in response.content.decode()
    assert not personas.shop.embed_sites.exists()


@pytest.mark.parametrize("persona,status", [("seller", 403), ("reviewer", 403), ("other_admin", 404)])
def test_only_the_shops_admins_choose_embed_sites(persona, status, personas):
    response = personas.client(getattr(personas, persona)).post(
        reverse("embeds:sites", args=[personas.shop.slug]), {"op": "add", "origin": "https://evil.example"})
    assert response.status_code == status and not personas.shop.embed_sites.exists()


def test_a_shop_admin_removes_a_site(personas):
    from webapp.embeds.services import add_site

    site = add_site(personas.shop, "https://old.example")
    client = personas.client(personas.shop_admin)
    url = reverse("embeds:sites", args=[personas.shop.slug])
    assert client.post(url, {"op": "remove", "site": site.pk}).status_code == 302
    assert not personas.shop.embed_sites.exists()
    assert client.post(url, {"op": "remove", "site": "x"}).status_code == 400
