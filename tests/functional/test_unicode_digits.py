"""Numbers typed or sent as Unicode digits that are not 0-9 ('²', '٣'): Python's str.isdigit()
takes them and int() refuses some ('²'), which made four endpoints answer 500. Each is a 4xx
with its usual message now (issue 11's "no 500 on bad input")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.functional.test_resumable_uploads import TUS, create

DIGITS = ["²", "٣", "¹²"]


@pytest.mark.parametrize("value", DIGITS)
def test_a_live_session_for_a_product_id_in_unicode_digits_says_to_choose_a_product(personas, catalog, value,
                                                                                   settings, tmp_path):
    settings.SHOPFOCUS_LIVE_DIR = tmp_path / "live"
    r = personas.client(personas.seller).post(reverse("live:new", args=[personas.shop.slug]),
                                              {"products": [value], "source": "push"})
    assert r.status_code == 400 and "choose at least one product" in r.content.decode()


@pytest.mark.parametrize("value", DIGITS)
def test_an_upload_offset_in_unicode_digits_is_a_400_naming_the_header(personas, value):
    c = personas.client(personas.seller)
    url = create(c, personas.shop, length=1000)["Location"]
    r = c.patch(url, b"x", content_type="application/offset+octet-stream", headers={**TUS, "Upload-Offset": value})
    assert r.status_code == 400 and "Upload-Offset header must be a whole number" in r.content.decode()


@pytest.mark.parametrize("value", DIGITS)
def test_revoking_a_viewer_link_by_an_id_in_unicode_digits_revokes_nothing(personas, video, value):
    from webapp.embeds.models import ViewerKey
    from webapp.embeds.services import current_key

    key = current_key(video, personas.seller)
    r = personas.client(personas.seller).post(reverse("embeds:revoke_key", args=[video.pk]), {"key": value})
    assert r.status_code == 302
    assert ViewerKey.objects.get(pk=key.pk).revoked_at is None


@pytest.mark.parametrize("value", DIGITS)
def test_removing_an_embed_site_by_an_id_in_unicode_digits_says_it_is_not_listed(personas, value):
    from webapp.embeds.services import add_site

    add_site(personas.shop, "https://shop.example.com")
    r = personas.client(personas.shop_admin).post(reverse("embeds:sites", args=[personas.shop.slug]),
                                                  {"op": "remove", "site": value})
    assert r.status_code == 400 and "not in this shop" in r.content.decode()
    assert personas.shop.embed_sites.count() == 1
