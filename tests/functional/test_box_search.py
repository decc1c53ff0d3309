"""POST /api/videos/{id}/box-search/: the shop's nearest products to a box drawn on the video;
another shop's video is a 404, bad input a 400 naming the field, no index yet a 409."""

import pytest

from webapp.search import services


@pytest.fixture
def indexed(transactional_db, personas, video, settings):
    """The first shop's video, its 3-product catalog indexed (as the build task does)."""
    from webapp.search.models import IndexBuild

    row = IndexBuild.objects.create(shop=personas.shop)
    assert services.build(row.pk).published
    return video


def search(client, video, body):
    return client.post(f"/api/videos/{video.pk}/box-search/", body, content_type="application/json")


def test_a_box_around_the_juice_finds_it_first_with_scores(personas, indexed):
    r = search(personas.client(personas.reviewer), indexed, {"t": 2.5, "box": [0.05, 0.05, 0.95, 0.95]})
    assert r.status_code == 200, r.content
    d = r.json()
    assert [p["product_id"] for p in d["results"]][0] == "JUI"
    assert len(d["results"]) == 3 and d["index"]["kind"] == "flat" and d["index"]["n_products"] == 3
    scores = [p["score"] for p in d["results"]]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    assert {"id", "title", "thumbnail", "category"} <= set(d["results"][0])


def test_k_limits_the_answer(personas, indexed):
    r = search(personas.client(personas.seller), indexed, {"t": 0.5, "box": [0, 0, 1, 1], "k": 1})
    assert r.status_code == 200 and len(r.json()["results"]) == 1


def test_another_shops_video_is_not_found(personas, indexed):
    r = search(personas.client(personas.other_admin), indexed, {"t": 0.5, "box": [0, 0, 1, 1]})
    assert r.status_code == 404


def test_anonymous_is_refused(client, indexed):
    assert search(client, indexed, {"t": 0.5, "box": [0, 0, 1, 1]}).status_code in (401, 403)


@pytest.mark.parametrize("body, field, words", [
    ({"box": [0, 0, 1, 1]}, "t", "required"),
    ({"t": -1, "box": [0, 0, 1, 1]}, "t", "greater than or equal"),
    ({"t": 99, "box": [0, 0, 1, 1]}, "t", "past its end"),
    ({"t": "soon", "box": [0, 0, 1, 1]}, "t", "number"),
    ({"t": 1, "box": [0, 0, 1]}, "box", "at least 4"),
    ({"t": 1, "box": [0, 0, 1, 1, 1]}, "box", "no more than 4"),
    ({"t": 1, "box": [0.5, 0, 0.2, 1]}, "box", "x0 < x1"),
    ({"t": 1, "box": [0, 0, 1.5, 1]}, "box", "less than or equal to 1"),
    ({"t": 1, "box": "all"}, "box", "list"),
    ({"t": 1, "box": [0, 0, 1, 1], "k": 0}, "k", "greater than or equal"),
    ({"t": 1, "box": [0, 0, 1, 1], "k": 500}, "k", "less than or equal"),
])
def test_bad_input_is_a_400_naming_the_field(personas, indexed, body, field, words):
    r = search(personas.client(personas.reviewer), indexed, body)
    assert r.status_code == 400, r.content
    assert words in str(r.json()[field])


def test_a_box_too_small_to_see_is_a_400_that_says_so(personas, indexed):
    r = search(personas.client(personas.reviewer), indexed, {"t": 1, "box": [0.5, 0.5, 0.51, 0.51]})
    assert r.status_code == 400 and "at least 8x8 pixels" in r.json()["detail"]


def test_without_an_index_it_is_a_409_and_a_build_is_on_its_way(personas, video, transactional_db):
    from webapp.search.models import IndexBuild

    r = search(personas.client(personas.reviewer), video, {"t": 1, "box": [0, 0, 1, 1]})
    assert r.status_code == 409
    assert "being built" in r.json()["detail"] and r.json()["index"]["building"]
    assert IndexBuild.objects.filter(shop=personas.shop, status="queued").count() == 1


def test_the_endpoint_is_in_the_schema_with_its_answers(client, db):
    import yaml

    op = yaml.safe_load(client.get("/api/schema/").content)["paths"]["/api/videos/{id}/box-search/"]["post"]
    assert {"200", "400", "404", "409"} <= set(op["responses"])
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BoxSearch")
