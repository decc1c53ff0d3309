"""Every API list is paginated (limit/offset, default 100, at most 1000), documented in the
schema, and a limit or offset that is not a whole number is a 400 naming it."""

import pytest
import yaml

from webapp.catalog.models import Product

LISTS = ["/api/shops/", "/api/products/", "/api/videos/", "/api/jobs/", "/api/intervals/", "/api/corrections/"]


@pytest.fixture
def many_products(personas):
    Product.objects.bulk_create(Product(shop=personas.shop, product_id=f"p{i:04d}", title=f"Product {i}")
                                for i in range(250))
    return personas.shop


def test_a_list_comes_in_pages_of_100_with_links(personas, many_products):
    client = personas.client(personas.seller)
    first = client.get("/api/products/").json()
    assert first["count"] == 250 and len(first["results"]) == 100 and first["previous"] is None
    assert "offset=100" in first["next"]
    seen = [p["product_id"] for p in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [p["product_id"] for p in page["results"]]
        url = page["next"]
    assert seen == sorted(seen) and len(set(seen)) == 250  # every product once, in order


def test_a_videos_comments_come_in_pages(personas, video):
    from webapp.videos.models import Comment

    Comment.objects.bulk_create(Comment(video=video, time_s=i, user="u", text=f"c{i}") for i in range(120))
    page = personas.client(personas.seller).get(f"/api/videos/{video.pk}/comments/?limit=50&offset=100").json()
    assert page["count"] == 120 and [c["text"] for c in page["results"]] == [f"c{i}" for i in range(100, 120)]


def test_limit_is_capped_at_1000(personas, many_products):
    page = personas.client(personas.seller).get("/api/products/?limit=5000").json()
    assert len(page["results"]) == 250 and page["next"] is None


@pytest.mark.parametrize("query, name", [("limit=abc", "limit"), ("limit=0", "limit"), ("limit=-3", "limit"),
                                         ("offset=x", "offset"), ("offset=-1", "offset"), ("limit=1.5", "limit"),
                                         ("limit=%C2%B2", "limit")])
@pytest.mark.parametrize("path", LISTS)
def test_a_bad_limit_or_offset_is_a_400_naming_it(personas, path, query, name):
    r = personas.client(personas.seller).get(f"{path}?{query}")
    assert r.status_code == 400 and name in r.json(), r.content


def test_every_list_is_documented_as_paginated(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path in LISTS:
        op = schema["paths"][path]["get"]
        assert {"limit", "offset"} <= {p["name"] for p in op["parameters"]}, path
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "next", "previous", "results"} <= set(body["properties"]), path
